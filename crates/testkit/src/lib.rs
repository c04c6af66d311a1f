//! Real servers for tests, each owned by a guard that cleans up after it.
//!
//! - [`NatsServer`]: a nats-server with JetStream on a random port and a temp store
//!   dir, killed on drop; it can be stopped and restarted on the same port and store
//!   to test recovery.
//! - [`postgres()`]: one throwaway PostgreSQL cluster per test binary, with
//!   [`PostgresCluster::create_database`] giving every test a database of its own.
//! - [`init_tracing()`]: test logs, printed only when `TEST_LOG` is set.
//! - [`fleet_visits`]: a dealer's generated history with known churners.
//!
//! A guard that is never dropped (a server kept in a static, a test binary killed
//! by a timeout) is covered too: a detached watchdog stops the server and removes
//! its directory once the test process has ended.
//!
//! Nothing here waits with a fixed sleep: every wait polls a condition against a
//! deadline and, on timeout, panics with the tail of the server's log.

#![forbid(unsafe_code)]

mod deploy_accounts;
mod fleet;
mod nats;
mod postgres;
mod tracing;
mod watchdog;

use std::path::Path;
use std::time::{Duration, Instant};

pub use deploy_accounts::{deploy_nats_accounts, deploy_nats_accounts_with};
pub use fleet::{FLEET_MONTHS, fleet_leaver, fleet_visits};
pub use nats::{NatsCluster, NatsServer, SyncMode, nats_server_binary};
pub use postgres::{PostgresCluster, TestDatabase, postgres};
pub use tracing::init_tracing;

/// How much of a server log a panic message shows.
const LOG_TAIL_LINES: usize = 40;

/// The last lines of a server's log file, for panic messages.
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            format!(
                "--- last lines of {} ---\n{}",
                path.display(),
                lines[start..].join("\n")
            )
        }
        Err(error) => format!("(log {} unreadable: {error})", path.display()),
    }
}

/// Why a poll gave up early instead of waiting for its deadline.
pub(crate) struct GaveUp(pub String);

/// Polls `ready` until it yields a value or the deadline passes; `Err` stops at
/// once (e.g. the server process exited). Returns the reason on failure.
/// Polls `check` until it gives a value or `timeout` passes (`None` then), with a
/// short growing pause between attempts: the one way tests wait for a condition.
pub fn wait_until<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    poll_until(timeout, || Ok(check())).ok()
}

pub(crate) fn poll_until<T>(
    timeout: Duration,
    mut ready: impl FnMut() -> Result<Option<T>, GaveUp>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        match ready() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(GaveUp(reason)) => return Err(reason),
        }
        if Instant::now() >= deadline {
            return Err(format!("not ready after {timeout:?}"));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
