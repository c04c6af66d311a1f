//! Starts the real binary and owns it: killed on drop, its output kept for
//! failure messages.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

pub const BINARY: &str = env!("CARGO_BIN_EXE_aftercare");

pub struct Server {
    child: Child,
    pub addr: String,
    output: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `aftercare serve --listen 127.0.0.1:0` in `dir`, with `args` before `serve`.
    pub fn start(dir: &Path, global_args: &[&str], env: &[(&str, String)]) -> Server {
        Server::start_services(dir, global_args, &[], env)
    }

    /// [`Server::start`] running only `services` (all when empty).
    pub fn start_services(
        dir: &Path,
        global_args: &[&str],
        services: &[&str],
        env: &[(&str, String)],
    ) -> Server {
        let serve_args: Vec<&str> = services.iter().flat_map(|s| ["--service", s]).collect();
        Server::start_serving(dir, global_args, &serve_args, env)
    }

    /// `aftercare <global_args> serve <serve_args>`, on free ports.
    pub fn start_serving(
        dir: &Path,
        global_args: &[&str],
        serve_args: &[&str],
        env: &[(&str, String)],
    ) -> Server {
        let mut command = Command::new(BINARY);
        command
            .current_dir(dir)
            .args(global_args)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--web-listen",
                "127.0.0.1:0",
            ])
            .args(serve_args)
            .env_remove("AFTERCARE_TOKEN")
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn aftercare");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = output.clone();
        std::thread::spawn(move || {
            // The start-up notice is two lines: where it listens, then how to
            // authenticate. The server counts as started once both are out.
            let mut listening = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("aftercare listening on ") {
                    listening = Some(
                        addr.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                let auth_line = line.starts_with("authenticate with")
                    || line.ends_with("configured tokens accepted");
                lines.lock().expect("output lock").push(line);
                if auth_line && let Some(addr) = listening.take() {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "aftercare did not start:\n{}",
                    output.lock().expect("output lock").join("\n")
                );
            }
        };
        Server {
            child,
            addr,
            output,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn output(&self) -> String {
        self.output.lock().expect("output lock").join("\n")
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .expect("url")
            .connect()
            .await
            .expect("connect to aftercare")
    }

    /// Sends SIGTERM, as Kubernetes does, and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let child = &mut self.child;
        let status = aftercare_testkit::wait_until(Duration::from_secs(30), || {
            child.try_wait().expect("wait")
        });
        status.unwrap_or_else(|| panic!("aftercare ignored SIGTERM:\n{}", self.output()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds `authorization: Bearer <token>` to a request.
pub fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token"),
    );
    request
}

/// Runs the CLI to completion, returning (success, stdout, stderr).
pub fn cli(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (bool, String, String) {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .args(args)
        .env_remove("AFTERCARE_TOKEN")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run aftercare");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `aftercare serve` on a nats-server and a PostgreSQL database of its own, in a
/// temporary directory, with `extra` TOML (tokens, groups, dealer rules) added
/// to the configuration. The server is declared first, so it stops first.
pub struct JetStreamStack {
    pub server: Server,
    pub nats: aftercare_testkit::NatsServer,
    _database: aftercare_testkit::TestDatabase,
    _dir: tempfile::TempDir,
}

pub async fn jetstream_stack(extra: &str) -> JetStreamStack {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("aftercare.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nbackend = \"jetstream\"\nurl = \"{}\"\n\
             [database]\nurl = \"{}\"\n{extra}",
            nats.url(),
            database.url
        ),
    )
    .expect("config");
    let server = Server::start(
        dir.path(),
        &["--config", config.to_str().expect("utf-8")],
        &[],
    );
    JetStreamStack {
        server,
        nats,
        _database: database,
        _dir: dir,
    }
}

/// A request's dealer field.
pub fn dealer(id: &str) -> Option<aftercare_proto::common::v1::DealerId> {
    Some(aftercare_proto::common::v1::DealerId { value: id.into() })
}

/// A `[[auth.tokens]]` entry.
pub fn token(name: &str, token: &str, role: &str, scope: &str) -> String {
    format!(
        "[[auth.tokens]]\nname = \"{name}\"\ntoken = \"{token}\"\nroles = [\"{role}\"]\nscope = \"{scope}\"\n"
    )
}

/// A valid VIN (check digit in the 9th place) for a series and a serial number.
pub fn vin(series: u32, serial: u32) -> String {
    let draft = format!("LSVAG2180E{series:02}{serial:05}");
    let digit = aftercare_intake::domain::vin::check_digit(&draft).expect("computable");
    let mut vin = draft.into_bytes();
    vin[8] = digit as u8;
    String::from_utf8(vin).expect("ascii")
}

/// Sends one JSON record to `aftercare.in.<dealer>.<kind>` as a DMS does, and
/// returns the position of the accepted record. The answer comes only to the
/// dealer's own inbox prefix, `_INBOX.<dealer>.`, so the request names a reply
/// subject there, as a DMS connected with that custom inbox prefix would.
pub async fn dms_send(
    client: &async_nats::Client,
    dealer: &str,
    kind: &str,
    body: &serde_json::Value,
) -> u64 {
    use futures::StreamExt;
    let inbox = format!("_INBOX.{dealer}.{}", uuid_like());
    let mut replies = client.subscribe(inbox.clone()).await.expect("subscribe");
    // As a DMS does: a request unanswered in 5 s is sent again (the same
    // repair order, so a first attempt that was stored is "already recorded").
    let mut attempt = 0;
    let reply = loop {
        attempt += 1;
        client
            .publish_with_reply(
                format!("aftercare.in.{dealer}.{kind}"),
                inbox.clone(),
                body.to_string().into(),
            )
            .await
            .expect("publish");
        match tokio::time::timeout(Duration::from_secs(5), replies.next()).await {
            Ok(reply) => break reply.expect("a reply"),
            Err(_) => assert!(attempt < 12, "no reply to {attempt} attempts in a minute"),
        }
    };
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
    let stored = reply["status"] == "STATUS_ACCEPTED"
        || (attempt > 1 && reply["status"] == "STATUS_ALREADY_RECORDED");
    assert!(stored, "{reply}");
    int(&reply["position"]["value"]) as u64
}

/// A token unique to this process and call, for inbox subjects.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A 64-bit integer of `--output json`: the proto3 JSON mapping writes them as
/// strings.
pub fn int(value: &serde_json::Value) -> i64 {
    match value {
        serde_json::Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}")),
        other => other
            .as_i64()
            .unwrap_or_else(|| panic!("not a whole number: {other}")),
    }
}

/// Runs a CLI command against `url` with `--output json`: its JSON on success,
/// its stderr otherwise.
pub fn cli_json(dir: &Path, url: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--server", url, "--output", "json"]);
    let (ok, stdout, stderr) = cli(dir, &all, &[]);
    if ok {
        Ok(serde_json::from_str(&stdout).expect("json output"))
    } else {
        Err(stderr)
    }
}

/// Runs a CLI command whose arguments already name the server and the output;
/// its JSON, or a panic with its stderr.
pub fn cli_json_args(dir: &Path, args: &[&str]) -> serde_json::Value {
    let (ok, stdout, stderr) = cli(dir, args, &[]);
    assert!(ok, "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `aftercare serve` on the embedded default in `dir` with `tokens` (each a
/// `[[auth.tokens]]` entry, see [`token`]) as its configuration: the server and
/// its web console's `host:port`.
pub fn console_server(dir: &Path, tokens: &[String]) -> (Server, String) {
    let config = dir.join("aftercare.toml");
    std::fs::write(&config, tokens.concat()).expect("config");
    let server = Server::start(dir, &["--config", config.to_str().expect("utf-8")], &[]);
    let web = web_address(&server);
    (server, web)
}

/// The `host:port` of a server's web console, as it printed it.
pub fn web_address(server: &Server) -> String {
    let output = server.output();
    output
        .lines()
        .find_map(|l| l.strip_prefix("web console on http://"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no web console address in:\n{output}"))
        .to_owned()
}

/// An OEM lead for dealer D001, captured by `admin`: a first call due within
/// 30 minutes on the worklist. Its log position, for reads that must see it.
pub async fn oem_lead(
    server: &Server,
    admin: &str,
    name: &str,
    phone: &str,
    reference: &str,
) -> u64 {
    use aftercare_proto::intake::v1 as intake;
    let mut intake_api =
        intake::intake_service_client::IntakeServiceClient::new(server.channel().await);
    intake_api
        .capture_lead(authorized(
            intake::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: intake::LeadSource::Oem as i32,
                name: name.into(),
                phone: phone.into(),
                model_of_interest: "科鲁兹".into(),
                oem_reference: reference.into(),
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("lead")
        .into_inner()
        .position
        .expect("the lead's position")
        .value
}
