//! Hostile and malformed input against the real binary: control characters,
//! oversized fields and lists, out-of-range dates and times, a negative page
//! token. Each is `InvalidArgument` naming the field, never `Unavailable` (which
//! clients retry) or `Internal`; the NATS ingest answers a record too bad to list
//! in full with a capped rejection and keeps it on the dead-letter stream.

use std::time::Duration;

use aftercare_proto::common::v1::{Date, DealerId, PageRequest};
use aftercare_proto::complaint::v1 as complaint;
use aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient;
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Server, authorized, jetstream_stack, token, vin};

/// The fields a refusal names, after checking it is `InvalidArgument`.
fn fields_of<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> Vec<String> {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().len() < 8_000,
        "an answer of {} bytes",
        status.message().len()
    );
    status
        .get_error_details()
        .bad_request()
        .expect("field violations")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

fn d001() -> Option<DealerId> {
    Some(DealerId {
        value: "D001".into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_invalid_arguments_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let admin = std::fs::read_to_string(dir.path().join("data/admin.token"))
        .expect("token")
        .trim()
        .to_owned();
    let mut intake = IntakeServiceClient::new(server.channel().await)
        .max_decoding_message_size(16 << 20)
        .max_encoding_message_size(16 << 20);
    let customer = |name: &str, district: &str| pb::RegisterCustomerRequest {
        dealer: d001(),
        profile: Some(pb::CustomerInput {
            name: name.into(),
            phones: vec!["13812341234".into()],
            district: district.into(),
            ..Default::default()
        }),
        ..Default::default()
    };

    let district = "浦".repeat(350_000); // about 1 MB
    let got = fields_of(
        intake
            .register_customer(authorized(customer("刘洋", &district), &admin))
            .await,
    );
    assert_eq!(got, ["profile.district"]);
    let refused = intake
        .register_customer(authorized(customer("刘\u{0}洋", "浦东"), &admin))
        .await;
    // Refused before any handler runs, and still said in the language of the
    // dealer the request names (D001: Chinese).
    if let Err(status) = &refused {
        let said = status
            .get_error_details()
            .localized_message()
            .map(|m| (m.locale.clone(), m.message.clone()));
        assert_eq!(
            said,
            Some((
                "zh-CN".to_owned(),
                "请求有误：profile.name：第3字节处有控制字符U+0000；只接受可打印文字、制表符和换行"
                    .to_owned()
            ))
        );
    }
    assert_eq!(fields_of(refused), ["profile.name"]);

    // A time past year 9999 is out of range, not missing.
    let order = pb::RepairOrder {
        repair_order: "RO-E-1".into(),
        vin: vin(41, 1),
        opened_at: Some(prost_types::Timestamp {
            seconds: 1_789_000_000,
            nanos: 0,
        }),
        closed_at: Some(prost_types::Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        }),
        fault_codes: (0..5_000).map(|i| format!("P{i:04}\u{7}")).collect(),
        ..Default::default()
    };
    let status = intake
        .record_visit(authorized(
            pb::RecordVisitRequest {
                dealer: d001(),
                repair_order: Some(order),
            },
            &admin,
        ))
        .await
        .expect_err("refused");
    let message = status.message().to_owned();
    let got = fields_of::<()>(Err(status));
    assert_eq!(got.len(), 21, "{got:?}");
    assert_eq!(got[0], "repair_order.closed_at");
    assert!(message.contains("out of range"), "{message}");
    assert!(!message.contains("is required"), "{message}");
    assert!(message.contains("more violations"), "{message}");

    // Month 257 is not January.
    let got = fields_of(
        intake
            .record_sale(authorized(
                pb::RecordSaleRequest {
                    dealer: d001(),
                    vin: vin(41, 2),
                    sold_on: Some(Date {
                        year: 2026,
                        month: 257,
                        day: 1,
                    }),
                    ..Default::default()
                },
                &admin,
            ))
            .await,
    );
    assert_eq!(got, ["sold_on"]);

    let got = fields_of(
        intake
            .list_leads(authorized(
                pb::ListLeadsRequest {
                    dealer: d001(),
                    page: Some(PageRequest {
                        page_size: 10,
                        page_token: "-5".into(),
                    }),
                    ..Default::default()
                },
                &admin,
            ))
            .await,
    );
    assert_eq!(got, ["page.page_token"]);

    let mut complaints =
        ComplaintServiceClient::new(server.channel().await).max_encoding_message_size(16 << 20);
    let got = fields_of(
        complaints
            .file_complaint(authorized(
                complaint::FileComplaintRequest {
                    dealer: crate::harness::dealer("D001"),
                    channel: complaint::Channel::WalkIn as i32,
                    description: "等".repeat(700_000),
                    ..Default::default()
                },
                &admin,
            ))
            .await,
    );
    assert_eq!(got, ["description"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_too_bad_to_list_is_answered_and_kept() {
    let stack = jetstream_stack(&token("admin", "edge-admin-token-00001", "admin", "all")).await;
    let dms = async_nats::connect(stack.nats.url()).await.expect("dms");
    // Close to the 1 MiB NATS limit: tens of thousands of invalid fault codes.
    let codes: Vec<String> = (0..60_000).map(|i| format!("X{i:05}\u{1}")).collect();
    let body = serde_json::json!({
        "repair_order": "RO-E-2", "vin": "NOT-A-VIN", "fault_codes": codes,
    })
    .to_string();
    assert!(body.len() > 900_000, "{}", body.len());
    let inbox = "_INBOX.D001.edge";
    let mut replies = dms.subscribe(inbox).await.expect("subscribe");
    dms.publish_with_reply("aftercare.in.D001.visits", inbox, body.clone().into())
        .await
        .expect("publish");
    let reply = tokio::time::timeout(
        Duration::from_secs(30),
        futures::StreamExt::next(&mut replies),
    )
    .await
    .expect("a reply in time")
    .expect("a reply");
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
    assert_eq!(reply["status"], "STATUS_REJECTED", "{reply}");
    let errors = reply["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 21, "{reply}");
    assert!(
        errors[20]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("more violations"),
        "{reply}"
    );

    let service = async_nats::connect(stack.nats.url())
        .await
        .expect("service");
    let js = async_nats::jetstream::new(service);
    let dlq = js
        .get_stream("AFTERCARE_DLQ")
        .await
        .expect("dead-letter stream");
    let letter = dlq
        .get_last_raw_message_by_subject("aftercare.dlq.D001.visits")
        .await
        .expect("kept as a dead letter");
    let reason = letter
        .headers
        .get("Aftercare-Reason")
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    assert!(reason.contains("truncated"), "{reason}");
    assert!(body.as_bytes().starts_with(&letter.payload));
}
