//! Starts a nats-server and the PostgreSQL cluster and exits without dropping
//! them, as a test binary with servers in statics does; writes where they are to
//! the file named by its argument. The testkit's own tests check that the
//! watchdogs clean both up after it.
#![forbid(unsafe_code)]

use aftercare_testkit::{NatsServer, postgres};

fn main() {
    let report = std::env::args_os()
        .nth(1)
        .expect("usage: aftercare-testkit-leak <report file>");
    let nats = NatsServer::start();
    let cluster = postgres();
    let facts = format!(
        "{}\n{}\n{}\n",
        nats.pid().expect("the server runs"),
        nats.store_dir().parent().expect("temp dir").display(),
        cluster.port()
    );
    std::fs::write(report, facts).expect("write the leak report");
    std::mem::forget(nats);
}
