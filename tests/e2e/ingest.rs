//! A DMS-like NATS publisher against the real binary: valid, repeated, malformed
//! and wrong-dealer repair orders on `aftercare.in.<dealer>.visits`, with NATS
//! permissions that confine the DMS credential to its own dealer.

use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, DealerId, Position};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftercare_testkit::{NatsServer, SyncMode};
use prost::Message;
use tonic::Code;

use crate::harness::{Server, authorized};

const ADMIN: &str = "admin-token-000000000001";

const ACCOUNTS: &str = r#"
accounts {
  AFTERCARE {
    jetstream: enabled
    users: [
      { user: aftercare, password: service-secret }
      { user: dms-D001, password: dms-secret,
        permissions: { publish: { allow: ["aftercare.in.D001.>"] }, subscribe: { allow: ["_INBOX.D001.>"] } } }
    ]
  }
}
"#;

fn config(dir: &std::path::Path, port: u16, database_url: &str) -> std::path::PathBuf {
    let path = dir.join("aftercare.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[store]
backend = "jetstream"
url = "nats://aftercare:service-secret@127.0.0.1:{port}"

[database]
url = "{database_url}"

[[auth.tokens]]
name = "admin"
token = "{ADMIN}"
roles = ["admin"]
scope = "all"
"#
        ),
    )
    .expect("write config");
    path
}

async fn ask(
    dms: &async_nats::Client,
    dealer: &str,
    body: Vec<u8>,
) -> Result<async_nats::Message, async_nats::RequestError> {
    let request = async_nats::Request::new()
        .payload(body.into())
        .timeout(Some(Duration::from_secs(3)));
    dms.send_request(format!("aftercare.in.{dealer}.visits"), request)
        .await
}

fn json_order(ro: &str, closed: &str) -> Vec<u8> {
    serde_json::json!({
        "repair_order": ro, "vin": "LSVAG2186E2100001",
        "opened_at": "2026-09-01T01:00:00Z", "closed_at": closed,
        "mileage_km": 30100, "kind": "repair", "labour_fen": 45000, "parts_fen": 80000,
        "service_advisor": "陈静", "advisor_group": "C组", "fault_codes": ["P0420"]
    })
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dms_publishes_visits_over_nats() {
    let nats =
        tokio::task::spawn_blocking(|| NatsServer::start_with_config(SyncMode::Always, ACCOUNTS))
            .await
            .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = config(dir.path(), nats.port(), &database.url);
    let server = Server::start(
        dir.path(),
        &["--config", path.to_str().expect("utf-8")],
        &[],
    );

    let dms =
        async_nats::ConnectOptions::with_user_and_password("dms-D001".into(), "dms-secret".into())
            .custom_inbox_prefix("_INBOX.D001")
            .connect(nats.url())
            .await
            .expect("dms connects");

    // Valid, in JSON.
    let reply: serde_json::Value = serde_json::from_slice(
        &ask(&dms, "D001", json_order("RO-N-1", "2026-09-01T05:00:00Z"))
            .await
            .expect("reply")
            .payload,
    )
    .expect("json reply");
    assert_eq!(reply["status"], "STATUS_ACCEPTED", "{reply}");
    // The README's example, as printed there.
    let readme = include_str!("../../README.md");
    let example = readme
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows a repair order in JSON");
    let reply: serde_json::Value = serde_json::from_slice(
        &ask(&dms, "D001", example.as_bytes().to_vec())
            .await
            .expect("reply")
            .payload,
    )
    .expect("json reply");
    assert_eq!(reply["status"], "STATUS_ACCEPTED", "{reply}");
    assert!(
        reply["visit_id"].as_str().is_some_and(|v| !v.is_empty()),
        "{reply}"
    );
    // Valid, in protobuf.
    let order = pb::RepairOrder {
        repair_order: "RO-N-2".into(),
        vin: "LSVAG2186E2100001".into(),
        opened_at: Some(prost_types::Timestamp {
            seconds: 1_789_000_000,
            nanos: 0,
        }),
        closed_at: Some(prost_types::Timestamp {
            seconds: 1_789_010_000,
            nanos: 0,
        }),
        mileage_km: 31_000,
        kind: pb::VisitKind::Maintenance as i32,
        service_advisor: "陈静".into(),
        ..Default::default()
    };
    let reply = pb::IngestReply::decode(
        ask(&dms, "D001", order.encode_to_vec())
            .await
            .expect("reply")
            .payload,
    )
    .expect("protobuf reply");
    assert_eq!(reply.status(), pb::ingest_reply::Status::Accepted);
    let last = reply.position.expect("position").value;
    // The same repair order again: already recorded, once.
    let repeat: serde_json::Value = serde_json::from_slice(
        &ask(&dms, "D001", json_order("RO-N-1", "2026-09-01T05:00:00Z"))
            .await
            .expect("reply")
            .payload,
    )
    .expect("json reply");
    assert_eq!(repeat["status"], "STATUS_ALREADY_RECORDED", "{repeat}");
    // Malformed: rejected with the field, and kept on the dead-letter stream.
    let bad = serde_json::json!({ "repair_order": "RO-N-3", "vin": "NOT-A-VIN" })
        .to_string()
        .into_bytes();
    let rejected: serde_json::Value =
        serde_json::from_slice(&ask(&dms, "D001", bad).await.expect("reply").payload)
            .expect("json reply");
    assert_eq!(rejected["status"], "STATUS_REJECTED");
    assert!(
        rejected["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e["field"] == "vin"),
        "{rejected}"
    );
    // The opening of a repair order on its own subject, then its closing.
    let opened = serde_json::json!({ "repair_order": "RO-N-5", "vin": "LSVAG2186E2100001",
        "opened_at": "2026-09-05T01:00:00Z", "promised_at": "2026-09-06T09:00:00Z",
        "kind": "repair", "service_advisor": "陈静" })
    .to_string()
    .into_bytes();
    let request = async_nats::Request::new()
        .payload(opened.into())
        .timeout(Some(Duration::from_secs(3)));
    let reply = dms
        .send_request("aftercare.in.D001.repair-orders", request)
        .await
        .expect("reply");
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json reply");
    assert_eq!(reply["status"], "STATUS_ACCEPTED", "{reply}");
    // Another dealer's subject: refused by NATS, never seen by aftercare.
    assert!(
        ask(&dms, "D002", json_order("RO-N-4", "2026-09-01T05:00:00Z"))
            .await
            .is_err()
    );

    let mut client = IntakeServiceClient::new(server.channel().await);
    let history = client
        .get_vehicle_history(authorized(
            pb::GetVehicleHistoryRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: "LSVAG2186E2100001".into(),
                consistency: Some(Consistency {
                    min_position: Some(Position { value: last }),
                }),
            },
            ADMIN,
        ))
        .await
        .expect("history")
        .into_inner();
    let mut orders: Vec<_> = history
        .visits
        .iter()
        .map(|v| v.repair_order.clone())
        .collect();
    orders.sort();
    assert_eq!(
        orders,
        ["RO-20260901-0042", "RO-N-1", "RO-N-2"],
        "exactly the valid ones, once each"
    );
    let example = history
        .visits
        .iter()
        .find(|v| v.repair_order == "RO-20260901-0042")
        .expect("the README's repair order");
    assert_eq!(example.kind(), pb::VisitKind::Maintenance, "保养");
    assert_eq!(
        (
            example.labour.as_ref().map(|m| m.fen),
            example.parts.as_ref().map(|m| m.fen)
        ),
        (Some(45_000), Some(80_000))
    );
    assert_eq!(example.mileage_km, 30_100);
    assert_eq!(
        example.closed_at.as_ref().map(|t| t.seconds),
        Some(1_788_251_400),
        "16:30 in Shanghai"
    );
    let other = client
        .get_vehicle_history(authorized(
            pb::GetVehicleHistoryRequest {
                dealer: Some(DealerId {
                    value: "D002".into(),
                }),
                vin: "LSVAG2186E2100001".into(),
                consistency: None,
            },
            ADMIN,
        ))
        .await
        .expect_err("nothing at D002");
    assert_eq!(other.code(), Code::NotFound);

    // The rejected message is on the dead-letter stream with its reason.
    let service = async_nats::ConnectOptions::with_user_and_password(
        "aftercare".into(),
        "service-secret".into(),
    )
    .connect(nats.url())
    .await
    .expect("service connects");
    let js = async_nats::jetstream::new(service);
    let dlq = js
        .get_stream("AFTERCARE_DLQ")
        .await
        .expect("dead-letter stream");
    let letter = dlq
        .get_last_raw_message_by_subject("aftercare.dlq.D001.visits")
        .await
        .expect("dead letter");
    let reason = letter
        .headers
        .get("Aftercare-Reason")
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    assert!(reason.contains("vin:"), "{reason}");
    assert!(String::from_utf8_lossy(&letter.payload).contains("NOT-A-VIN"));
}

/// A DMS credential names a reply subject on another dealer's event, outbound and
/// dead-letter subjects, and on another dealer's inbox. Run with the production
/// accounts of deploy/nats: nothing reaches any of them, each request is refused
/// and kept as a dead letter of the sender's dealer naming the reply subject, and
/// the sender's own requests keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_reply_subject_reaches_nothing() {
    let accounts = aftercare_testkit::deploy_nats_accounts_with(&[
        ("AFTERCARE_NATS_PASSWORD", "service-secret"),
        ("AFTERCARE_REPLIES_NATS_PASSWORD", "replies-secret"),
        ("DMS_D001_NATS_PASSWORD", "dms-secret"),
        ("OEM_NATS_PASSWORD", "oem-secret"),
        ("NATS_SYS_PASSWORD", "sys-secret"),
    ]);
    let nats = tokio::task::spawn_blocking(move || {
        NatsServer::start_with_config(SyncMode::Always, &accounts)
    })
    .await
    .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = config(dir.path(), nats.port(), &database.url);
    let mut text = std::fs::read_to_string(&path).expect("config");
    text = text.replace(
        "[database]",
        &format!(
            "reply_url = \"nats://aftercare-replies:replies-secret@127.0.0.1:{}\"\n\n[database]",
            nats.port()
        ),
    );
    std::fs::write(&path, text).expect("config");
    let server = Server::start(
        dir.path(),
        &["--config", path.to_str().expect("utf-8")],
        &[],
    );
    let dms =
        async_nats::ConnectOptions::with_user_and_password("dms-D001".into(), "dms-secret".into())
            .custom_inbox_prefix("_INBOX.D001")
            .connect(nats.url())
            .await
            .expect("dms connects");
    let service = async_nats::ConnectOptions::with_user_and_password(
        "aftercare".into(),
        "service-secret".into(),
    )
    .connect(nats.url())
    .await
    .expect("service connects");
    let js = async_nats::jetstream::new(service);

    // D002's visit for this repair order, and the subjects a forger would aim at.
    let targets = [
        "aftercare.ev.D002.visit.0195d1c4-0000-5000-8000-000000000001".to_owned(),
        "aftercare.out.D002.complaint-feedback".to_owned(),
        "aftercare.dlq.D002.visits".to_owned(),
        "_INBOX.D002.stolen.1".to_owned(),
    ];
    for (i, target) in targets.iter().enumerate() {
        dms.publish_with_reply(
            "aftercare.in.D001.visits",
            target.clone(),
            json_order(&format!("RO-F-{i}"), "2026-09-01T05:00:00Z").into(),
        )
        .await
        .expect("publish");
    }
    dms.flush().await.expect("flush");

    // Each forged request is refused and kept under the sender's dealer.
    let dlq = js
        .get_stream("AFTERCARE_DLQ")
        .await
        .expect("dead-letter stream");
    let consumer = dlq
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            filter_subject: "aftercare.dlq.D001.visits".into(),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut reasons = Vec::new();
    let mut messages = consumer.messages().await.expect("messages");
    while reasons.len() < targets.len() {
        let message = tokio::time::timeout(
            Duration::from_secs(30),
            futures::StreamExt::next(&mut messages),
        )
        .await
        .unwrap_or_else(|_| panic!("only {reasons:?} refused:\n{}", server.output()))
        .expect("a message")
        .expect("a dead letter");
        let reason = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Aftercare-Reason"))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        message.ack().await.expect("ack");
        reasons.push(reason);
    }
    for target in &targets {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("reply:") && r.contains(target.as_str())),
            "{target} not named in {reasons:?}"
        );
    }

    // Nothing landed on another dealer's subjects.
    for (stream, subject) in [
        ("AFTERCARE_EVENTS", "aftercare.ev.D002.>"),
        ("AFTERCARE_OUT", "aftercare.out.D002.>"),
        ("AFTERCARE_DLQ", "aftercare.dlq.D002.>"),
    ] {
        let stream = js.get_stream(stream).await.expect("stream");
        let info = stream.info_with_subjects(subject).await.expect("subjects");
        let mut subjects = Vec::new();
        let mut info = info;
        while let Some(s) = futures::StreamExt::next(&mut info).await {
            subjects.push(s.expect("subject"));
        }
        assert!(subjects.is_empty(), "{subject}: {subjects:?}");
    }
    // Refused requests were not recorded; a proper request still works.
    let reply: serde_json::Value = serde_json::from_slice(
        &ask(&dms, "D001", json_order("RO-F-OK", "2026-09-01T05:00:00Z"))
            .await
            .expect("reply")
            .payload,
    )
    .expect("json reply");
    assert_eq!(reply["status"], "STATUS_ACCEPTED", "{reply}");
}
