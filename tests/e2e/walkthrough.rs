//! The README's walk-through, command by command, on the embedded default, as a
//! newcomer pastes it: demo → the VIN it prints → its history → a search → a
//! GBK import with a bad row → a complaint → a churn report. Each step is
//! checked for what a person reads (paging is tested on both engines in
//! intake's API tests).

use std::path::Path;
use std::process::Command;

use crate::harness::{BINARY, Server};

/// Runs `aftercare <args> --server <url>` in `dir`: (exit code, stdout, stderr).
fn run(dir: &Path, url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BINARY)
        .current_dir(dir)
        .args(args)
        .args(["--server", url])
        .env_remove("AFTERCARE_TOKEN")
        .env("AFTERCARE_TIME_ZONE", "Asia/Shanghai")
        .output()
        .expect("run aftercare");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The command the demo printed on the line starting with `starts`, as arguments.
fn printed<'a>(demo: &'a str, starts: &str) -> Vec<&'a str> {
    let line = demo
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(starts))
        .unwrap_or_else(|| panic!("no {starts:?} in:\n{demo}"));
    line.split('#')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_through_reads_right() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.url();
    let d = dir.path();

    // demo: a summary, then commands to paste.
    let (code, demo, err) = run(d, &url, &["demo", "--customers", "60", "--seed", "7"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(demo.starts_with("dealer D001: 60 customers"), "{demo}");

    // The printed history: visits closed at the dealer's time, to the minute.
    // The read model may still be applying the demo's visits: ask again, as a
    // person would, until they are there (or 30 s have passed).
    let mut tries = 0;
    let (code, history, err) = loop {
        let answer = run(d, &url, &printed(&demo, "aftercare vehicle history"));
        tries += 1;
        if answer.1.lines().any(|l| l.trim_start().starts_with("RO7")) || tries == 60 {
            break answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(code, Some(0), "{err}");
    assert!(history.contains("REPAIR ORDER"), "{history}");
    assert!(
        history.contains(" yuan"),
        "the sale's price in yuan: {history}"
    );
    let closed = history
        .lines()
        .find(|l| l.trim_start().starts_with("RO7"))
        .unwrap_or_else(|| panic!("no visit in:\n{history}"));
    let minute = closed.split_whitespace().nth(2).unwrap_or_default();
    assert_eq!(
        minute.len(),
        5,
        "a time to the minute, not microseconds: {closed}"
    );

    // The printed search: the customer with both cars, and how many were found.
    let (code, found, err) = run(d, &url, &printed(&demo, "aftercare customer search"));
    assert_eq!(code, Some(0), "{err}");
    assert!(found.trim_end().ends_with("1 of 1"), "{found}");
    assert!(found.contains("VEHICLES"), "{found}");

    // The demo's leads, listed with how many there are.
    let (code, leads, err) = run(d, &url, &["lead", "list", "--dealer", "D001"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(leads.trim_end().ends_with("6 of 6"), "{leads}");

    // A GBK export with a bad row: imported, the bad row named, exit status 3.
    let csv = "\
repair_order,vin,customer_id,opened_at,closed_at,mileage_km,kind,labour_fen,parts_fen,service_advisor,advisor_group,fault_codes
RO-W-1,LSVAG2186E2100001,,2026-01-05T01:00:00Z,2026-01-05T06:00:00Z,5000,保养,20000,30000,王芳,A组,
RO-W-2,LSVAG2181E2100001,,2026-04-06T01:00:00Z,2026-04-06T06:00:00Z,8000,repair,50000,0,李娜,B组,
";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    std::fs::write(d.join("visits.csv"), &gbk).expect("write csv");
    let (code, imported, err) = run(
        d,
        &url,
        &["import", "visits", "--dealer", "D001", "visits.csv"],
    );
    assert_eq!(code, Some(3), "{imported}\n{err}");
    assert!(err.contains("1 rows were rejected"), "{err}");
    let rejects = std::fs::read_to_string(d.join("visits.rejects.csv")).expect("rejects");
    assert!(
        rejects.contains("RO-W-2") && rejects.contains("check digit"),
        "{rejects}"
    );

    // A walk-in complaint, then the list shows its deadline at the dealer.
    let (code, filed, err) = run(
        d,
        &url,
        &[
            "complaint",
            "file",
            "--dealer",
            "D001",
            "--channel",
            "walk-in",
            "--description",
            "waited three hours",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(!filed.is_empty(), "{filed}");
    // The list reads the complaints' read model, which follows the log within
    // moments (a person typing the next command is slower than that).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let list = loop {
        let (code, list, err) = run(d, &url, &["complaint", "list", "--dealer", "D001"]);
        assert_eq!(code, Some(0), "{err}");
        if !list.trim_end().ends_with("0 of 0") || std::time::Instant::now() > deadline {
            break list;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(list.contains("RESOLVE BY"), "{list}");
    assert!(!list.contains(".999999Z"), "no UTC microseconds: {list}");
    let counted = list.lines().last().unwrap_or_default();
    assert!(
        counted.ends_with(" of 1") || counted.contains(" of 1;"),
        "the list says how many: {list}"
    );

    // The churn report the demo printed.
    let (code, report, err) = run(d, &url, &printed(&demo, "aftercare report churn"));
    assert_eq!(code, Some(0), "{err}");
    assert!(report.contains("RATE") && report.contains('%'), "{report}");

    // Today's calls the demo printed: yesterday's delivery (customer 7 of the
    // 60) and the hotline and web leads, each with a number to call and a
    // deadline at the dealer.
    let (code, calls, err) = run(d, &url, &printed(&demo, "aftercare callback worklist"));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        calls.contains("post-sale") && calls.contains("lead"),
        "{calls}"
    );
    assert!(calls.contains("delivered"), "why the call is due: {calls}");
    assert!(
        calls.lines().last().is_some_and(|l| l.contains(" of ")),
        "{calls}"
    );
}
