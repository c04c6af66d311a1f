//! One throwaway PostgreSQL cluster per test binary, a fresh database per test.
//!
//! The cluster lives in a static, and statics are never dropped: the watchdog
//! (see `watchdog.rs`) stops the cluster and removes its directory once the test
//! process is gone.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::watchdog::{STOP_POSTGRES, clean_up_after_exit};
use crate::{GaveUp, log_tail, poll_until};

mod tools;

use tools::Tools;

/// How long a fresh cluster may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A free port can be taken by someone else between our probe and postgres's bind.
const START_ATTEMPTS: usize = 3;

/// A running PostgreSQL cluster with trust authentication for user `postgres`.
pub struct PostgresCluster {
    tools: Tools,
    port: u16,
    next_database: AtomicU64,
}

/// A database of its own for one test.
#[derive(Clone, Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

/// The cluster of this test binary, started on first use.
pub fn postgres() -> &'static PostgresCluster {
    static CLUSTER: OnceLock<PostgresCluster> = OnceLock::new();
    CLUSTER.get_or_init(PostgresCluster::start)
}

impl PostgresCluster {
    /// `postgres://postgres@127.0.0.1:PORT/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a database with a name no other test (or test binary) uses.
    pub fn create_database(&self) -> TestDatabase {
        let name = format!(
            "t_{}_{}_{:08x}",
            std::process::id(),
            self.next_database.fetch_add(1, Ordering::Relaxed),
            random_u32()
        );
        let output = self
            .tools
            .command("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .stdin(Stdio::null())
            .output()
            .expect("spawn createdb");
        assert!(
            output.status.success(),
            "createdb {name} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let url = self.url(&name);
        TestDatabase { name, url }
    }

    fn start() -> PostgresCluster {
        let tools = Tools::find();
        // /tmp rather than $TMPDIR: the postgres user must be able to reach the dir,
        // and a TMPDIR under root's home would not let it.
        let base = if tools.as_postgres {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("aftercare-pg-")
            .tempdir_in(&base)
            .expect("temp dir for the PostgreSQL cluster")
            .keep();
        // Started before anything can fail, so even a failed start is cleaned up.
        clean_up_after_exit(&dir, STOP_POSTGRES);
        let log = dir.join("postgres.log");
        File::create(&log).expect("create PostgreSQL log");
        std::fs::create_dir(dir.join("sock")).expect("create PostgreSQL socket dir");
        if tools.as_postgres {
            run_checked(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
                "chown the cluster dir to postgres",
                &log,
            );
        }
        run_checked(
            tools
                .command("initdb")
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
                .arg("--locale=C")
                .stdout(append(&log))
                .stderr(append(&log)),
            "initdb",
            &log,
        );
        let mut attempt = 1;
        loop {
            let port = free_port();
            match start_postgres(&tools, &dir, port) {
                Ok(()) => {
                    tracing::debug!(port, dir = %dir.display(), "postgres ready");
                    return PostgresCluster {
                        tools,
                        port,
                        next_database: AtomicU64::new(0),
                    };
                }
                Err(reason) if attempt < START_ATTEMPTS && port_was_taken(&log) => {
                    tracing::debug!(port, %reason, "postgres port taken, trying another");
                    attempt += 1;
                }
                Err(reason) => panic!(
                    "PostgreSQL did not start on port {port}: {reason}\n{}",
                    log_tail(&log)
                ),
            }
        }
    }
}

fn start_postgres(tools: &Tools, dir: &Path, port: u16) -> Result<(), String> {
    let log = dir.join("postgres.log");
    let mut server = tools
        .command("postgres")
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string()])
        .arg("-k")
        .arg(dir.join("sock"))
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off"])
        .args(["-c", "max_connections=200"])
        .args(["-c", "shared_buffers=128MB"])
        .stdin(Stdio::null())
        .stdout(append(&log))
        .stderr(append(&log))
        .spawn()
        .map_err(|error| format!("cannot spawn postgres: {error}"))?;
    let pg_isready = tools.bin.join("pg_isready");
    poll_until(READY_TIMEOUT, || {
        exited(&mut server)?;
        let accepting = Command::new(&pg_isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .status()
            .map_err(|error| GaveUp(format!("cannot run pg_isready: {error}")))?;
        Ok(accepting.success().then_some(()))
    })
}

fn exited(child: &mut Child) -> Result<(), GaveUp> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(GaveUp(format!("postgres exited with {status}"))),
        Err(error) => Err(GaveUp(format!("cannot query postgres: {error}"))),
    }
}

fn port_was_taken(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains("Address already in use"))
}

fn run_checked(command: &mut Command, what: &str, log: &Path) {
    let status = command
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("cannot {what}: {error}"));
    assert!(
        status.success(),
        "{what} failed ({status})\n{}",
        log_tail(log)
    );
}

fn append(log: &Path) -> File {
    OpenOptions::new()
        .append(true)
        .open(log)
        .expect("open PostgreSQL log for appending")
}

/// A port nobody listens on right now; postgres binds it a moment later.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

/// Enough randomness to keep database names apart across test binaries.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hasher.write_u128(nanos);
    // Truncation is the point: 32 random bits are plenty next to pid and counter.
    hasher.finish() as u32
}
