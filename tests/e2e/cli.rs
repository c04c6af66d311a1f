//! The intake commands of the CLI against the real server: JSON output that
//! scripts can rely on, and errors a person can act on.

use std::time::{Duration, Instant};

use crate::harness::{Server, cli, cli_json, int};

/// Runs a read command until its JSON satisfies `done` (the read model follows
/// the writes within moments), with a deadline instead of a fixed wait.
fn poll(
    dir: &std::path::Path,
    args: &[&str],
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, stdout, stderr) = cli(dir, args, &[]);
        assert!(ok, "{args:?}: {stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("json output");
        if done(&json) {
            return json;
        }
        assert!(
            Instant::now() < deadline,
            "{args:?} never showed the write: {json}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_visits_and_history_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.url();
    let common = ["--server", url.as_str(), "--output", "json"];
    let with = |args: &[&'static str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(common.iter().map(|a| a.to_string()))
            .collect()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(dir.path(), &refs, &[])
    };

    let (ok, stdout, stderr) = run(with(&[
        "customer",
        "register",
        "--dealer",
        "D001",
        "--name",
        "刘洋",
        "--phone",
        "+86 138 1234 1234",
        "--consent",
        "phone,sms",
    ]));
    assert!(ok, "{stderr}");
    let registered: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let id = registered["customer_id"]
        .as_str()
        .expect("customer id")
        .to_owned();
    let search: Vec<String> = with(&["customer", "search", "--dealer", "D001", "13812341234"]);
    let refs: Vec<&str> = search.iter().map(String::as_str).collect();
    let found = poll(dir.path(), &refs, |j| {
        j["customers"].as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(found["customers"][0]["customer_id"], id.as_str());
    assert_eq!(int(&found["page"]["total"]), 1, "{found}");

    let consent: Vec<String> = [
        "customer",
        "consent",
        "--dealer",
        "D001",
        id.as_str(),
        "--channel",
        "wechat",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain(common.iter().map(|a| a.to_string()))
    .collect();
    let (ok, stdout, stderr) = run(consent.clone());
    assert!(ok, "{stderr}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).expect("json")["changed"],
        true
    );
    let (ok, stdout, _) = run(consent);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).expect("json")["changed"],
        false,
        "already given"
    );

    let (ok, stdout, stderr) = run(with(&[
        "lead",
        "capture",
        "--dealer",
        "D001",
        "--source",
        "web",
        "--phone",
        "186 0000 1111",
        "--model",
        "Trax",
    ]));
    assert!(ok, "{stderr}");
    let lead = serde_json::from_str::<serde_json::Value>(&stdout).expect("json")["lead_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let leads: Vec<String> = with(&["lead", "list", "--dealer", "D001"]);
    let refs: Vec<&str> = leads.iter().map(String::as_str).collect();
    let listed = poll(dir.path(), &refs, |j| {
        j["leads"].as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(listed["leads"][0]["lead_id"], lead.as_str());
    assert_eq!(listed["leads"][0]["phone"], "18600001111");
    let (ok, _, stderr) = run(with(&[
        "lead",
        "capture",
        "--dealer",
        "D001",
        "--source",
        "fax",
        "--phone",
        "18600001111",
    ]));
    assert!(!ok && stderr.contains("--source \"fax\""), "{stderr}");

    let record = with(&[
        "visit",
        "record",
        "--dealer",
        "D001",
        "--ro",
        "RO-CLI-1",
        "--vin",
        "LSVAG2186E2100001",
        "--opened",
        "2026-09-01T09:00:00+08:00",
        "--closed",
        "2026-09-01T15:30:00+08:00",
        "--mileage",
        "8000",
        "--kind",
        "maintenance",
        "--advisor",
        "王芳",
        "--group",
        "A组",
    ]);
    let (ok, stdout, stderr) = run(record.clone());
    assert!(ok, "{stderr}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).expect("json")["already_recorded"],
        false
    );
    let (ok, stdout, _) = run(record);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).expect("json")["already_recorded"],
        true
    );

    let history = with(&[
        "vehicle",
        "history",
        "--dealer",
        "D001",
        "LSVAG2186E2100001",
    ]);
    let refs: Vec<&str> = history.iter().map(String::as_str).collect();
    let shown = poll(dir.path(), &refs, |j| {
        j["visits"].as_array().is_some_and(|v| v.len() == 1)
    });
    assert_eq!(shown["visits"][0]["repair_order"], "RO-CLI-1");

    let (ok, _, stderr) = run(with(&[
        "visit",
        "record",
        "--dealer",
        "D001",
        "--ro",
        "RO-CLI-2",
        "--vin",
        "LSVAG2181E2100001",
        "--opened",
        "2026-09-01T09:00:00+08:00",
        "--closed",
        "2026-09-01T15:30:00+08:00",
        "--kind",
        "repair",
        "--advisor",
        "王芳",
    ]));
    assert!(!ok);
    assert!(
        stderr.contains("invalid argument") && stderr.contains("repair_order.vin"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_dealer_through_the_real_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Without the owner club, whose policy adds members' events of its own:
    // the log then holds the demo's facts only.
    let server = Server::start_services(
        dir.path(),
        &[],
        &["intake", "complaint", "analytics", "callback"],
        &[],
    );
    let url = server.url();
    let (ok, stdout, stderr) = cli(
        dir.path(),
        &["demo", "--customers", "40", "--seed", "3", "--server", &url],
        &[],
    );
    assert!(ok, "{stderr}");
    // "dealer D001: 40 customers, N sales, M service visits, L leads"
    let numbers: Vec<u64> = stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    let [_, customers, sales, visits, leads] = numbers[..] else {
        panic!("unexpected summary: {stdout}")
    };
    assert_eq!(customers, 40);
    assert!(sales >= customers && visits > sales, "{stdout}");
    assert_eq!(leads, 5);
    // Every fact is an event: customers one each, sales three each (file, sale,
    // owner), visits and leads one each.
    let (ok, stdout, stderr) = cli(
        dir.path(),
        &["status", "--server", &url, "--output", "json"],
        &[],
    );
    assert!(ok, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        int(&status["head"]["value"]) as u64,
        customers + 3 * sales + visits + leads,
        "{status}"
    );
    // The demo's three years of visits give churn reports to read. Once the read
    // model has every vehicle, find a recent month whose cohort had visits.
    let month = |back: i32| {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
            .date()
            .first_of_month()
            .checked_sub(jiff::Span::new().months(back))
            .expect("a month before")
            .strftime("%Y-%m")
            .to_string()
    };
    let report_of = |month: &str| {
        poll(
            dir.path(),
            &[
                "report", "churn", "--month", month, "--by", "model", "--server", &url, "--output",
                "json",
            ],
            |r| {
                r["segments"].as_array().is_some_and(|s| {
                    s.iter().map(|s| int(&s["vehicles"])).sum::<i64>() >= customers as i64
                })
            },
        )
    };
    let (last_month, report) = (1..=24)
        .map(|back| {
            let m = month(back);
            let r = report_of(&m);
            (m, r)
        })
        .find(|(_, r)| int(&r["total"]["base"]) > 0)
        .expect("a month with a churn base in the last two years");
    let lines = report["lines"].as_array().expect("lines");
    let sum = |field: &str| lines.iter().map(|l| int(&l[field])).sum::<i64>();
    assert_eq!(int(&report["total"]["base"]), sum("base"), "{report}");
    assert_eq!(int(&report["total"]["churned"]), sum("churned"), "{report}");
    let (ok, table, stderr) = cli(
        dir.path(),
        &["report", "churn", "--month", &last_month, "--server", &url],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        table.contains("TOTAL") && table.contains("segments at month end"),
        "{table}"
    );
    // The churn table of the same month counts every vehicle on file once.
    let churn_table = poll(
        dir.path(),
        &[
            "report",
            "churn-table",
            "--month",
            &last_month,
            "--by",
            "model",
            "--server",
            &url,
            "--output",
            "json",
        ],
        |t| int(&t["total"]["base"]) > 0,
    );
    let table_lines = churn_table["lines"].as_array().expect("lines");
    assert_eq!(
        int(&churn_table["total"]["base"]),
        table_lines.iter().map(|l| int(&l["base"])).sum::<i64>(),
        "{churn_table}"
    );
    // RFM and ABC of today: every serviced vehicle in one segment, every
    // vehicle in one class, the classes' revenue adding up.
    let rfm = poll(
        dir.path(),
        &["report", "rfm", "--server", &url, "--output", "json"],
        |r| int(&r["units"]) >= customers as i64,
    );
    let in_segments: i64 = rfm["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| int(&s["units"]))
        .sum();
    assert_eq!(
        in_segments,
        int(&rfm["units"]) - int(&rfm["never_serviced"]),
        "{rfm}"
    );
    let classes = rfm["classes"].as_array().expect("classes");
    assert_eq!(
        classes.iter().map(|c| int(&c["units"])).sum::<i64>(),
        int(&rfm["units"]),
        "{rfm}"
    );
    assert!(
        int(&classes[0]["contribution"]["fen"]) > 0,
        "the demo's visits earn: {rfm}"
    );
    let clv = &rfm["lifetime_value"]["fen"];
    assert!(
        int(clv) > 0,
        "the demo's customers are worth something: {rfm}"
    );
    let (ok, clv_table, stderr) = cli(dir.path(), &["report", "clv", "--server", &url], &[]);
    assert!(ok, "{stderr}");
    assert!(clv_table.contains("survival by vehicle age"), "{clv_table}");
    let (ok, risk, stderr) = cli(
        dir.path(),
        &[
            "report", "risk", "--dealer", "D001", "--server", &url, "--output", "json",
        ],
        &[],
    );
    // Three years of demo visits are enough to fit the model; a month whose
    // demo history had no churner is refused in words that say why.
    if ok {
        let risk: serde_json::Value = serde_json::from_str(&risk).expect("json");
        assert_eq!(
            risk["features"].as_array().map(Vec::len),
            Some(aftercare_analytics::domain::risk::FEATURES.len()),
            "{risk}"
        );
        let risks: Vec<f64> = risk["top"]
            .as_array()
            .expect("top")
            .iter()
            .map(|v| v["risk"].as_f64().expect("risk"))
            .collect();
        assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risk}");
    } else {
        assert!(stderr.contains("too little history"), "{stderr}");
    }
    // Any report exports as CSV: the table alone, UTF-8 with a byte-order mark.
    let (ok, csv, stderr) = cli(
        dir.path(),
        &["report", "rfm", "--server", &url, "--output", "csv"],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        csv.starts_with("\u{feff}SEGMENT,UNITS,SHARE,YUAN A YEAR\r\n"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + 7,
        "a header and the seven segments: {csv}"
    );
    let (ok, csv, stderr) = cli(
        dir.path(),
        &[
            "report",
            "churn-table",
            "--month",
            &last_month,
            "--by",
            "model",
            "--server",
            &url,
            "--output",
            "csv",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        csv.lines().last().is_some_and(|l| l.starts_with("TOTAL,")),
        "{csv}"
    );
    // A churn target for this year, read against the demo's churn as CSV.
    let year = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .year()
        .to_string();
    let (ok, _, stderr) = cli(
        dir.path(),
        &[
            "targets",
            "set",
            "--dealer",
            "D001",
            "--metric",
            "churn-rate",
            "--year",
            &year,
            "--annual",
            "0.0338",
            "--server",
            &url,
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    let targets = poll(
        dir.path(),
        &[
            "report", "targets", "--dealer", "D001", "--year", &year, "--server", &url, "--output",
            "json",
        ],
        |t| {
            t["metrics"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|m| m["metric"] == "churn-rate" && m.get("annual").is_some())
            })
        },
    );
    let churn = targets["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["metric"] == "churn-rate"))
        .expect("the churn line");
    assert_eq!(
        churn["months"].as_array().map(Vec::len),
        Some(12),
        "{churn}"
    );
    let (ok, csv, stderr) = cli(
        dir.path(),
        &[
            "report", "targets", "--dealer", "D001", "--year", &year, "--server", &url, "--output",
            "csv",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(csv.contains("\r\nchurn-rate,YEAR,3.38%,"), "{csv}");
    // Other commands answer in a table or JSON, and say so.
    let (ok, _, stderr) = cli(
        dir.path(),
        &["status", "--server", &url, "--output", "csv"],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("only reports"), "{stderr}");
    let (ok, abc, stderr) = cli(
        dir.path(),
        &["report", "abc", "--per", "customer", "--server", &url],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(abc.contains("CLASS") && abc.contains("OF REVENUE"), "{abc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_leads_change_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.url();
    let json = |args: &[&str]| cli_json(dir.path(), &url, args);
    let register = |name: &str, phone: &str| {
        json(&[
            "customer", "register", "--dealer", "D001", "--name", name, "--phone", phone,
        ])
        .expect("registered")["customer_id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let first = register("刘洋", "13812341234");
    let second = register("陈静", "13912341234");

    let update = [
        "customer",
        "update",
        "--dealer",
        "D001",
        &first,
        "--name",
        "刘洋",
        "--phone",
        "13812341234",
        "--district",
        "浦东",
    ];
    assert_eq!(json(&update).expect("updated")["changed"], true);
    assert_eq!(
        json(&update).expect("answered")["changed"],
        false,
        "the same profile"
    );

    let vin = "LSVAG2186E2100001";
    let vehicle = [
        "vehicle",
        "register",
        "--dealer",
        "D001",
        vin,
        "--model",
        "Cruze",
        "--owner",
        &first,
        "--purchase-date",
        "2024-05-01",
    ];
    let registered = json(&vehicle).expect("registered");
    assert_eq!(registered["already_recorded"], false, "{registered}");
    // The same registration again (a retry) is the first result; another one
    // for the same VIN is refused.
    let again = json(&vehicle).expect("a retry is answered");
    assert_eq!(again["already_recorded"], true);
    assert_eq!(again["vehicle_id"], registered["vehicle_id"]);
    let mut other = vehicle.to_vec();
    let model = other.iter().position(|a| *a == "Cruze").expect("model");
    other[model] = "Malibu";
    let refused = json(&other).expect_err("registered once");
    assert!(
        refused.contains("failed precondition") && refused.contains("already on file"),
        "{refused}"
    );
    // D001 writes in Chinese (the default): the refusal in Chinese, then the
    // message as logs quote it.
    assert!(refused.contains("已建档"), "{refused}");
    let future = json(&[
        "vehicle",
        "register",
        "--dealer",
        "D001",
        "1M8GDM9AXKP042788",
        "--purchase-date",
        "2999-01-01",
    ])
    .expect_err("a purchase in the future");
    assert!(future.contains("purchase_date"), "{future}");

    let transfer = [
        "vehicle",
        "transfer",
        "--dealer",
        "D001",
        vin,
        "--to",
        &second,
        "--on",
        "2026-01-10",
    ];
    assert_eq!(
        json(&transfer).expect("transferred")["already_recorded"],
        false
    );
    let history = poll(
        dir.path(),
        &[
            "vehicle", "history", "--dealer", "D001", vin, "--server", &url, "--output", "json",
        ],
        |h| h.to_string().contains(&second),
    );
    assert!(history.to_string().contains("Cruze"), "{history}");

    let lead = json(&[
        "lead",
        "capture",
        "--dealer",
        "D001",
        "--source",
        "hotline",
        "--phone",
        "18600001111",
    ])
    .expect("captured")["lead_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        json(&["lead", "verify", "--dealer", "D001", &lead]).expect("verified")["changed"],
        true
    );
    let lost = json(&[
        "lead",
        "lose",
        "--dealer",
        "D001",
        &lead,
        "--reason",
        "bought elsewhere",
    ])
    .expect("lost");
    assert_eq!(lost["changed"], true);
    let listed = poll(
        dir.path(),
        &[
            "lead", "list", "--dealer", "D001", "--server", &url, "--output", "json",
        ],
        |l| l["leads"][0]["status"] == "LEAD_STATUS_LOST",
    );
    assert_eq!(listed["leads"][0]["lead_id"], lead.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_from_filing_to_closing_on_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.url();
    let json = |args: &[&str]| cli_json(dir.path(), &url, args);
    let filed = json(&[
        "complaint",
        "file",
        "--dealer",
        "D001",
        "--channel",
        "walk-in",
        "--description",
        "等了三个小时",
        "--receiver",
        "前台 王芳",
    ])
    .expect("filed");
    let ticket = filed["ticket_id"].as_str().expect("ticket").to_owned();
    let early = json(&[
        "complaint",
        "close",
        "--dealer",
        "D001",
        &ticket,
        "--satisfaction",
        "satisfied",
    ])
    .expect_err("an open ticket cannot be closed");
    assert!(
        early.contains("failed precondition") && early.contains("cannot be closed"),
        "{early}"
    );
    for step in [
        vec!["complaint", "ack", "--dealer", "D001", &ticket],
        vec![
            "complaint",
            "escalate",
            "--dealer",
            "D001",
            &ticket,
            "--reason",
            "wants compensation",
        ],
        vec![
            "complaint",
            "resolve",
            "--dealer",
            "D001",
            &ticket,
            "--resolution",
            "apologised, free car wash",
            "--compensation-fen",
            "20000",
        ],
        vec![
            "complaint",
            "close",
            "--dealer",
            "D001",
            &ticket,
            "--satisfaction",
            "satisfied",
        ],
    ] {
        let answer = json(&step).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        assert_eq!(answer["changed"], true, "{step:?}");
    }
    let shown = poll(
        dir.path(),
        &[
            "complaint",
            "show",
            "--dealer",
            "D001",
            &ticket,
            "--server",
            &url,
            "--output",
            "json",
        ],
        |t| t["status"] == "closed",
    );
    assert_eq!(shown["grade"], 2);
    assert_eq!(shown["handler"], "department-manager");
    assert_eq!(shown["owner"], "前台 王芳");
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["filed", "acknowledged", "escalated", "resolved", "closed"]
    );
    let listed = json(&[
        "complaint",
        "list",
        "--dealer",
        "D001",
        "--status",
        "closed",
    ])
    .expect("list");
    assert_eq!(listed["tickets"][0]["ticket_id"], ticket.as_str());
    let bad = json(&[
        "complaint",
        "list",
        "--dealer",
        "D001",
        "--status",
        "pending",
    ])
    .expect_err("bad status");
    assert!(bad.contains("status"), "{bad}");
}

/// `aftercare status | head -n 1`: the reader goes away before the CLI writes;
/// the CLI ends quietly with the status of a closed pipe, no panic message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_the_cli_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = crate::harness::Server::start(dir.path(), &[], &[]);
    let mut child = std::process::Command::new(crate::harness::BINARY)
        .current_dir(dir.path())
        .args(["status", "--server", &server.url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the CLI");
    // The reader is gone before the CLI has its answer to print.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
