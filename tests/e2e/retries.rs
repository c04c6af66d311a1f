//! Retried creates against the real binary: `aftercare demo` run twice seeds
//! the dealer once, and a complaint, customer or lead filed twice from the
//! command line with one `--request-id` is one record.

use crate::harness::{Server, cli, cli_json};

/// The event log head `aftercare status` reports, once every projection and
/// policy has caught up with it (the owner club's policy appends members'
/// events in reaction to the demo's).
fn head(dir: &std::path::Path, url: &str) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = cli_json(dir, url, &["status"]).expect("status");
        let settled = status["projections"]
            .as_array()
            .is_some_and(|all| all.iter().all(|p| crate::harness::int(&p["lag"]) == 0));
        if settled {
            return crate::harness::int(&status["head"]["value"]) as u64;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the read models never caught up with the log: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_run_twice_creates_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.url();
    let demo = [
        "demo",
        "--customers",
        "25",
        "--seed",
        "11",
        "--server",
        &url,
    ];
    let (ok, first, stderr) = cli(dir.path(), &demo, &[]);
    assert!(ok, "{stderr}");
    let seeded = head(dir.path(), &url);
    assert!(seeded > 25, "the demo seeded the dealer: {first}");
    let (ok, second, stderr) = cli(dir.path(), &demo, &[]);
    assert!(ok, "{stderr}");
    assert_eq!(second, first, "the same dealer, described the same way");
    assert_eq!(
        head(dir.path(), &url),
        seeded,
        "the second run appended events:\n{}",
        server.output()
    );

    // The demo ends with commands to paste; the vehicle history it names reads
    // back with as many visits as it says.
    let history = first
        .lines()
        .find(|l| l.trim_start().starts_with("aftercare vehicle history"))
        .unwrap_or_else(|| panic!("no history command in:\n{first}"));
    let (command, comment) = history.split_once('#').expect("a comment");
    let visits: usize = comment
        .trim()
        .trim_end_matches(" visits")
        .parse()
        .unwrap_or_else(|_| panic!("{comment}"));
    assert!(visits >= 2, "{history}");
    let mut args: Vec<&str> = command.split_whitespace().skip(1).collect();
    args.extend(["--server", &url, "--output", "json"]);
    let shown = crate::harness::cli_json_args(dir.path(), &args);
    let listed = shown["visits"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, visits, "{shown}");
    // The customer it names has both cars in their file.
    let search = first
        .lines()
        .find(|l| l.trim_start().starts_with("aftercare customer search"))
        .unwrap_or_else(|| panic!("no search command in:\n{first}"));
    let (command, _) = search.split_once('#').expect("a comment");
    let mut args: Vec<&str> = command.split_whitespace().skip(1).collect();
    args.extend(["--server", &url, "--output", "json"]);
    let found = crate::harness::cli_json_args(dir.path(), &args);
    let cars = found["customers"][0]["vehicles"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(cars, 2, "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_retried_from_the_command_line_is_one_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.url();
    let json = |args: &[&str]| cli_json(dir.path(), &url, args).expect("command");

    let file = [
        "complaint",
        "file",
        "--dealer",
        "D001",
        "--channel",
        "walk-in",
        "--description",
        "保养后异响",
        "--request-id",
        "front-desk/2026-11-26/17",
    ];
    let first = json(&file);
    let filed = head(dir.path(), &url);
    let again = json(&file);
    assert_eq!(first["ticket_id"], again["ticket_id"]);
    assert_eq!(first["position"], again["position"]);
    assert_eq!(
        (&first["already_filed"], &again["already_filed"]),
        (&false.into(), &true.into())
    );
    assert_eq!(head(dir.path(), &url), filed, "the retry appended nothing");

    let register = [
        "customer",
        "register",
        "--dealer",
        "D001",
        "--name",
        "刘洋",
        "--phone",
        "13812341234",
        "--request-id",
        "desk-7/0001",
    ];
    let customer = json(&register);
    let retried = json(&register);
    assert_eq!(
        (&retried["customer_id"], &retried["position"]),
        (&customer["customer_id"], &customer["position"])
    );
    assert_eq!(
        (&customer["changed"], &retried["changed"]),
        (&true.into(), &false.into())
    );
    let capture = [
        "lead",
        "capture",
        "--dealer",
        "D001",
        "--source",
        "web",
        "--phone",
        "18600001111",
        "--request-id",
        "web-form/5521",
    ];
    let lead = json(&capture);
    let repeat = json(&capture);
    assert_eq!(lead["lead_id"], repeat["lead_id"]);
    assert_eq!(repeat["changed"], false);

    let (ok, _, stderr) = cli(
        dir.path(),
        &[
            "customer",
            "register",
            "--dealer",
            "D001",
            "--name",
            "刘洋",
            "--phone",
            "13812341234",
            "--request-id",
            "重试",
            "--server",
            &url,
        ],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("client_request_id"), "{stderr}");
}
