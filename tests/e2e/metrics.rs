//! The Prometheus endpoint of a replica on JetStream and PostgreSQL: what a
//! dashboard needs after a DMS sent repair orders (one refused) and a client
//! called the API, parsed from the text exposition.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aftercare_proto::system::v1 as system;
use aftercare_proto::system::v1::system_service_client::SystemServiceClient;

use crate::harness::{authorized, dms_send, jetstream_stack, token, vin};

/// `GET /metrics` over a plain socket: the body.
fn scrape(addr: &str) -> String {
    let mut socket = std::net::TcpStream::connect(addr).expect("metrics port");
    write!(
        socket,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The value of the sample whose name and labels are exactly these.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            if metric != name {
                return None;
            }
            let mut got: Vec<(String, String)> = rest
                .trim_end_matches('}')
                .split(',')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    Some((k.to_owned(), v.trim_matches('"').to_owned()))
                })
                .collect();
            let mut want: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            got.sort();
            want.sort();
            (got == want).then(|| value.parse().ok()).flatten()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_reports_appends_calls_ingest_runners_and_leases() {
    let admin = "metrics-admin-token-000001";
    let extra = format!(
        "{}[server]\nmetrics_listen = \"127.0.0.1:0\"\n",
        token("ops", admin, "admin", "all")
    );
    let stack = jetstream_stack(&extra).await;
    let output = stack.server.output();
    let addr = output
        .lines()
        .find_map(|l| l.strip_prefix("metrics on http://"))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in:\n{output}"))
        .to_owned();

    let dms = async_nats::connect(stack.nats.url()).await.expect("dms");
    for serial in 0..3 {
        let body = serde_json::json!({
            "repair_order": format!("RO-M{serial}"), "vin": vin(31, serial),
            "opened_at": "2026-11-02T09:00:00+08:00", "closed_at": "2026-11-02T11:00:00+08:00",
            "mileage_km": 12000, "kind": "maintenance", "labour_fen": 30000, "parts_fen": 50000,
            "service_advisor": "王工", "advisor_group": "A",
        });
        dms_send(&dms, "D001", "visits", &body).await;
    }
    // One with a VIN that fails its check digit: refused, naming the field.
    let inbox = "_INBOX.D001.metrics-refused";
    let mut replies = dms.subscribe(inbox).await.expect("subscribe");
    let bad = serde_json::json!({
        "repair_order": "RO-MX", "vin": "LFV2A21K0O0000000",
        "opened_at": "2026-11-02T09:00:00+08:00", "closed_at": "2026-11-02T11:00:00+08:00",
        "kind": "maintenance",
    });
    dms.publish_with_reply("aftercare.in.D001.visits", inbox, bad.to_string().into())
        .await
        .expect("publish");
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(10), replies.next())
        .await
        .expect("an answer")
        .expect("an answer");
    let mut client = SystemServiceClient::new(stack.server.channel().await);
    client
        .who_am_i(authorized(system::WhoAmIRequest {}, admin))
        .await
        .expect("whoami");
    client
        .projection_status(authorized(
            system::ProjectionStatusRequest {},
            "not-a-token-at-all-000",
        ))
        .await
        .expect_err("an unknown token");

    // The runners' gauges are refreshed every few seconds: wait for the lag
    // of the visits read model to show the three orders applied.
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape(&addr);
        let caught_up = sample(
            &text,
            "aftercare_runner_lag_events",
            &[("runner", "intake_visits"), ("kind", "projection")],
        ) == Some(0.0)
            && sample(
                &text,
                "aftercare_runner_position",
                &[("runner", "intake_visits"), ("kind", "projection")],
            )
            .is_some_and(|p| p >= 3.0);
        if caught_up {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the runner gauges never caught up:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let ingest = |status: &str, reason: &str| {
        sample(
            &text,
            "aftercare_ingest_total",
            &[("kind", "visits"), ("status", status), ("reason", reason)],
        )
    };
    assert_eq!(ingest("accepted", ""), Some(3.0), "{text}");
    assert_eq!(ingest("rejected", "vin"), Some(1.0), "{text}");
    assert!(
        sample(&text, "aftercare_appends_total", &[("result", "stored")]).is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "aftercare_append_seconds_count",
            &[("call", "single")]
        )
        .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    let calls = |method: &str, code: &str| {
        sample(
            &text,
            "aftercare_grpc_requests_total",
            &[("method", method), ("code", code)],
        )
    };
    assert_eq!(
        calls("/aftercare.system.v1.SystemService/WhoAmI", "Ok"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        calls(
            "/aftercare.system.v1.SystemService/ProjectionStatus",
            "Unauthenticated"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "aftercare_lease_held",
            &[("runner", "intake_visits")]
        ),
        Some(1.0),
        "the only replica holds the lease: {text}"
    );
    assert!(
        sample(
            &text,
            "aftercare_runner_batch_seconds_count",
            &[("runner", "intake_visits")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("# HELP aftercare_runner_dead_letters"),
        "{text}"
    );

    // Caught up, so ready: the readiness probe's health service serves.
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(stack.server.channel().await);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "aftercare.ready".into(),
            })
            .await
            .expect("the readiness service is known")
            .into_inner()
            .status;
        if status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
