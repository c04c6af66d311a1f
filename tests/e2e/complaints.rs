//! The OEM call center over gRPC: it files a hotline complaint (grade 4, the
//! general manager, five days), files it again (the same ticket), the deadline
//! passes on the sweep's clock and the ticket is escalated exactly once, each
//! change reaches the outbound feedback subject once, and another dealer's
//! complaints stay out of its sight.

use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient;
use futures::StreamExt;
use prost::Message;
use tonic::Code;

use crate::harness::{authorized, jetstream_stack, token};

const OEM: &str = "oem-call-center-token-0001";
const ADMIN: &str = "admin-token-000000000001";
const D002: &str = "d002-manager-token-000001";

fn hotline(oem_ticket: &str) -> pb::FileComplaintRequest {
    pb::FileComplaintRequest {
        dealer: crate::harness::dealer("D001"),
        channel: pb::Channel::OemHotline as i32,
        oem_ticket: oem_ticket.into(),
        grade: 0,
        // The OEM does not know the dealer's customer files: it names none.
        customer_id: String::new(),
        vin: "LSVAG2186E2100001".into(),
        description: "车辆维修后异响依旧，要求厂家介入".into(),
        product_liability: false,
        receiver: "400热线 李敏".into(),
        client_request_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oem_call_center_files_and_follows_a_hotline_complaint() {
    // The test moves time forward with the sweep's as_of.
    let stack = jetstream_stack(&format!(
        "[server]\nallow_future_sweeps = true\n{}{}{}",
        token("oem", OEM, "oem", "dealer:D001"),
        token("admin", ADMIN, "admin", "all"),
        token("d002", D002, "care-manager", "dealer:D002"),
    ))
    .await;
    let (server, nats) = (&stack.server, &stack.nats);
    let oem_feed = async_nats::connect(nats.url()).await.expect("oem connects");
    let mut feedback = oem_feed
        .subscribe("aftercare.out.D001.complaint-feedback")
        .await
        .expect("subscribe");
    oem_feed.flush().await.expect("flush");
    let mut api = ComplaintServiceClient::new(server.channel().await);

    let filed = api
        .file_complaint(authorized(hotline("OEM-400-2026-0917"), OEM))
        .await
        .expect("filed")
        .into_inner();
    assert!(filed.changed && !filed.already_filed);
    let again = api
        .file_complaint(authorized(hotline("OEM-400-2026-0917"), OEM))
        .await
        .expect("answered")
        .into_inner();
    assert!(
        again.already_filed,
        "the same OEM ticket is the same complaint"
    );
    assert_eq!(again.ticket_id, filed.ticket_id);

    let get = |at: u64| pb::GetComplaintRequest {
        dealer: crate::harness::dealer("D001"),
        ticket_id: filed.ticket_id.clone(),
        consistency: Some(Consistency {
            min_position: Some(Position { value: at }),
        }),
    };
    let ticket = api
        .get_complaint(authorized(
            get(filed.position.expect("position").value),
            OEM,
        ))
        .await
        .expect("ticket")
        .into_inner();
    assert_eq!(
        (ticket.grade, ticket.handler.as_str()),
        (4, "general-manager")
    );
    assert_eq!(ticket.owner, "400热线 李敏");
    let filed_at = ticket.filed_at.expect("filed at");
    let resolve_by = ticket.resolve_by.expect("deadline");
    // Five days, to the end of the fifth day in Shanghai.
    let days = (resolve_by.seconds - filed_at.seconds) as f64 / 86_400.0;
    assert!((5.0..6.0).contains(&days), "{days} days");

    // The deadline passes on the sweep's clock; the sweep runs twice.
    let past = prost_types::Timestamp {
        seconds: resolve_by.seconds + 1,
        nanos: 0,
    };
    let mut escalations = 0;
    let mut last = 0;
    for _ in 0..2 {
        let swept = api
            .sweep_deadlines(authorized(
                pb::SweepDeadlinesRequest {
                    as_of: Some(past),
                    consistency: None,
                },
                ADMIN,
            ))
            .await
            .expect("swept")
            .into_inner();
        escalations += swept.escalated;
        last = last.max(swept.position.map_or(0, |p| p.value));
    }
    assert_eq!(escalations, 1);
    let escalated = api
        .get_complaint(authorized(get(last), OEM))
        .await
        .expect("ticket")
        .into_inner();
    assert_eq!(
        (escalated.grade, escalated.handler.as_str()),
        (5, "general-manager")
    );
    let kinds: Vec<&str> = escalated.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["filed", "escalated"]);
    // Only the admin sweeps.
    let refused = api
        .sweep_deadlines(authorized(
            pb::SweepDeadlinesRequest {
                as_of: None,
                consistency: None,
            },
            OEM,
        ))
        .await
        .expect_err("not an admin");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // The feedback the OEM received: filed, escalated, once each. A later change
    // marks the end, since feedback is published in log order.
    api.acknowledge_complaint(authorized(
        pb::TicketRequest {
            dealer: crate::harness::dealer("D001"),
            ticket_id: filed.ticket_id.clone(),
        },
        ADMIN,
    ))
    .await
    .expect("acknowledged");
    let mut changes = Vec::new();
    while changes.last().map(String::as_str) != Some("acknowledged") {
        let message = tokio::time::timeout(Duration::from_secs(30), feedback.next())
            .await
            .expect("feedback within the deadline")
            .expect("subscription open");
        let form = pb::ComplaintFeedback::decode(message.payload).expect("feedback form");
        assert_eq!(form.oem_ticket, "OEM-400-2026-0917");
        assert_eq!(form.ticket_id, filed.ticket_id);
        changes.push(form.change);
    }
    assert_eq!(changes, ["filed", "escalated", "acknowledged"]);

    // The same changes, streamed over gRPC from the start of the log.
    let mut watch = api
        .watch_complaints(authorized(
            pb::WatchComplaintsRequest {
                dealers: Vec::new(),
                from_position: 0,
            },
            OEM,
        ))
        .await
        .expect("watching")
        .into_inner();
    let mut streamed = Vec::new();
    while streamed.len() < 3 {
        let form = tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .expect("a change within the deadline")
            .expect("stream open")
            .expect("feedback");
        if form.change == "filed" {
            assert_eq!(
                form.detail, "车辆维修后异响依旧，要求厂家介入",
                "opened for the OEM"
            );
        }
        streamed.push((form.change, form.grade));
    }
    assert_eq!(
        streamed,
        [
            ("filed".into(), 4),
            ("escalated".into(), 5),
            ("acknowledged".into(), 5)
        ]
    );

    // The complaint rate of the month the complaint was filed in: one complaint
    // over one service visit the DMS closed in that month.
    let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
    let filed_at = jiff::Timestamp::new(filed_at.seconds, filed_at.nanos).expect("instant");
    let month_start = filed_at
        .to_zoned(shanghai.clone())
        .date()
        .first_of_month()
        .to_zoned(shanghai)
        .expect("zoned")
        .timestamp();
    let closed = std::cmp::max(month_start, filed_at - jiff::SignedDuration::from_secs(60));
    let visit = serde_json::json!({
        "repair_order": "RO-RATE-1", "vin": "LSVAG2186E2100001",
        "opened_at": closed.to_string(), "closed_at": closed.to_string(),
        "mileage_km": 30000, "kind": "repair", "labour_fen": 0, "parts_fen": 0,
        "service_advisor": "王芳", "advisor_group": "A组",
    });
    let visit_position = crate::harness::dms_send(&oem_feed, "D001", "visits", &visit).await;
    let zoned = closed.to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"));
    let rate = api
        .complaint_rate(authorized(
            pb::ComplaintRateRequest {
                dealer: crate::harness::dealer("D001"),
                month: Some(aftercare_proto::common::v1::YearMonth {
                    year: i32::from(zoned.year()),
                    month: zoned.month() as u32,
                }),
                consistency: Some(Consistency {
                    min_position: Some(Position {
                        value: visit_position,
                    }),
                }),
            },
            OEM,
        ))
        .await
        .expect("rate")
        .into_inner();
    assert_eq!((rate.complaints, rate.visits), (1, 1));
    assert!(!rate.met && (rate.target - 0.011).abs() < 1e-12, "{rate:?}");

    // Another dealer's complaints are out of the OEM's scope.
    let other = api
        .file_complaint(authorized(
            pb::FileComplaintRequest {
                dealer: crate::harness::dealer("D002"),
                channel: pb::Channel::WalkIn as i32,
                oem_ticket: String::new(),
                ..hotline("")
            },
            D002,
        ))
        .await
        .expect("filed at D002")
        .into_inner();
    let hidden = api
        .get_complaint(authorized(
            pb::GetComplaintRequest {
                dealer: crate::harness::dealer("D002"),
                ticket_id: other.ticket_id.clone(),
                consistency: None,
            },
            OEM,
        ))
        .await
        .expect_err("another dealer");
    assert_eq!(hidden.code(), Code::PermissionDenied);
    let through_own = api
        .get_complaint(authorized(
            pb::GetComplaintRequest {
                dealer: crate::harness::dealer("D001"),
                ticket_id: other.ticket_id,
                consistency: other.position.map(|p| Consistency {
                    min_position: Some(p),
                }),
            },
            OEM,
        ))
        .await
        .expect_err("not D001's");
    assert_eq!(through_own.code(), Code::NotFound);

    // Past the retention period (three years) the records go: the read model
    // forgets the tickets, and the personal data in the log is unreadable.
    let later = prost_types::Timestamp {
        seconds: filed_at.as_second() + 3 * 366 * 86_400 + 86_400,
        nanos: 0,
    };
    let swept = api
        .sweep_deadlines(authorized(
            pb::SweepDeadlinesRequest {
                as_of: Some(later),
                consistency: None,
            },
            ADMIN,
        ))
        .await
        .expect("swept")
        .into_inner();
    assert_eq!(swept.expired, 2, "{swept:?}");
    let gone = api
        .get_complaint(authorized(get(0), OEM))
        .await
        .expect_err("expired");
    assert_eq!(gone.code(), Code::NotFound);
    let mut watch = api
        .watch_complaints(authorized(
            pb::WatchComplaintsRequest {
                dealers: Vec::new(),
                from_position: 0,
            },
            OEM,
        ))
        .await
        .expect("watching")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("a change within the deadline")
        .expect("stream open")
        .expect("feedback");
    assert_eq!(first.change, "filed");
    assert_eq!(first.detail, aftercare_runtime::privacy::ERASED);
}
