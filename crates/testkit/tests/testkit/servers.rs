//! The test servers themselves, run for real.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aftercare_testkit::{NatsServer, SyncMode, init_tracing, postgres};

fn accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// The server's pid, from the ports file nats-server writes beside the store dir.
fn nats_pid(server: &NatsServer) -> u32 {
    let dir = server.store_dir();
    let dir = dir.parent().expect("store dir has a parent");
    let mut pids: Vec<u32> = std::fs::read_dir(dir)
        .expect("read the server's temp dir")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".ports")?
                .rsplit('_')
                .next()?
                .parse()
                .ok()
        })
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert_eq!(pids.len(), 1, "exactly one live server per guard");
    pids.pop().expect("one pid")
}

#[test]
fn nats_server_stops_and_restarts_on_its_port_with_its_store() {
    init_tracing();
    let mut server = NatsServer::start();
    let port = server.port();
    assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
    assert!(server.is_running());
    assert!(accepts(port));
    assert!(
        server.store_dir().is_dir(),
        "JetStream created its store dir"
    );

    let marker: PathBuf = server.store_dir().join("survives-restart");
    std::fs::write(&marker, b"kept").expect("write a file into the store dir");

    server.stop();
    assert!(!server.is_running());
    assert!(!accepts(port), "a stopped server refuses connections");
    server.stop(); // idempotent

    server.restart();
    assert!(server.is_running());
    assert_eq!(server.port(), port);
    assert!(accepts(port));
    assert_eq!(std::fs::read(&marker).expect("marker survives"), b"kept");

    // Restarting a running server works too.
    server.restart();
    assert!(accepts(port));
}

#[test]
fn nats_servers_get_ports_of_their_own() {
    let first = NatsServer::start();
    let second = NatsServer::start_with(SyncMode::ServerDefault);
    assert_ne!(first.port(), second.port());
    assert_ne!(first.store_dir(), second.store_dir());
    assert!(accepts(first.port()) && accepts(second.port()));
}

#[test]
fn dropping_a_nats_server_kills_it_and_removes_its_dir() {
    let server = NatsServer::start();
    let pid = nats_pid(&server);
    let dir = server.store_dir();
    let port = server.port();
    drop(server);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "nats-server {pid} still exists after drop"
    );
    assert!(!dir.exists(), "temp dir removed on drop");
    assert!(!accepts(port));
}

#[test]
fn postgres_gives_each_test_a_database_of_its_own() {
    init_tracing();
    let cluster = postgres();
    assert!(
        std::ptr::eq(cluster, postgres()),
        "one cluster per test binary"
    );
    let first = cluster.create_database();
    let second = cluster.create_database();
    assert_ne!(first.name, second.name);
    for database in [&first, &second] {
        assert_eq!(
            database.url,
            format!(
                "postgres://postgres@127.0.0.1:{}/{}",
                cluster.port(),
                database.name
            )
        );
        let psql = psql_binary();
        let output = Command::new(&psql)
            .args(["-h", "127.0.0.1", "-p", &cluster.port().to_string()])
            .args(["-U", "postgres", "-d", &database.name])
            .args(["-tA", "-c", "select 1"])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql on {}: {}",
            database.name,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");
    }
}

/// The psql of the same installation the cluster runs from.
fn psql_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return PathBuf::from(bin).join("psql");
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL installed")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let psql = entry.path().join("bin").join("psql");
            psql.is_file().then_some((version, psql))
        })
        .collect();
    candidates.sort();
    candidates.pop().expect("a psql binary").1
}

#[test]
fn servers_never_dropped_are_cleaned_up_after_the_process_exits() {
    let report_dir = tempfile::tempdir().expect("temp dir");
    let report = report_dir.path().join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_aftercare-testkit-leak"))
        .arg(&report)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the leaking child");
    assert!(status.success(), "leaking child failed: {status}");
    let report = std::fs::read_to_string(&report).expect("the child reported");
    let mut facts = report.lines();
    let (nats_pid, nats_dir, pg_port) = (
        facts.next().expect("nats pid"),
        PathBuf::from(facts.next().expect("nats dir")),
        facts
            .next()
            .expect("pg port")
            .parse()
            .expect("a port number"),
    );
    let gone = || {
        !Path::new(&format!("/proc/{nats_pid}")).exists() && !nats_dir.exists() && !accepts(pg_port)
    };
    assert!(
        aftercare_testkit::wait_until(Duration::from_secs(30), || gone().then_some(())).is_some(),
        "still there after 30 s: nats-server {nats_pid} in {} or postgres on port {pg_port}",
        nats_dir.display()
    );
}
