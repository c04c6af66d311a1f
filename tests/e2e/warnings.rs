//! Early warnings from repair orders and visits sent the way a DMS sends them
//! (JSON on the NATS ingest subjects), and from a reopened complaint: each cause
//! raises one warning, listed over gRPC and published once to the OEM.

use std::collections::BTreeSet;
use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient;
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use prost::Message;

use crate::harness::{authorized, jetstream_stack, token};

const ADMIN: &str = "admin-token-000000000001";

fn vin(serial: u32) -> String {
    crate::harness::vin(22, serial)
}

fn ago(days: i64) -> String {
    (Timestamp::now() - SignedDuration::from_hours(24 * days)).to_string()
}

async fn send(dms: &async_nats::Client, kind: &str, body: serde_json::Value) -> u64 {
    crate::harness::dms_send(dms, "D001", kind, &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_warnings_fire_once_per_cause() {
    let stack = jetstream_stack(&token("admin", ADMIN, "admin", "all")).await;
    let (server, nats) = (&stack.server, &stack.nats);
    let dms = async_nats::connect(nats.url()).await.expect("dms connects");
    let mut outbound = dms
        .subscribe("aftercare.out.D001.warnings")
        .await
        .expect("subscribe");
    dms.flush().await.expect("flush");

    let opened = |ro: &str, vin: String, days: i64, promised: Option<i64>| {
        let mut body = serde_json::json!({
            "repair_order": ro, "vin": vin, "opened_at": ago(days),
            "kind": "repair", "service_advisor": "王芳",
        });
        if let Some(p) = promised {
            body["promised_at"] = (Timestamp::now() + SignedDuration::from_hours(24 * p))
                .to_string()
                .into();
        }
        body
    };
    let mut last = 0;
    // Eight days in the workshop, no promised completion: a stay warning.
    last = last.max(send(&dms, "repair-orders", opened("RO-W1", vin(1), 8, None)).await);
    // Twenty-two days open, with a promise: a long-repair warning only.
    last = last.max(send(&dms, "repair-orders", opened("RO-W2", vin(2), 22, Some(3))).await);
    // Two days: nothing.
    last = last.max(send(&dms, "repair-orders", opened("RO-W3", vin(3), 2, None)).await);
    // The same fault on three visits of one vehicle within the window.
    for (i, days) in [100, 50, 10].into_iter().enumerate() {
        let visit = serde_json::json!({
            "repair_order": format!("RO-F{i}"), "vin": vin(4), "opened_at": ago(days),
            "closed_at": ago(days), "mileage_km": 20000 + i, "kind": "repair",
            "labour_fen": 10000, "parts_fen": 0, "service_advisor": "陈静",
            "advisor_group": "B组", "fault_codes": ["P0420"],
        });
        last = last.max(send(&dms, "visits", visit).await);
    }
    // A grade 3 complaint, resolved and reopened.
    let mut api = ComplaintServiceClient::new(server.channel().await);
    let filed = api
        .file_complaint(authorized(
            pb::FileComplaintRequest {
                dealer: crate::harness::dealer("D001"),
                channel: pb::Channel::WalkIn as i32,
                grade: 3,
                description: "wants compensation for a second repair".into(),
                vin: vin(4),
                ..Default::default()
            },
            ADMIN,
        ))
        .await
        .expect("filed")
        .into_inner();
    api.resolve_complaint(authorized(
        pb::ResolveComplaintRequest {
            dealer: crate::harness::dealer("D001"),
            ticket_id: filed.ticket_id.clone(),
            resolution: "repaired again at no cost".into(),
            compensation: None,
        },
        ADMIN,
    ))
    .await
    .expect("resolved");
    let reopened = api
        .reopen_complaint(authorized(
            pb::ReopenComplaintRequest {
                dealer: crate::harness::dealer("D001"),
                ticket_id: filed.ticket_id.clone(),
                reason: "the fault is back".into(),
            },
            ADMIN,
        ))
        .await
        .expect("reopened")
        .into_inner();
    last = last.max(reopened.position.expect("position").value);

    let sweep = |at: u64| pb::SweepDeadlinesRequest {
        as_of: None,
        consistency: Some(Consistency {
            min_position: Some(Position { value: at }),
        }),
    };
    let first = api
        .sweep_deadlines(authorized(sweep(last), ADMIN))
        .await
        .expect("swept")
        .into_inner();
    // The server's own sweep runs at start and may, on a loaded machine, come upon
    // some of these first: each cause is raised once by whichever sweep gets there.
    assert!(first.warnings <= 4, "{first:?}");
    let at = first.position.expect("position").value;
    let again = api
        .sweep_deadlines(authorized(sweep(at), ADMIN))
        .await
        .expect("swept")
        .into_inner();
    assert_eq!(again.warnings, 0, "each cause once");

    let listed = api
        .list_warnings(authorized(
            pb::ListWarningsRequest {
                dealer: crate::harness::dealer("D001"),
                consistency: Some(Consistency {
                    min_position: Some(Position { value: at }),
                }),
            },
            ADMIN,
        ))
        .await
        .expect("warnings")
        .into_inner();
    assert_eq!(
        listed.warnings.len(),
        4,
        "one warning per cause: {listed:?}"
    );
    let causes: BTreeSet<(i32, String)> = listed
        .warnings
        .iter()
        .map(|w| {
            (
                w.kind,
                if w.repair_order.is_empty() {
                    w.ticket_id.clone()
                } else {
                    w.repair_order.clone()
                },
            )
        })
        .collect();
    let expected: BTreeSet<(i32, String)> = [
        (pb::WarningKind::WorkshopStay as i32, "RO-W1".to_owned()),
        (pb::WarningKind::LongRepair as i32, "RO-W2".to_owned()),
        (pb::WarningKind::RepeatFault as i32, "RO-F2".to_owned()),
        (
            pb::WarningKind::ReopenedComplaint as i32,
            filed.ticket_id.clone(),
        ),
    ]
    .into();
    assert_eq!(causes, expected);

    // The OEM receives each warning once.
    let mut received = BTreeSet::new();
    while received.len() < 4 {
        let message = tokio::time::timeout(Duration::from_secs(30), outbound.next())
            .await
            .expect("a warning within the deadline")
            .expect("subscription open");
        let warning = pb::EarlyWarningRaised::decode(message.payload).expect("warning");
        assert!(
            received.insert(warning.warning_id.clone()),
            "published twice: {warning:?}"
        );
    }
    let ids: BTreeSet<String> = listed
        .warnings
        .iter()
        .map(|w| w.warning_id.clone())
        .collect();
    assert_eq!(received, ids);
}
