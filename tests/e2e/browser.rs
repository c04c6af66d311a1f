//! The web console in headless Chromium (Debian's `chromium`, driven by
//! Playwright from the project's virtualenv; `make test` installs both): the
//! script in tests/browser signs an agent in, works the lead's call from the
//! worklist to an appointment and sees the month's measure change, is refused
//! another dealer's data and switches the language; a care manager of a dealer
//! with three years of generated history files and escalates a complaint and
//! reads the churn dashboard, the targets, the scorecards and the club. A screenshot of each page goes under
//! target/screenshots for a reviewer.

use std::path::PathBuf;

use crate::harness::{console_server, oem_lead, token};

const ADMIN: &str = "browser-admin-token-00001";
const AGENT: &str = "browser-agent-token-00001";
const MANAGER: &str = "browser-manager-token-001";
const MANAGER_LOGIN: &str = "li.jingli";
const MANAGER_PASSWORD: &str = "D002-care-2026";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_a_call_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, addr) = console_server(
        dir.path(),
        &[
            token("ops", ADMIN, "admin", "all"),
            token("王芳", AGENT, "callback-agent", "dealer:D001"),
            format!(
                "{}login = \"{MANAGER_LOGIN}\"\npassword_hash = \"{}\"\n",
                token("李经理", MANAGER, "care-manager", "dealer:D002"),
                aftercare_runtime::password::PasswordHash::new(
                    MANAGER_PASSWORD,
                    aftercare_runtime::password::MIN_ITERATIONS
                )
                .expect("a hash")
            ),
        ],
    );
    let web = format!("http://{addr}");
    oem_lead(&server, ADMIN, "孙丽", "13900003333", "OEM-L-BROWSER").await;

    // Three years of another dealer's history, for the manager's dashboard.
    let (ok, _, stderr) = crate::harness::cli(
        dir.path(),
        &[
            "demo",
            "--dealer",
            "D002",
            "--customers",
            "120",
            "--server",
            &server.url(),
            "--token",
            ADMIN,
        ],
        &[],
    );
    assert!(ok, "demo: {stderr}");
    let year = jiff::Zoned::now().year().to_string();
    let (ok, _, stderr) = crate::harness::cli(
        dir.path(),
        &[
            "targets",
            "set",
            "--dealer",
            "D002",
            "--metric",
            "churn-rate",
            "--year",
            &year,
            "--annual",
            "0.0338",
            "--server",
            &server.url(),
            "--token",
            ADMIN,
        ],
        &[],
    );
    assert!(ok, "targets set: {stderr}");
    let python = std::env::var("PYTHON_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repository().join(".venv/bin/python"));
    let screenshots = repository().join("target/screenshots");
    let run = tokio::process::Command::new(&python)
        .arg(repository().join("tests/browser/console.py"))
        .args(["--url", web.trim_end_matches('/'), "--token", AGENT])
        .args(["--admin-token", ADMIN])
        .args(["--manager-login", MANAGER_LOGIN])
        .args(["--manager-password", MANAGER_PASSWORD])
        .arg("--screenshots")
        .arg(&screenshots)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{} ({e}): `make test` installs playwright into .venv",
                python.display()
            )
        });
    assert!(
        run.status.success(),
        "the browser script failed:\n{}\n{}\nserver:\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        server.output()
    );
    for page in [
        "login-zh.png",
        "worklist-zh.png",
        "worklist-call-zh.png",
        "worklist-booked-zh.png",
        "worklist-en.png",
        "worklist-tablet.png",
        "worklist-d002-zh.png",
        "worklist-d002-tablet.png",
        "complaints-zh.png",
        "complaints-tablet.png",
        "churn-zh.png",
        "targets-zh.png",
        "club-zh.png",
        "scorecards-zh.png",
        "churn-tablet.png",
        "operations-zh.png",
    ] {
        let file = screenshots.join(page);
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1_000, "{} was not written", file.display());
    }
}
