//! Test logging in the zero-to-production style: silent by default, printed through
//! the test harness's capture when `TEST_LOG` is set (filter from `RUST_LOG`).

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// Installs a fmt subscriber once per process, and only when `TEST_LOG` is set.
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_none() {
            return;
        }
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        // Another subscriber may already be global (a test binary that set its own);
        // that one keeps printing, which is what its author wanted.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
