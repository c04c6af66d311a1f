//! Callbacks on the production shape (JetStream, PostgreSQL), through the CLI as
//! agents use it: a delivery, DMS visits (one from last year) and an OEM lead
//! go in → each agent's worklist has the right calls in deadline order → calls
//! and outcomes → the month's measures equal what is counted here; the
//! complaint made on a call is filed once; the OEM hears about its lead. Then
//! the read model is rebuilt from the whole log with the server stopped: no
//! task changes, and the churn sweep of the restarted server gives the advisor
//! of the churned vehicle's last visit its winback call.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aftercare_proto::callback::v1 as pb;
use aftercare_proto::complaint::v1 as complaint;
use aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient;
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use prost::Message;

use crate::harness::{Server, authorized, cli, dealer, dms_send, int, token, vin};

const ADMIN: &str = "callback-admin-token-0001";
const AGENT: &str = "callback-agent-token-0001";
const ADVISOR: &str = "callback-advisor-token-01";
const MANAGER: &str = "callback-manager-token-01";

/// `aftercare <args> --server <url> --token <token> --output json`, parsed.
fn json(dir: &Path, url: &str, token: &str, args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--server", url, "--output", "json"]);
    let (ok, stdout, stderr) = cli(dir, &all, &[("AFTERCARE_TOKEN", token.to_owned())]);
    assert!(ok, "aftercare {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn kinds(list: &serde_json::Value) -> Vec<String> {
    list["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["kind"].as_str().expect("kind").to_owned())
        .collect()
}

/// The worklist as `token` reads it, once it holds `count` tasks.
fn worklist(dir: &Path, url: &str, token: &str, extra: &[&str], count: usize) -> serde_json::Value {
    let mut args = vec!["callback", "worklist", "--dealer", "D001"];
    args.extend(extra);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list = json(dir, url, token, &args);
        if kinds(&list).len() >= count {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worklist never held {count} tasks: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every task's state that a rebuild must keep.
async fn states(server: &Server, ids: &[String]) -> Vec<(i32, u32, i32, bool)> {
    let mut client =
        aftercare_proto::callback::v1::callback_service_client::CallbackServiceClient::new(
            server.channel().await,
        );
    let mut out = Vec::new();
    for id in ids {
        let t = client
            .get_task(authorized(
                pb::GetTaskRequest {
                    dealer: dealer("D001"),
                    task_id: id.clone(),
                    consistency: None,
                },
                MANAGER,
            ))
            .await
            .expect("task")
            .into_inner();
        out.push((t.status, t.attempts, t.satisfaction, t.complaint));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_callbacks_survives_a_rebuild() {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("aftercare.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nbackend = \"jetstream\"\nurl = \"{}\"\n[database]\nurl = \"{}\"\n{}{}{}{}",
            nats.url(),
            database.url,
            token("admin", ADMIN, "admin", "all"),
            token("王芳", AGENT, "callback-agent", "dealer:D001"),
            token("张伟", ADVISOR, "service-advisor", "dealer:D001"),
            token("经理", MANAGER, "care-manager", "dealer:D001"),
        ),
    )
    .expect("config");
    let config_arg = config.to_str().expect("utf-8").to_owned();
    let args = ["--config", config_arg.as_str()];
    let server = Server::start(dir.path(), &args, &[]);
    let url = server.url();
    let d = dir.path();
    let dms = async_nats::connect(nats.url()).await.expect("dms");
    let mut feedback = dms
        .subscribe("aftercare.out.D001.lead-feedback")
        .await
        .expect("subscribe");
    dms.flush().await.expect("flush");

    // A customer who takes calls; a delivery yesterday.
    let mut intake_api = IntakeServiceClient::new(server.channel().await);
    let customer = intake_api
        .register_customer(authorized(
            intake::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: Some(intake::CustomerInput {
                    name: "刘洋".into(),
                    phones: vec!["13812341234".into()],
                    ..Default::default()
                }),
                consents: vec![intake::Consent {
                    channel: intake::ContactChannel::Phone as i32,
                    granted: true,
                }],
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("customer")
        .into_inner()
        .customer_id;
    let yesterday = (Timestamp::now() - SignedDuration::from_hours(24))
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date();
    intake_api
        .record_sale(authorized(
            intake::RecordSaleRequest {
                dealer: dealer("D001"),
                vin: vin(61, 1),
                buyer_customer_id: customer.clone(),
                sales_consultant: "李娜".into(),
                sold_on: Some(aftercare_proto::calendar::to_date(yesterday)),
                model: "科鲁兹".into(),
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("sale");
    // Two DMS visits as the DMS sends them: one two days ago, one of last year.
    for (ro, v, hours) in [
        ("RO-61-1", vin(61, 2), 48),
        ("RO-61-0", vin(61, 3), 24 * 400),
    ] {
        let closed = Timestamp::now() - SignedDuration::from_hours(hours);
        let body = serde_json::json!({
            "repair_order": ro, "vin": v, "customer_id": customer,
            "opened_at": (closed - SignedDuration::from_hours(3)).to_string(),
            "closed_at": closed.to_string(), "mileage_km": 20000, "kind": "保养",
            "labour_fen": 30000, "parts_fen": 50000, "service_advisor": "张伟",
            "advisor_group": "A组",
        });
        dms_send(&dms, "D001", "visits", &body).await;
    }
    // An OEM lead.
    intake_api
        .capture_lead(authorized(
            intake::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: intake::LeadSource::Oem as i32,
                name: "赵磊".into(),
                phone: "13900001111".into(),
                model_of_interest: "迈锐宝".into(),
                oem_reference: "OEM-L-61".into(),
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("lead");

    // The agent's worklist: the lead's 30 minutes first, then the visit's
    // callback (two days ago) and the delivery's (yesterday); nothing for last
    // year's visit.
    let list = worklist(d, &url, AGENT, &[], 3);
    assert_eq!(
        kinds(&list),
        [
            "TASK_KIND_LEAD_FIRST_CONTACT",
            "TASK_KIND_POST_SERVICE",
            "TASK_KIND_POST_SALE"
        ],
        "{list}"
    );
    let id = |i: usize| list["tasks"][i]["task_id"].as_str().expect("id").to_owned();
    let (lead, post_service, post_sale) = (id(0), id(1), id(2));
    assert_eq!(list["tasks"][1]["phone"], "13812341234");
    // The advisor has nothing yet.
    assert_eq!(
        kinds(&worklist(d, &url, ADVISOR, &["--assignee", "张伟"], 0)),
        Vec::<String>::new()
    );

    // The calls.
    let call = |task: &str, result: &str| {
        json(
            d,
            &url,
            AGENT,
            &[
                "callback", "attempt", "--dealer", "D001", task, "--result", result,
            ],
        )
    };
    call(&lead, "reached");
    call(&post_service, "reached");
    let complain = || {
        json(
            d,
            &url,
            AGENT,
            &[
                "callback",
                "outcome",
                "--dealer",
                "D001",
                &post_service,
                "--satisfaction",
                "2",
                "--complaint",
                "保养后异响没有解决",
            ],
        )
    };
    assert_eq!(complain()["changed"], true);
    assert_eq!(complain()["changed"], false, "a retry records nothing");
    for _ in 0..3 {
        call(&post_sale, "no-answer");
    }
    let closed = json(
        d,
        &url,
        MANAGER,
        &["callback", "show", "--dealer", "D001", &post_sale],
    );
    assert_eq!(closed["status"], "TASK_STATUS_UNREACHED", "{closed}");
    assert_eq!(int(&closed["attempts"]), 3);

    // The complaint made on the call is filed once, as a callback complaint.
    let mut complaints = ComplaintServiceClient::new(server.channel().await);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let tickets = loop {
        let tickets = complaints
            .list_complaints(authorized(
                complaint::ListComplaintsRequest {
                    dealer: dealer("D001"),
                    ..Default::default()
                },
                MANAGER,
            ))
            .await
            .expect("complaints")
            .into_inner()
            .tickets;
        if !tickets.is_empty() {
            break tickets;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the complaint made on the call was never filed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].channel, complaint::Channel::Callback as i32);

    // The OEM heard that its lead arrived and that the prospect was reached.
    let mut statuses = Vec::new();
    while statuses.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(30), feedback.next())
            .await
            .expect("lead feedback in time")
            .expect("subscription open");
        let form = pb::LeadFeedback::decode(message.payload).expect("lead feedback");
        assert_eq!(form.oem_reference, "OEM-L-61");
        statuses.push((form.status, form.status_text));
    }
    assert_eq!(
        statuses,
        [
            (
                pb::LeadStatus::Received as i32,
                "经销商已收到线索".to_owned()
            ),
            (
                pb::LeadStatus::Contacted as i32,
                "已电话联系上客户".to_owned()
            ),
        ]
    );

    // The month's measures, summed over the months the three calls fall due in.
    let mut months = BTreeMap::new();
    for t in list["tasks"].as_array().expect("tasks") {
        let due: Timestamp = t["due_at"].as_str().expect("due").parse().expect("time");
        let z = due.to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"));
        months.insert(format!("{:04}-{:02}", z.year(), z.month()), ());
    }
    let mut sums: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for month in months.keys() {
        let m = json(
            d,
            &url,
            MANAGER,
            &["callback", "measures", "--dealer", "D001", "--month", month],
        );
        for name in [
            "callback_rate",
            "reach_rate",
            "service_satisfaction",
            "lead_compliance",
        ] {
            let r = &m["dealer"][name];
            let sum = sums.entry(name).or_default();
            sum.0 += int(&r["numerator"]);
            sum.1 += int(&r["denominator"]);
        }
    }
    // Both callbacks were attempted in their window; three tasks attempted,
    // two reached; the one satisfaction given was "dissatisfied"; the lead
    // was called within its 30 minutes.
    assert_eq!(sums["callback_rate"], (2, 2));
    assert_eq!(sums["reach_rate"], (2, 3));
    assert_eq!(sums["service_satisfaction"], (0, 1));
    assert_eq!(sums["lead_compliance"], (1, 1));

    // Rebuilt from the whole log with the server stopped: no task changes.
    let ids = vec![lead, post_sale, post_service];
    let before = states(&server, &ids).await;
    assert!(server.terminate().success());
    let (ok, _, stderr) = cli(
        d,
        &["--config", config_arg.as_str(), "rebuild", "callback_tasks"],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("swapped it in and dropped the old tables"),
        "on PostgreSQL a rebuild is built beside the live tables: {stderr}"
    );
    let server = Server::start(d, &args, &[]);
    let url = server.url();
    assert_eq!(states(&server, &ids).await, before);
    // The restarted server's churn sweep finds last year's vehicle churned:
    // its winback call is for the advisor of its last visit.
    let advisor = worklist(d, &url, ADVISOR, &["--assignee", "张伟"], 1);
    assert_eq!(
        kinds(&advisor),
        ["TASK_KIND_WINBACK"],
        "{advisor}\n{}",
        server.output()
    );
    assert_eq!(advisor["tasks"][0]["assignee"], "张伟");
}
