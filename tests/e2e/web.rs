//! The staff web console over HTTP, against the real binary (embedded
//! default): sign-in by token into a session cookie scripts cannot read and
//! other sites do not send, the worklist answered from the callback service
//! with the agent's own scope, and writes refused without the page's CSRF
//! token.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;

use crate::harness::{authorized, console_server, dealer, oem_lead, token};

const ADMIN: &str = "web-admin-token-000000001";
const AGENT: &str = "web-agent-token-000000001";
const VIEWER: &str = "web-viewer-token-00000001";

/// One HTTP/1.1 exchange: the status, the response's headers (lower-cased
/// names) and its body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut socket = std::net::TcpStream::connect(addr).expect("web console");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    socket.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The log position a command's JSON answer reports.
fn position(body: &str) -> u64 {
    let answer: serde_json::Value = serde_json::from_str(body).expect("json");
    crate::harness::int(&answer["position"]["value"]) as u64
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_signs_in_sees_their_worklist_and_claims_a_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, addr) = console_server(
        dir.path(),
        &[
            token("ops", ADMIN, "admin", "all"),
            token("王芳", AGENT, "callback-agent", "dealer:D001"),
            token("hq-reader", VIEWER, "viewer", "dealer:D001"),
        ],
    );

    // An OEM lead: a first call due within 30 minutes.
    let lead = oem_lead(&server, ADMIN, "赵磊", "13900002222", "OEM-L-WEB").await;
    let worklist_after = |position: u64| format!("/api/worklist?dealer=D001&after={position}");

    // A viewer's console shows the call with the personal data masked, as
    // the API masks it for that role (read once the lead is in).
    let viewer = sign_in(&addr, VIEWER).cookie;
    let (status, _, body) = http(
        &addr,
        "GET",
        &worklist_after(lead),
        &[("Cookie", viewer.as_str())],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let task = list["tasks"]
        .as_array()
        .and_then(|t| t.first())
        .unwrap_or_else(|| panic!("no call for the viewer: {body}"));
    assert!(
        !body.contains("赵磊") && !body.contains("13900002222"),
        "a viewer sees personal data: {body}"
    );
    assert!(
        task["phone"].as_str().is_some_and(|p| p.contains('*')),
        "{task}"
    );

    // Signed out: the page sends to the sign-in, the JSON refuses.
    let (status, headers, _) = http(&addr, "GET", "/worklist", &[], "");
    assert_eq!(
        (status, header(&headers, "location")),
        (303, Some("/login"))
    );
    let (status, _, body) = http(&addr, "GET", "/api/worklist?dealer=D001", &[], "");
    assert_eq!(status, 401, "{body}");
    let (status, _, page) = http(
        &addr,
        "GET",
        "/login",
        &[("Accept-Language", "zh-CN,zh;q=0.9")],
        "",
    );
    assert_eq!(status, 200);
    assert!(page.contains("访问令牌"), "{page}");

    // A wrong token, then the agent's.
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept-Language", "en"),
    ];
    let (status, headers, page) = http(
        &addr,
        "POST",
        "/login",
        &form,
        "token=not-a-real-token-000000",
    );
    assert_eq!(status, 401);
    assert!(page.contains("That token is not valid."), "{page}");
    assert!(header(&headers, "set-cookie").is_none());
    let (status, headers, _) = http(&addr, "POST", "/login", &form, &format!("token={AGENT}"));
    assert_eq!(status, 303);
    let cookie = header(&headers, "set-cookie")
        .expect("a session cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session_cookie = cookie.split(';').next().expect("name=value").to_owned();
    let signed_in = [("Cookie", session_cookie.as_str())];

    let (status, _, body) = http(&addr, "GET", "/api/session", &signed_in, "");
    assert_eq!(status, 200, "{body}");
    let session: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(session["principal"], "王芳");
    assert_eq!(session["dealers"], serde_json::json!(["D001"]));
    let csrf = session["csrf"].as_str().expect("csrf").to_owned();
    let (status, _, page) = http(&addr, "GET", "/worklist", &signed_in, "");
    assert_eq!(status, 200);
    assert!(
        page.contains("回访工作台") || page.contains("Worklist"),
        "{page}"
    );

    // The worklist, from the callback service, read once the lead is in.
    let (status, _, body) = http(&addr, "GET", &worklist_after(lead), &signed_in, "");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let task = list["tasks"]
        .as_array()
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_else(|| panic!("no call on the worklist: {body}"));
    assert_eq!(task["kind"], "TASK_KIND_LEAD_FIRST_CONTACT");
    // Another dealer's worklist, by editing the request: refused by the API.
    let (status, _, body) = http(&addr, "GET", "/api/worklist?dealer=D002", &signed_in, "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("D002"), "{body}");

    // A claim without the page's CSRF token is refused; with it, done.
    let claim = serde_json::json!({ "dealer": { "value": "D001" }, "task_id": task["task_id"] })
        .to_string();
    let json = ("Content-Type", "application/json");
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/tasks/claim",
        &[signed_in[0], json],
        &claim,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("X-CSRF-Token"), "{body}");
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/tasks/claim",
        &[signed_in[0], json, ("X-CSRF-Token", csrf.as_str())],
        &claim,
    );
    assert_eq!(status, 200, "{body}");
    let claimed = position(&body);
    let (_, _, body) = http(&addr, "GET", &worklist_after(claimed), &signed_in, "");
    assert!(
        body.contains("\"claimed_by\":\"王芳\""),
        "the claim is not on the worklist: {body}"
    );

    // One click records an attempt; a body the API cannot read is refused
    // naming the field.
    let bad = serde_json::json!({
        "dealer": { "value": "D001" }, "task_id": task["task_id"], "result": "ATTEMPT_RESULT_MAYBE",
    })
    .to_string();
    let with_csrf = [signed_in[0], json, ("X-CSRF-Token", csrf.as_str())];
    let (status, _, body) = http(&addr, "POST", "/api/tasks/attempt", &with_csrf, &bad);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("result"), "{body}");
    let no_answer = serde_json::json!({
        "dealer": { "value": "D001" }, "task_id": task["task_id"], "result": "ATTEMPT_RESULT_NO_ANSWER",
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/tasks/attempt", &with_csrf, &no_answer);
    assert_eq!(status, 200, "{body}");
    let attempted = position(&body);
    let mut calls =
        aftercare_proto::callback::v1::callback_service_client::CallbackServiceClient::new(
            server.channel().await,
        );
    let got = calls
        .get_task(authorized(
            aftercare_proto::callback::v1::GetTaskRequest {
                dealer: dealer("D001"),
                task_id: task["task_id"].as_str().expect("id").to_owned(),
                consistency: Some(aftercare_proto::common::v1::Consistency {
                    min_position: Some(aftercare_proto::common::v1::Position { value: attempted }),
                }),
            },
            ADMIN,
        ))
        .await
        .expect("the task")
        .into_inner();
    assert_eq!(got.attempts, 1, "the attempt is not on the task: {got:?}");

    // Reached, then an appointment picked from tomorrow's slots: the slot
    // fills and the agent's month shows a reached call with an appointment.
    let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(shanghai.clone())
        .date()
        .tomorrow()
        .expect("tomorrow");
    let day = serde_json::json!({
        "year": tomorrow.year(), "month": tomorrow.month(), "day": tomorrow.day(),
    });
    let slots = |dealer: &str| {
        let body = serde_json::json!({ "dealer": { "value": dealer }, "date": day }).to_string();
        let (status, _, body) = http(&addr, "POST", "/api/appointments/slots", &with_csrf, &body);
        (status, body)
    };
    let (status, body) = slots("D001");
    assert_eq!(status, 200, "{body}");
    let free: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(free["slots"].as_array().map(Vec::len), Some(8), "{body}");
    assert_eq!(free["slots"][2]["bays"], 6, "{body}");
    assert_eq!(free["slots"][2]["taken"].as_u64().unwrap_or(0), 0, "{body}");
    let (status, body) = slots("D002");
    assert_eq!(status, 403, "another dealer's workshop: {body}");
    let reached = no_answer.replace("ATTEMPT_RESULT_NO_ANSWER", "ATTEMPT_RESULT_REACHED");
    let (status, _, body) = http(&addr, "POST", "/api/tasks/attempt", &with_csrf, &reached);
    assert_eq!(status, 200, "{body}");
    let outcome = serde_json::json!({
        "dealer": { "value": "D001" }, "task_id": task["task_id"],
        "satisfaction": "SATISFACTION_SATISFIED",
        "appointment": { "date": day, "slot": 3 },
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/tasks/outcome", &with_csrf, &outcome);
    assert_eq!(status, 200, "{body}");
    let booked: serde_json::Value = serde_json::from_str(&body).expect("json");
    let (_, body) = slots("D001");
    let after: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(after["slots"][2]["taken"], 1, "{body}");
    // A refusal reads in the page's language: the service's own Chinese on a
    // Chinese page, its English message on an English one.
    let past_the_day = outcome.replace("\"slot\":3", "\"slot\":9");
    assert_ne!(past_the_day, outcome);
    for (language, says) in [
        ("zh-CN", "请求有误：appointment.slot"),
        ("en", "a day has slots 1 to 8"),
    ] {
        let headers = [
            signed_in[0],
            json,
            ("X-CSRF-Token", csrf.as_str()),
            ("Accept-Language", language),
        ];
        let (status, _, body) = http(&addr, "POST", "/api/tasks/outcome", &headers, &past_the_day);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(says), "{language}: {body}");
    }
    let due = task["due_at"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .expect("a due time")
        .to_zoned(shanghai);
    let measures = serde_json::json!({
        "dealer": { "value": "D001" },
        "month": { "year": due.year(), "month": due.month() },
        "consistency": { "min_position": booked["position"] },
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/tasks/measures", &with_csrf, &measures);
    assert_eq!(status, 200, "{body}");
    let month: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mine = month["people"]
        .as_array()
        .and_then(|people| people.iter().find(|p| p["person"] == "王芳"))
        .unwrap_or_else(|| panic!("the agent's figures: {body}"));
    assert_eq!(
        (
            &mine["figures"]["appointment_rate"]["numerator"],
            &mine["figures"]["appointment_rate"]["denominator"],
        ),
        (&serde_json::json!("1"), &serde_json::json!("1")),
        "{body}"
    );

    // A made-up session is nobody; signing out ends the real one.
    let forged = [(
        "Cookie",
        "aftercare_session=00000000000000000000000000000000",
    )];
    let (status, _, _) = http(&addr, "GET", "/api/session", &forged, "");
    assert_eq!(status, 401);
    let (status, _, _) = http(&addr, "POST", "/logout", &signed_in, "");
    assert_eq!(status, 303);
    let (status, _, _) = http(&addr, "GET", "/api/session", &signed_in, "");
    assert_eq!(status, 401);
}

const MANAGER: &str = "web-manager-token-0000001";

/// A browser signed in to the console: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Browser {
    /// The headers of a write from the console's own page.
    fn writes(&self) -> [(&str, &str); 3] {
        [
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", self.csrf.as_str()),
        ]
    }
}

/// A session for `token` on the console at `addr`.
fn sign_in(addr: &str, token: &str) -> Browser {
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, headers, _) = http(addr, "POST", "/login", &form, &format!("token={token}"));
    assert_eq!(status, 303);
    let cookie = header(&headers, "set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let (_, _, body) = http(
        addr,
        "GET",
        "/api/session",
        &[("Cookie", cookie.as_str())],
        "",
    );
    let session: serde_json::Value = serde_json::from_str(&body).expect("json");
    Browser {
        cookie,
        csrf: session["csrf"].as_str().expect("csrf").to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_manager_files_acknowledges_and_escalates_on_the_complaint_board() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = console_server(
        dir.path(),
        &[
            token("ops", ADMIN, "admin", "all"),
            token("李经理", MANAGER, "care-manager", "dealer:D001"),
        ],
    );
    let manager = sign_in(&addr, MANAGER);
    let write = manager.writes();
    let signed_in = [write[0]];
    let (status, _, page) = http(
        &addr,
        "GET",
        "/complaints",
        &[signed_in[0], ("Accept-Language", "zh-CN")],
        "",
    );
    assert_eq!(status, 200);
    assert!(page.contains("投诉看板"), "{page}");

    let filed = serde_json::json!({
        "dealer": { "value": "D001" }, "channel": "CHANNEL_WALK_IN",
        "description": "等了三个小时", "client_request_id": "web-1",
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/complaints/file", &write, &filed);
    assert_eq!(status, 200, "{body}");
    let ticket = serde_json::from_str::<serde_json::Value>(&body).expect("json")["ticket_id"]
        .as_str()
        .expect("ticket")
        .to_owned();
    // The board read once it has seen a command's answer: the ticket in
    // the status that command left it in.
    let status_after = |answer: &str, expected: &str| {
        let path = format!("/api/complaints?dealer=D001&after={}", position(answer));
        let (_, _, body) = http(&addr, "GET", &path, &signed_in, "");
        let list: serde_json::Value = serde_json::from_str(&body).expect("json");
        let found = list["tickets"]
            .as_array()
            .and_then(|t| {
                t.iter()
                    .find(|t| t["ticket_id"] == ticket.as_str())
                    .cloned()
            })
            .unwrap_or_else(|| panic!("{ticket} is not on the board: {body}"));
        assert_eq!(found["status"], expected, "{body}");
        found
    };
    let open = status_after(&body, "open");
    assert_eq!(open["description"], "等了三个小时");

    let reference =
        serde_json::json!({ "dealer": { "value": "D001" }, "ticket_id": ticket }).to_string();
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/complaints/acknowledge",
        &write,
        &reference,
    );
    assert_eq!(status, 200, "{body}");
    status_after(&body, "in-progress");
    let escalation = serde_json::json!({
        "dealer": { "value": "D001" }, "ticket_id": ticket, "reason": "客户要求经理处理",
    })
    .to_string();
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/complaints/escalate",
        &write,
        &escalation,
    );
    assert_eq!(status, 200, "{body}");
    let escalated: serde_json::Value = serde_json::from_str(&body).expect("json");
    // The ticket's timeline, read after the escalation, oldest first; and the
    // dealer's early warnings.
    let timeline = serde_json::json!({
        "dealer": { "value": "D001" }, "ticket_id": ticket,
        "consistency": { "min_position": escalated["position"] },
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/complaints/ticket", &write, &timeline);
    assert_eq!(status, 200, "{body}");
    let read: serde_json::Value = serde_json::from_str(&body).expect("json");
    let kinds: Vec<&str> = read["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["filed", "acknowledged", "escalated"], "{body}");
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/complaints/warnings",
        &write,
        r#"{"dealer":{"value":"D001"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    // Another dealer's board, by editing the request: the API's refusal.
    let (status, _, body) = http(&addr, "GET", "/api/complaints?dealer=D002", &signed_in, "");
    assert_eq!(status, 403, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_are_for_administrators() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = console_server(
        dir.path(),
        &[
            token("ops", ADMIN, "admin", "all"),
            token("王芳", AGENT, "callback-agent", "dealer:D001"),
        ],
    );
    let admin_session = sign_in(&addr, ADMIN);
    let admin = admin_session.writes();
    let (status, _, body) = http(&addr, "POST", "/api/operations/status", &admin, "{}");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    let names: Vec<&str> = answer["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"callback_tasks"), "{names:?}");
    let (status, _, body) = http(&addr, "POST", "/api/operations/dead-letters", &admin, "{}");
    assert_eq!(status, 200, "{body}");
    let (status, _, page) = http(
        &addr,
        "GET",
        "/operations",
        &[admin[0], ("Accept-Language", "en")],
        "",
    );
    assert_eq!(status, 200);
    assert!(page.contains("Open dead letters"), "{page}");

    let agent_session = sign_in(&addr, AGENT);
    let agent = agent_session.writes();
    let (status, _, body) = http(&addr, "POST", "/api/operations/dead-letters", &agent, "{}");
    assert_eq!(status, 403, "an agent may not read dead letters: {body}");
    // The agent's navigation holds the pages their roles can use; the others
    // send them to their first page.
    let (_, _, body) = http(&addr, "GET", "/api/session", &agent[..1], "");
    let session: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        session["pages"],
        serde_json::json!(["/worklist", "/club"]),
        "{body}"
    );
    for page in ["/operations", "/churn", "/scorecards", "/complaints"] {
        let (status, headers, _) = http(&addr, "GET", page, &agent[..1], "");
        assert_eq!(
            (status, header(&headers, "location")),
            (303, Some("/worklist")),
            "{page}"
        );
    }
    let (_, _, page) = http(&addr, "GET", "/worklist", &agent[..1], "");
    assert!(!page.contains("href=\"/operations\""), "{page}");
    let (_, _, body) = http(&addr, "GET", "/api/session", &admin[..1], "");
    let session: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(session["pages"].as_array().map(Vec::len), Some(7), "{body}");
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/operations/retry",
        &agent,
        r#"{"runner":"audit"}"#,
    );
    assert_eq!(status, 403, "an agent may not retry: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyers_club_card_and_ledger_read_in_the_console() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, addr) = console_server(
        dir.path(),
        &[
            token("ops", ADMIN, "admin", "all"),
            token("李经理", MANAGER, "care-manager", "dealer:D001"),
        ],
    );
    let mut intake_api = IntakeServiceClient::new(server.channel().await);
    let customer = intake_api
        .register_customer(authorized(
            intake::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: Some(intake::CustomerInput {
                    name: "吴强".into(),
                    phones: vec!["13812340099".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("customer")
        .into_inner()
        .customer_id;
    intake_api
        .record_sale(authorized(
            intake::RecordSaleRequest {
                dealer: dealer("D001"),
                vin: crate::harness::vin(95, 1),
                buyer_customer_id: customer.clone(),
                sales_consultant: "李娜".into(),
                model: "迈锐宝".into(),
                sold_on: Some(aftercare_proto::calendar::to_date(
                    jiff::Zoned::now().date(),
                )),
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("sale");
    let manager_session = sign_in(&addr, MANAGER);
    let manager = manager_session.writes();
    let member =
        serde_json::json!({ "dealer": { "value": "D001" }, "customer_id": customer }).to_string();
    // Every buyer is a member: the card appears once the club has the sale,
    // and counts the vehicle once the sale's vehicle is linked to it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let card = loop {
        let (status, _, body) = http(&addr, "POST", "/api/club/member", &manager, &member);
        if status == 200 {
            let card = serde_json::from_str::<serde_json::Value>(&body).expect("json");
            if card["vehicles"] == 1 {
                break card;
            }
        }
        assert!(Instant::now() < deadline, "no club card: {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(card["card"], "CARD_GREEN", "{card}");
    assert_eq!(card["vehicles"], 1, "{card}");
    let (status, _, body) = http(&addr, "POST", "/api/club/ledger", &manager, &member);
    assert_eq!(status, 200, "{body}");
    let month = jiff::Zoned::now();
    let stats = serde_json::json!({
        "dealer": { "value": "D001" }, "month": { "year": month.year(), "month": month.month() },
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/club/stats", &manager, &stats);
    assert_eq!(status, 200, "{body}");
    let stats: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(crate::harness::int(&stats["members"]), 1, "{stats}");
    let (status, _, page) = http(
        &addr,
        "GET",
        "/club",
        &[manager[0], ("Accept-Language", "zh-CN")],
        "",
    );
    assert_eq!(status, 200);
    assert!(page.contains("车主俱乐部"), "{page}");

    // The customer's file and the vehicle's history, as beside a call.
    let (status, _, body) = http(&addr, "POST", "/api/customers/file", &manager, &member);
    assert_eq!(status, 200, "{body}");
    let file: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(file["customer_id"], customer.as_str());
    let vin = crate::harness::vin(95, 1);
    let history = serde_json::json!({ "dealer": { "value": "D001" }, "vin": vin }).to_string();
    let (status, _, body) = http(&addr, "POST", "/api/vehicles/history", &manager, &history);
    assert_eq!(status, 200, "{body}");
    let history: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(history["vin"], vin.as_str(), "{history}");
    assert_eq!(history["owner_customer_id"], customer.as_str(), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_password_stand_for_a_token_and_guessing_is_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = |password: &str| {
        aftercare_runtime::password::PasswordHash::new(
            password,
            aftercare_runtime::password::MIN_ITERATIONS,
        )
        .expect("a hash")
    };
    let (_server, addr) = console_server(
        dir.path(),
        &[
            token("ops", ADMIN, "admin", "all"),
            format!(
                "{}login = \"wangfang\"\npassword_hash = \"{}\"\n",
                token("王芳", AGENT, "callback-agent", "dealer:D001"),
                hash("wangfang-2026-12")
            ),
            format!(
                "{}login = \"li.jingli\"\npassword_hash = \"{}\"\n",
                token("李经理", MANAGER, "care-manager", "dealer:D001"),
                hash("li-jingli-2026-12")
            ),
        ],
    );
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept-Language", "en"),
    ];
    let attempt = |login: &str, password: &str| {
        http(
            &addr,
            "POST",
            "/login",
            &form,
            &format!("login={login}&password={password}"),
        )
    };
    // The right password: a session as the token's holder.
    let (status, headers, _) = attempt("wangfang", "wangfang-2026-12");
    assert_eq!(status, 303);
    let cookie = header(&headers, "set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let (_, _, body) = http(
        &addr,
        "GET",
        "/api/session",
        &[("Cookie", cookie.as_str())],
        "",
    );
    let session: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(session["principal"], "王芳", "{body}");
    assert_eq!(
        session["roles"],
        serde_json::json!(["callback-agent"]),
        "{body}"
    );

    // A wrong password and an unknown name read the same.
    let (status, headers, page) = attempt("wangfang", "wangfang-2026-13");
    assert_eq!(status, 401);
    assert!(
        page.contains("That login and password do not match."),
        "{page}"
    );
    assert!(header(&headers, "set-cookie").is_none());
    let (status, _, unknown) = attempt("nobody", "wangfang-2026-12");
    assert_eq!(status, 401);
    assert!(
        unknown.contains("That login and password do not match."),
        "{unknown}"
    );

    // Five wrong passwords lock the login, even against the right one; the
    // other login and the token still sign in.
    for _ in 0..4 {
        let (status, _, _) = attempt("wangfang", "guess-guess-guess");
        assert_eq!(status, 401);
    }
    let (status, _, page) = attempt("wangfang", "wangfang-2026-12");
    assert_eq!(status, 429, "{page}");
    assert!(
        page.contains("Too many wrong passwords for wangfang; try again in 15 minutes"),
        "{page}"
    );
    let (status, _, _) = attempt("li.jingli", "li-jingli-2026-12");
    assert_eq!(status, 303);
    // Made-up names are not counted (nothing to lock, nothing to remember).
    for _ in 0..6 {
        let (status, _, _) = attempt("made-up-name", "guess-guess-guess");
        assert_eq!(status, 401);
    }
    let (status, _, _) = http(&addr, "POST", "/login", &form, &format!("token={AGENT}"));
    assert_eq!(status, 303);
}

/// `aftercare hash-password` with `input` on standard input.
fn hash_password(input: &str) -> (bool, String, String) {
    let mut child = std::process::Command::new(crate::harness::BINARY)
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("aftercare");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("the password");
    let out = child.wait_with_output().expect("its answer");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hash_password_prints_a_hash_the_configuration_takes() {
    let (ok, stdout, stderr) = hash_password("a-long-password-2026\n");
    assert!(ok, "{stderr}");
    let hash = aftercare_runtime::password::PasswordHash::parse(stdout.trim()).expect("readable");
    assert!(hash.verify("a-long-password-2026"));
    assert_eq!(hash.iterations(), aftercare_runtime::password::ITERATIONS);
    let (ok, _, stderr) = hash_password("short\n");
    assert!(!ok);
    assert!(
        stderr.contains("password: a password needs at least 10 characters"),
        "{stderr}"
    );
}

/// `aftercare console` started in `dir` with `config` and `env`; killed when
/// dropped.
struct ConsoleProcess {
    child: std::process::Child,
    addr: String,
}

impl ConsoleProcess {
    fn start(dir: &std::path::Path, config: &std::path::Path, env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(crate::harness::BINARY);
        command
            .current_dir(dir)
            .arg("--config")
            .arg(config)
            .args(["console", "--web-listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("aftercare console");
        let stderr = child.stderr.take().expect("stderr");
        let mut said = Vec::new();
        let mut addr = None;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.strip_prefix("aftercare console on http://") {
                addr = Some(rest.trim_end_matches('/').to_owned());
                break;
            }
            said.push(line);
        }
        let Some(addr) = addr else {
            let _ = child.kill();
            panic!("the console did not start:\n{}", said.join("\n"));
        };
        ConsoleProcess { child, addr }
    }
}

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SESSION_KEY: &str = "6a1f0c9e2b7d4e8a9c3b5d7f1e2a4c6b8d0f9e7c5a3b1d2f4e6a8c0b9d7f5e3a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_replicas_apart_from_the_services_share_sealed_sessions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = [
        token("ops", ADMIN, "admin", "all"),
        token("王芳", AGENT, "callback-agent", "dealer:D001"),
    ];
    let (server, _) = console_server(dir.path(), &tokens);
    let lead = oem_lead(&server, ADMIN, "钱进", "13900004444", "OEM-L-CONSOLE").await;

    // Without the services' addresses the console names each one missing.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, tokens.concat()).expect("config");
    let (ok, _, stderr) = crate::harness::cli(
        dir.path(),
        &["--config", bare.to_str().expect("utf-8"), "console"],
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("web.upstreams.intake, web.upstreams.callback, web.upstreams.complaint, web.upstreams.analytics, web.upstreams.loyalty, web.upstreams.system"),
        "{stderr}"
    );

    let config = dir.path().join("console.toml");
    let upstreams: String = [
        "intake",
        "callback",
        "complaint",
        "analytics",
        "loyalty",
        "system",
    ]
    .iter()
    .map(|s| format!("{s} = \"{}\"\n", server.url()))
    .collect();
    std::fs::write(
        &config,
        format!("{}[web.upstreams]\n{upstreams}", tokens.concat()),
    )
    .expect("config");
    let shared = [("AFTERCARE__WEB__SESSION_KEY", SESSION_KEY)];
    let one = ConsoleProcess::start(dir.path(), &config, &shared);
    let two = ConsoleProcess::start(dir.path(), &config, &shared);
    let other_key = ConsoleProcess::start(
        dir.path(),
        &config,
        &[(
            "AFTERCARE__WEB__SESSION_KEY",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
        )],
    );

    // Signed in on one replica: a sealed cookie that lasts the working day.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, headers, _) = http(
        &one.addr,
        "POST",
        "/login",
        &form,
        &format!("token={AGENT}"),
    );
    assert_eq!(status, 303);
    let set = header(&headers, "set-cookie").expect("a cookie").to_owned();
    assert!(
        set.contains("Max-Age=43200") && set.contains("HttpOnly"),
        "{set}"
    );
    assert!(!set.contains(AGENT), "the token is sealed: {set}");
    let cookie = set.split(';').next().expect("name=value").to_owned();
    let signed_in = [("Cookie", cookie.as_str())];

    // The other replica reads the session and asks the callback service.
    let (status, _, body) = http(&two.addr, "GET", "/api/session", &signed_in, "");
    assert_eq!(status, 200, "{body}");
    let session: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(session["principal"], "王芳", "{body}");
    let (status, _, body) = http(
        &two.addr,
        "GET",
        &format!("/api/worklist?dealer=D001&after={lead}"),
        &signed_in,
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("钱"),
        "the lead's call is not on the worklist: {body}"
    );
    // A write with the session's CSRF token, on the replica that did not sign in.
    let csrf = session["csrf"].as_str().expect("csrf");
    let (status, _, body) = http(
        &two.addr,
        "POST",
        "/api/tasks/measures",
        &[
            signed_in[0],
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", csrf),
        ],
        r#"{"dealer":{"value":"D001"},"month":{"year":2026,"month":12}}"#,
    );
    assert_eq!(status, 200, "{body}");

    // A console with another key, or an altered cookie: nobody.
    let (status, _, _) = http(&other_key.addr, "GET", "/api/session", &signed_in, "");
    assert_eq!(status, 401);
    let mut altered = cookie.clone().into_bytes();
    let at = altered.len() - 3;
    altered[at] = if altered[at] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).expect("ascii");
    let (status, _, _) = http(
        &two.addr,
        "GET",
        "/api/session",
        &[("Cookie", altered.as_str())],
        "",
    );
    assert_eq!(status, 401);

    // Signing out ends the session on that replica and the browser forgets it.
    let (status, headers, _) = http(&two.addr, "POST", "/logout", &signed_in, "");
    assert_eq!(status, 303);
    assert!(
        header(&headers, "set-cookie").is_some_and(|c| c.contains("Max-Age=0")),
        "{headers:?}"
    );
    let (status, _, _) = http(&two.addr, "GET", "/api/session", &signed_in, "");
    assert_eq!(status, 401);
    // The probes' endpoint.
    let (status, _, body) = http(&one.addr, "GET", "/healthz", &[], "");
    assert_eq!((status, body.as_str()), (200, "ok"));
}

/// Waits up to `limit` for the server to print a line containing `words`.
fn wait_for_line(server: &crate::harness::Server, words: &str, limit: Duration) -> String {
    aftercare_testkit::wait_until(limit, || {
        server
            .output()
            .lines()
            .find(|l| l.contains(words))
            .map(str::to_owned)
    })
    .unwrap_or_else(|| panic!("no line with {words:?} in:\n{}", server.output()))
}

#[test]
fn make_run_seeds_the_demo_dealer_on_a_fresh_log_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = crate::harness::Server::start_serving(dir.path(), &[], &["--demo"], &[]);
    let seeded = wait_for_line(&server, " seeded:", Duration::from_secs(300));
    assert!(
        seeded.starts_with("demo dealer D001 seeded: 600 customers,")
            && seeded.ends_with(", 3 complaints"),
        "{seeded}"
    );
    // The newcomer signs in with the printed token and finds the demo
    // dealer's calls and complaints.
    let web = crate::harness::web_address(&server);
    let admin = std::fs::read_to_string(dir.path().join("data/admin.token")).expect("the token");
    let newcomer = sign_in(&web, admin.trim());
    let write = newcomer.writes();
    let signed_in = [write[0]];
    // Read once the read models have seen everything the demo wrote: the
    // log's head when it said it was done.
    let (status, _, body) = http(&web, "POST", "/api/operations/status", &write, "{}");
    assert_eq!(status, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("json");
    let head = crate::harness::int(&status["head"]["value"]);
    let read = |what: &str| -> serde_json::Value {
        let (_, _, body) = http(
            &web,
            "GET",
            &format!("/api/{what}?dealer=D001&after={head}"),
            &signed_in,
            "",
        );
        serde_json::from_str(&body).expect("json")
    };
    let calls = read("worklist");
    let tickets = read("complaints");
    let open_calls = calls["tasks"].as_array().map_or(0, Vec::len);
    let filed = tickets["tickets"].as_array().map_or(0, Vec::len);
    assert!(
        open_calls > 0 && filed == 3,
        "{open_calls} calls and {filed} complaints on the console"
    );
    // Started again on the same data: nothing is added.
    drop(server);
    let again = crate::harness::Server::start_serving(dir.path(), &[], &["--demo"], &[]);
    let said = wait_for_line(&again, "demo", Duration::from_secs(60));
    assert!(said.contains("no demo data added"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_on_jetstream_and_postgresql_keeps_odd_text_and_empty_fields() {
    let stack = crate::harness::jetstream_stack(
        &[
            token("ops", ADMIN, "admin", "all"),
            token("王芳", AGENT, "callback-agent", "dealer:D001"),
            token("李经理", MANAGER, "care-manager", "dealer:D001"),
        ]
        .concat(),
    )
    .await;
    let addr = crate::harness::web_address(&stack.server);
    let lead = oem_lead(&stack.server, ADMIN, "周敏", "13900005555", "OEM-L-PG").await;

    // The agent's call, from the PostgreSQL read model, worked to an
    // appointment in a slot the day's picker shows free.
    let agent_session = sign_in(&addr, AGENT);
    let agent = agent_session.writes();
    let (status, _, body) = http(
        &addr,
        "GET",
        &format!("/api/worklist?dealer=D001&after={lead}"),
        &agent[..1],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let task = list["tasks"]
        .as_array()
        .and_then(|t| t.first())
        .and_then(|t| t["task_id"].as_str())
        .unwrap_or_else(|| panic!("no call: {body}"))
        .to_owned();
    let reference = serde_json::json!({ "dealer": { "value": "D001" }, "task_id": task });
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/tasks/claim",
        &agent,
        &reference.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let mut reached = reference.clone();
    reached["result"] = "ATTEMPT_RESULT_REACHED".into();
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/tasks/attempt",
        &agent,
        &reached.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date()
        .tomorrow()
        .expect("tomorrow");
    let date = serde_json::json!({ "year": day.year(), "month": day.month(), "day": day.day() });
    let mut outcome = reference.clone();
    outcome["appointment"] = serde_json::json!({ "date": date, "slot": 8 });
    outcome["note"] = "客户说：\"周六上午\" <b>不要</b> 打电话 🙏".into();
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/tasks/outcome",
        &agent,
        &outcome.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let slots = serde_json::json!({ "dealer": { "value": "D001" }, "date": date }).to_string();
    let (status, _, body) = http(&addr, "POST", "/api/appointments/slots", &agent, &slots);
    assert_eq!(status, 200, "{body}");
    let loads: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(loads["slots"][7]["taken"], 1, "{body}");

    // The manager files a complaint of long, odd text with no customer or
    // VIN; the board and the ticket give it back as it was typed.
    let manager_session = sign_in(&addr, MANAGER);
    let manager = manager_session.writes();
    let odd: String =
        "客户称\"发动机异响\"；'单引号' \\ 反斜杠 <script>alert(1)</script> 🚗\n第二行\t制表符 "
            .repeat(24);
    let filed = serde_json::json!({
        "dealer": { "value": "D001" }, "channel": "CHANNEL_PHONE",
        "description": odd, "client_request_id": "pg-console-1",
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/complaints/file", &manager, &filed);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    let ticket = answer["ticket_id"].as_str().expect("ticket").to_owned();
    let after = answer["position"]["value"]
        .as_str()
        .expect("position")
        .to_owned();
    let (status, _, body) = http(
        &addr,
        "GET",
        &format!("/api/complaints?dealer=D001&after={after}"),
        &manager[..1],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let board: serde_json::Value = serde_json::from_str(&body).expect("json");
    let listed = board["tickets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["ticket_id"] == ticket.as_str()))
        .unwrap_or_else(|| panic!("{ticket} not on the board: {body}"));
    assert_eq!(listed["description"].as_str(), Some(odd.trim()), "{body}");
    assert_eq!(listed["vin"].as_str().unwrap_or_default(), "");
    assert_eq!(listed["customer_id"].as_str().unwrap_or_default(), "");
    let read = serde_json::json!({
        "dealer": { "value": "D001" }, "ticket_id": ticket,
        "consistency": { "min_position": answer["position"] },
    })
    .to_string();
    let (status, _, body) = http(&addr, "POST", "/api/complaints/ticket", &manager, &read);
    assert_eq!(status, 200, "{body}");
    let full: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(full["description"].as_str(), Some(odd.trim()));
    assert_eq!(full["timeline"][0]["kind"], "filed", "{body}");
    // The same filing again (a double click): the same ticket, not a second.
    let (status, _, body) = http(&addr, "POST", "/api/complaints/file", &manager, &filed);
    assert_eq!(status, 200, "{body}");
    let again: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(again["ticket_id"].as_str(), Some(ticket.as_str()), "{body}");
}
