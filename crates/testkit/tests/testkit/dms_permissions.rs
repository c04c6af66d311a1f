//! The accounts of deploy/nats/nats.conf, enforced by a real nats-server: a DMS
//! credential reaches its own dealer's ingest subjects and nothing else.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

use aftercare_testkit::nats_server_binary;
use tempfile::TempDir;

const SERVICE_PASSWORD: &str = "service-secret";
const REPLIES_PASSWORD: &str = "replies-secret";
const DMS_PASSWORD: &str = "dms-secret";
const OEM_PASSWORD: &str = "oem-secret";

struct Server {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("nats.conf");
        let body = format!(
            "listen: 127.0.0.1:-1\nports_file_dir: {:?}\n{}",
            dir.path(),
            aftercare_testkit::deploy_nats_accounts()
        );
        assert!(
            body.contains("user: dms-D001"),
            "the DMS example was found:\n{body}"
        );
        std::fs::write(&config, body).expect("write config");
        let log = File::create(dir.path().join("log")).expect("create log");
        let child = Command::new(nats_server_binary())
            .arg("-c")
            .arg(&config)
            .env("AFTERCARE_NATS_PASSWORD", SERVICE_PASSWORD)
            .env("AFTERCARE_REPLIES_NATS_PASSWORD", REPLIES_PASSWORD)
            .env("NATS_SYS_PASSWORD", "sys-secret")
            .env("DMS_D001_NATS_PASSWORD", DMS_PASSWORD)
            .env("OEM_NATS_PASSWORD", OEM_PASSWORD)
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        let mut server = Server {
            child,
            port: 0,
            dir,
        };
        server.port = server.await_port();
        server
    }

    fn await_port(&mut self) -> u16 {
        let dir = self.dir.path().to_path_buf();
        let child = &mut self.child;
        let found = aftercare_testkit::wait_until(Duration::from_secs(10), || {
            let port = std::fs::read_dir(&dir)
                .expect("read temp dir")
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().ends_with(".ports"))
                .find_map(|entry| port_of(&std::fs::read_to_string(entry.path()).ok()?));
            // A server that exited will never write the file: stop waiting.
            port.map(Some)
                .or_else(|| child.try_wait().expect("query nats-server").map(|_| None))
        });
        match found.flatten() {
            Some(port) => port,
            None => {
                let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
                panic!("nats-server did not start:\n{log}");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_of(ports_json: &str) -> Option<u16> {
    let url = ports_json.split("nats://").nth(1)?;
    url[..url.find('"')?].rsplit(':').next()?.parse().ok()
}

/// A bare NATS protocol client: enough to see what the server allows.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(server: &Server, user: &str, password: &str) -> Client {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set read timeout");
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().expect("clone stream")),
            writer: stream,
        };
        let mut info = String::new();
        client.reader.read_line(&mut info).expect("read INFO");
        assert!(info.starts_with("INFO "), "greeting: {info}");
        client.send(&format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"user\":\"{user}\",\"pass\":\"{password}\",\"protocol\":1}}\r\n"
        ));
        client
    }

    fn send(&mut self, protocol: &str) {
        self.writer.write_all(protocol.as_bytes()).expect("write");
    }

    /// Sends PING; returns what the server sent before its PONG, but PINGs and INFOs.
    fn round_trip(&mut self) -> Vec<String> {
        self.send("PING\r\n");
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).expect("read");
            let line = line.trim_end().to_owned();
            match line.as_str() {
                _ if read == 0 => panic!("connection closed after {lines:?}"),
                "PONG" => return lines,
                "PING" => self.send("PONG\r\n"),
                // The server may update its INFO at any time (e.g. after CONNECT).
                _ if line.starts_with("INFO ") => {}
                _ => lines.push(line),
            }
        }
    }
}

fn violation(lines: &[String], kind: &str, subject: &str) -> bool {
    let expected = format!("Permissions Violation for {kind} to \"{subject}\"");
    lines
        .iter()
        .any(|line| line.starts_with("-ERR") && line.contains(&expected))
}

#[test]
fn a_dms_credential_reaches_only_its_own_dealers_ingest_subjects() {
    let server = Server::start();
    let mut aftercare = Client::connect(&server, "aftercare", SERVICE_PASSWORD);
    aftercare.send("SUB aftercare.in.> 1\r\n");
    assert_eq!(aftercare.round_trip(), Vec::<String>::new());

    let mut dms = Client::connect(&server, "dms-D001", DMS_PASSWORD);
    assert_eq!(
        dms.round_trip(),
        Vec::<String>::new(),
        "dms-D001 may connect"
    );

    dms.send("PUB aftercare.in.D002.visit 6\r\nforged\r\n");
    let refused = dms.round_trip();
    assert!(
        violation(&refused, "Publish", "aftercare.in.D002.visit"),
        "{refused:?}"
    );

    dms.send("PUB aftercare.ev.D001.customer.c1 6\r\nforged\r\n");
    let refused = dms.round_trip();
    assert!(
        violation(&refused, "Publish", "aftercare.ev.D001.customer.c1"),
        "{refused:?}"
    );

    for subject in [
        "_INBOX.>",
        "_INBOX.D002.reply",
        "aftercare.in.>",
        "$JS.API.>",
    ] {
        dms.send(&format!("SUB {subject} 9\r\n"));
        let refused = dms.round_trip();
        assert!(
            violation(&refused, "Subscription", subject),
            "{subject}: {refused:?}"
        );
    }

    dms.send("SUB _INBOX.D001.reply 2\r\nPUB aftercare.in.D001.visit 2\r\nok\r\n");
    assert_eq!(
        dms.round_trip(),
        Vec::<String>::new(),
        "its own subjects are allowed"
    );

    // Only the allowed publish ever reached the service.
    assert_eq!(
        aftercare.round_trip(),
        ["MSG aftercare.in.D001.visit 1 2", "ok"],
        "what the aftercare service received"
    );
}

#[test]
fn a_wrong_password_is_refused() {
    let server = Server::start();
    let mut client = Client::connect(&server, "dms-D001", "guessed");
    let mut line = String::new();
    client.send("PING\r\n");
    client.reader.read_line(&mut line).expect("read");
    assert!(line.contains("Authorization Violation"), "{line}");
}

#[test]
fn the_oem_credential_reads_its_dealers_outbound_subjects_and_publishes_nothing() {
    let server = Server::start();
    let mut oem = Client::connect(&server, "oem", OEM_PASSWORD);
    oem.send("SUB aftercare.out.D001.> 1\r\n");
    assert_eq!(
        oem.round_trip(),
        Vec::<String>::new(),
        "its dealers' feedback"
    );
    for subject in ["aftercare.out.D009.>", "aftercare.ev.>", "aftercare.>"] {
        oem.send(&format!("SUB {subject} 2\r\n"));
        let refused = oem.round_trip();
        assert!(
            violation(&refused, "Subscription", subject),
            "{subject}: {refused:?}"
        );
    }
    oem.send("PUB aftercare.in.D001.visits 6\r\nforged\r\n");
    let refused = oem.round_trip();
    assert!(
        violation(&refused, "Publish", "aftercare.in.D001.visits"),
        "{refused:?}"
    );

    // What aftercare publishes for D001 reaches it.
    let mut aftercare = Client::connect(&server, "aftercare", SERVICE_PASSWORD);
    aftercare.send("PUB aftercare.out.D001.warnings 4\r\nwarn\r\n");
    assert_eq!(aftercare.round_trip(), Vec::<String>::new());
    let delivered = oem.round_trip();
    assert!(
        delivered
            .iter()
            .any(|l| l.starts_with("MSG aftercare.out.D001.warnings 1")),
        "{delivered:?}"
    );
}

#[test]
fn the_reply_credential_publishes_to_inboxes_and_nowhere_else() {
    let server = Server::start();
    let mut aftercare = Client::connect(&server, "aftercare", SERVICE_PASSWORD);
    aftercare.send("SUB aftercare.> 1\r\n");
    assert_eq!(aftercare.round_trip(), Vec::<String>::new());
    let mut dms = Client::connect(&server, "dms-D001", DMS_PASSWORD);
    dms.send("SUB _INBOX.D001.> 1\r\n");
    assert_eq!(dms.round_trip(), Vec::<String>::new());

    let mut replies = Client::connect(&server, "aftercare-replies", REPLIES_PASSWORD);
    for subject in [
        "aftercare.ev.D002.visit.0195d1c4-aaaa-5bbb-8ccc-000000000001",
        "aftercare.out.D002.complaint-feedback",
        "aftercare.dlq.D002.visits",
        "aftercare.in.D002.visits",
        "$JS.API.STREAM.DELETE.AFTERCARE_EVENTS",
    ] {
        replies.send(&format!("PUB {subject} 6\r\nforged\r\n"));
        let refused = replies.round_trip();
        assert!(
            violation(&refused, "Publish", subject),
            "{subject}: {refused:?}"
        );
    }
    replies.send("SUB aftercare.> 2\r\n");
    let refused = replies.round_trip();
    assert!(
        violation(&refused, "Subscription", "aftercare.>"),
        "{refused:?}"
    );
    replies.send("PUB _INBOX.D001.abc.1 5\r\nreply\r\n");
    assert_eq!(
        replies.round_trip(),
        Vec::<String>::new(),
        "an inbox is allowed"
    );
    assert_eq!(
        dms.round_trip(),
        ["MSG _INBOX.D001.abc.1 1 5", "reply"],
        "the DMS got its reply"
    );
    // Nothing reached any aftercare subject; and the service user itself may
    // not publish to an inbox.
    assert_eq!(aftercare.round_trip(), Vec::<String>::new());
    aftercare.send("PUB _INBOX.D001.abc.2 5\r\nreply\r\n");
    let refused = aftercare.round_trip();
    assert!(
        violation(&refused, "Publish", "_INBOX.D001.abc.2"),
        "{refused:?}"
    );
}
