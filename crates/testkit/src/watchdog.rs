//! Cleanup that outlives the test process.
//!
//! A guard's `Drop` covers the common case, but not a server kept in a static
//! (statics are never dropped), a test binary killed by a timeout, or a panic
//! that aborts. For those, each server dir gets a detached shell that waits for
//! the test process to end and then stops what still runs from that dir.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Stops nats-server processes started from the dir ($2), found through the ports
/// files they wrote. The pid is killed only if its command line still names the
/// dir, so a pid reused by another process is left alone.
pub(crate) const STOP_NATS: &str = r#"
for ports in "$2"/*.ports; do
    pid=${ports##*_}
    pid=${pid%.ports}
    if grep -qF "$2" "/proc/$pid/cmdline" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
    fi
done
"#;

/// Shuts the cluster in the dir ($2) down fast (SIGINT), then hard if it lingers.
pub(crate) const STOP_POSTGRES: &str = r#"
pid=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null) || pid=
if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
fi
"#;

/// Once this process has exited, runs `stop` (a POSIX sh fragment that gets the
/// dir as `$2`) and removes `dir`.
pub(crate) fn clean_up_after_exit(dir: &Path, stop: &str) {
    let script =
        format!("while kill -0 \"$1\" 2>/dev/null; do sleep 1; done\n{stop}\nrm -rf \"$2\"\n");
    let mut watchdog = Command::new("sh");
    watchdog
        .args(["-c", &script, "aftercare-testkit-watchdog"])
        .arg(std::process::id().to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group, so a Ctrl-C aimed at the tests does not stop the cleanup.
    watchdog.process_group(0);
    // Deliberately not waited for: it must outlive this process to clean up after it.
    #[allow(clippy::zombie_processes)]
    let _watchdog = watchdog.spawn().expect("spawn the cleanup watchdog");
}
