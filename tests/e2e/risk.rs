//! The churn-risk score end to end: a DMS sends a generated history of 300
//! vehicles over the last 29 months (a third of them stop coming at a month
//! of their own) to the real binary on JetStream + PostgreSQL; the risk model
//! read over gRPC was fitted on the dealer's past months and judged on later
//! ones. Its AUC is printed and must reach 0.7 (a constant scores 0.5); the
//! same history's RFM and ABC count every vehicle once.

use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use aftercare_proto::common::v1::{Consistency, Position};

use crate::harness::{authorized, jetstream_stack, token};

const D001: &str = "d001-manager-token-000001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_risk_model_warns_before_the_threshold() {
    let stack = jetstream_stack(&token("d001", D001, "care-manager", "dealer:D001")).await;
    let client = async_nats::connect(stack.nats.url())
        .await
        .expect("dms connects");
    let zone = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
    let this_month = jiff::Timestamp::now()
        .to_zoned(zone)
        .date()
        .first_of_month();
    let start = this_month
        .checked_sub(jiff::Span::new().months(i64::from(aftercare_testkit::FLEET_MONTHS)))
        .expect("a month");
    let mut last = 0;
    let mut sent = 0;
    for i in 0..300u32 {
        for (n, offset) in aftercare_testkit::fleet_visits(i).into_iter().enumerate() {
            let day = start
                .checked_add(jiff::Span::new().months(i64::from(offset)).days(14))
                .expect("a day");
            let closed = format!("{day}T02:00:00Z");
            let body = serde_json::json!({
                "repair_order": format!("RO-{i}-{n}"), "vin": crate::harness::vin(31, i),
                "opened_at": closed, "closed_at": closed, "mileage_km": 10_000 + 5_000 * n,
                "kind": "maintenance", "labour_fen": 30_000 + 1_000 * (i % 7), "parts_fen": 50_000,
                "service_advisor": "张伟", "advisor_group": "A组",
            });
            last = last.max(crate::harness::dms_send(&client, "D001", "visits", &body).await);
            sent += 1;
        }
    }
    let mut analytics = AnalyticsServiceClient::new(stack.server.channel().await);
    let after = || {
        Some(Consistency {
            min_position: Some(Position { value: last }),
        })
    };
    let report = analytics
        .risk_report(authorized(
            pb::RiskReportRequest {
                dealer: crate::harness::dealer("D001"),
                month: None,
                top: 5,
                consistency: after(),
            },
            D001,
        ))
        .await
        .expect("the model fits on the history")
        .into_inner();
    let auc = report
        .auc
        .expect("churners and stayers in the judged months");
    println!(
        "churn-risk model end to end ({sent} visits): AUC {auc:.3} on {} snapshots, fitted on {}; the top tenth caught {:.0}% of the churners",
        report.evaluated_on,
        report.trained_on,
        report.top_decile_capture.unwrap_or(0.0) * 100.0
    );
    assert!(auc >= 0.7, "AUC {auc}");
    assert_eq!(report.top.len(), 5);
    let fleet: std::collections::BTreeSet<String> =
        (0..300).map(|i| crate::harness::vin(31, i)).collect();
    assert!(
        report.top.iter().all(|v| fleet.contains(&v.vin)),
        "the vehicles by their VIN: {:?}",
        report.top
    );
    assert!(report.top.windows(2).all(|w| w[0].risk >= w[1].risk));

    let value = analytics
        .value_report(authorized(
            pb::ValueReportRequest {
                dealers: vec![],
                as_of: None,
                unit: pb::ValueUnit::Vehicle as i32,
                consistency: after(),
            },
            D001,
        ))
        .await
        .expect("value report")
        .into_inner();
    assert_eq!(value.units, 300);
    assert_eq!(
        value.segments.iter().map(|s| s.units).sum::<i64>(),
        300,
        "every serviced vehicle in one segment"
    );
    assert_eq!(value.classes.iter().map(|c| c.units).sum::<i64>(), 300);
}
