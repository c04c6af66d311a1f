//! The churn-risk score end to end on the read model: a generated two-year
//! history of 300 vehicles, a third of which stop coming at a known month, is
//! recorded as intake records visits; the model is fitted on the dealer's past
//! months and judged on later ones (its AUC is printed and must reach 0.7; a
//! constant scores 0.5), and the daily pass announces each vehicle at the
//! warning level once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aftercare_analytics::api::AnalyticsApi;
use aftercare_analytics::config::ChurnDealers;
use aftercare_analytics::risk_api::announce;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsService;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::{DealerScope, Principal, Role};

use crate::fixture::{Fixture, d001};

/// A valid VIN of the generated fleet.
fn vin(serial: u32) -> String {
    let draft = format!("LSVAG2180E21{serial:05}");
    let digit = aftercare_kernel::vin::check_digit(&draft).expect("computable");
    let mut vin = draft.into_bytes();
    vin[8] = digit as u8;
    String::from_utf8(vin).expect("ascii")
}

fn month_text(offset: u32) -> String {
    let index = 2024 * 12 + 5 + offset;
    format!("{}-{:02}-15T02:00:00Z", index / 12, index % 12 + 1)
}

async fn risk_on(url: String) {
    let mut f = Fixture::new(url).await;
    for i in 0..300 {
        for (n, t) in aftercare_testkit::fleet_visits(i).into_iter().enumerate() {
            f.visit_spending(
                &format!("RO-{i}-{n}"),
                &vin(i),
                &format!("c{i}"),
                &month_text(t),
                "A组",
                80_000 + i64::from(i % 7) * 10_000,
            )
            .await;
        }
    }
    // Every other leaver complained about its last visit, a few days after
    // it (the VIN sealed for the ticket, as the complaint context writes it).
    for i in (0..300).filter(|i| i % 2 == 0 && aftercare_testkit::fleet_leaver(*i)) {
        let last = *aftercare_testkit::fleet_visits(i).last().expect("visited");
        let ticket = format!("t-{i}");
        let filed = aftercare_proto::complaint::v1::ComplaintFiled {
            ticket_id: ticket.clone(),
            grade: 1,
            vin: f
                .vault
                .seal(&aftercare_proto::sealed::complaint(&ticket), &vin(i))
                .await
                .expect("sealed"),
            filed_at: Some(aftercare_proto::calendar::timestamp(
                month_text(last)
                    .replace("-15T", "-20T")
                    .parse()
                    .expect("instant"),
            )),
            ..Default::default()
        };
        f.append(
            "complaint",
            &ticket,
            aftercare_proto::event_types::complaint::COMPLAINT_FILED,
            prost::Message::encode_to_vec(&filed),
        )
        .await;
    }
    f.catch_up().await;
    f.catch_up_value().await;

    // This dealer warns from a 20% chance of churning within six months.
    let config = aftercare_runtime::config::DealersConfig::from_toml(
        "[dealers.default.risk]\nlevel_percent = 20\n",
    )
    .expect("dealers");
    let mut errors = Vec::new();
    let dealers: Arc<ChurnDealers> = Arc::new(config.section(&mut errors));
    assert!(errors.is_empty(), "{errors:?}");
    let api = AnalyticsApi {
        db: f.db.clone(),
        store: Some(f.store.clone()),
        churn: None,
        value: None,
        dealers: dealers.clone(),
        read_timeout: Duration::from_secs(5),
    };
    let mut request = tonic::Request::new(pb::RiskReportRequest {
        dealer: Some(common::DealerId {
            value: "D001".into(),
        }),
        month: Some(common::YearMonth {
            year: 2026,
            month: 11,
        }),
        top: 10,
        consistency: None,
    });
    request.extensions_mut().insert(Arc::new(Principal {
        name: "经理".into(),
        roles: BTreeSet::from([Role::CareManager]),
        scope: DealerScope::Dealer(d001()),
    }));
    let report = api.risk_report(request).await.expect("report").into_inner();
    let auc = report
        .auc
        .expect("churners and stayers in the judged months");
    let month = |m: Option<common::YearMonth>| {
        m.map(|m| format!("{}-{:02}", m.year, m.month))
            .unwrap_or_default()
    };
    println!(
        "churn-risk model: AUC {auc:.3} on {} snapshots of {}..{}, fitted on {} of {}..{}; \
         the top tenth caught {:.0}% of the churners",
        report.evaluated_on,
        month(report.test_from),
        month(report.test_to),
        report.trained_on,
        month(report.train_from),
        month(report.train_to),
        report.top_decile_capture.unwrap_or(0.0) * 100.0
    );
    assert!(auc >= 0.7, "AUC {auc}");
    assert_eq!(report.features.len(), 7);
    let complained = report
        .features
        .iter()
        .find(|w| w.name.starts_with("complaints"))
        .expect("the complaints feature");
    assert!(
        complained.weight > 0.0,
        "a complaint before leaving raises the risk: {complained:?}"
    );
    assert_eq!(report.top.len(), 10);
    assert!(report.top.windows(2).all(|w| w[0].risk >= w[1].risk));
    assert_eq!((report.ahead_months, report.level), (6, 0.2));

    // The daily pass at the end of November 2026: every vehicle at the level
    // is announced, once.
    let now: jiff::Timestamp = "2026-11-28T04:00:00Z".parse().expect("instant");
    let first = announce(f.store.as_ref(), &f.db, &dealers, &d001(), now)
        .await
        .expect("announced");
    assert_eq!(first.raised as u64, report.at_level, "{first:?}");
    assert!(first.raised > 0);
    f.head = f.head.max(first.position);
    f.catch_up_value().await;
    let again = announce(f.store.as_ref(), &f.db, &dealers, &d001(), now)
        .await
        .expect("announced");
    assert_eq!((again.raised, again.cleared), (0, 0), "nothing twice");
    let raised: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM analytics_risk_alerts WHERE raised = 1")
            .fetch_one(&f.db.pool)
            .await
            .expect("alerts");
    assert_eq!(raised as usize, first.raised);

    // The vehicle most at risk comes back: its warning is cleared, once.
    let back = &report.top[0];
    f.visit_spending(
        "RO-back",
        &back.vin,
        "c-back",
        "2026-10-31T02:00:00Z",
        "A组",
        90_000,
    )
    .await;
    f.catch_up().await;
    f.catch_up_value().await;
    let cleared = announce(f.store.as_ref(), &f.db, &dealers, &d001(), now)
        .await
        .expect("announced");
    assert_eq!((cleared.raised, cleared.cleared), (0, 1), "{cleared:?}");
    f.head = f.head.max(cleared.position);
    f.catch_up_value().await;
    let raised_now: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM analytics_risk_alerts WHERE raised = 1")
            .fetch_one(&f.db.pool)
            .await
            .expect("alerts");
    assert_eq!(raised_now as usize, first.raised - 1);
}

#[tokio::test]
async fn risk_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    risk_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn risk_on_postgres() {
    risk_on(aftercare_testkit::postgres().create_database().url).await;
}
