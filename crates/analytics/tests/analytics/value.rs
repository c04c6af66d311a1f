//! RFM segments and ABC classes from intake's events, through the service's
//! handlers, on SQLite and PostgreSQL: a champion, a vehicle at risk, a new
//! owner's first service, a vehicle never serviced; the same by customer.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aftercare_analytics::api::AnalyticsApi;
use aftercare_analytics::config::ChurnDealers;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsService;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::{DealerScope, Principal, Role};

use crate::fixture::{Fixture, d001};

const OFTEN: &str = "LSVAG2186E2100001";
const GONE: &str = "1M8GDM9AXKP042788";
const NEW: &str = "LSVAG2188E2100002";
const NEVER: &str = "LSVAG218XE2100003";

fn manager() -> Principal {
    Principal {
        name: "经理".into(),
        roles: BTreeSet::from([Role::CareManager]),
        scope: DealerScope::Dealer(d001()),
    }
}

fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(Arc::new(manager()));
    request
}

fn as_of() -> Option<common::Date> {
    Some(common::Date {
        year: 2026,
        month: 11,
        day: 30,
    })
}

async fn report(api: &AnalyticsApi, unit: pb::ValueUnit) -> pb::ValueReportResponse {
    api.value_report(request(pb::ValueReportRequest {
        dealers: vec![],
        as_of: as_of(),
        unit: unit as i32,
        consistency: None,
    }))
    .await
    .expect("report")
    .into_inner()
}

fn segments(r: &pb::ValueReportResponse) -> Vec<(String, i64)> {
    r.segments
        .iter()
        .filter(|s| s.units > 0)
        .map(|s| (s.segment.clone(), s.units))
        .collect()
}

fn classes(r: &pb::ValueReportResponse) -> Vec<(String, i64, i64)> {
    r.classes
        .iter()
        .map(|c| {
            (
                c.class.clone(),
                c.units,
                c.contribution.as_ref().map_or(0, |m| m.fen),
            )
        })
        .collect()
}

async fn value_on(url: String) {
    let mut f = Fixture::new(url).await;
    // Sold three years ago, serviced every six months, 3,000 yuan a visit.
    f.sale(OFTEN, "c1", "Lavida", (2023, 12, 1)).await;
    for (i, closed) in [
        "2024-03-05T02:00:00Z",
        "2024-09-05T02:00:00Z",
        "2025-03-05T02:00:00Z",
        "2025-09-05T02:00:00Z",
        "2026-03-05T02:00:00Z",
        "2026-10-25T02:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        f.visit_spending(&format!("RO-O{i}"), OFTEN, "c1", closed, "A组", 300_000)
            .await;
    }
    // Came four times, the last in July 2024.
    f.sale(GONE, "c2", "Cruze", (2022, 12, 1)).await;
    for (i, closed) in [
        "2023-01-10T02:00:00Z",
        "2023-07-10T02:00:00Z",
        "2024-01-10T02:00:00Z",
        "2024-07-10T02:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        f.visit_spending(&format!("RO-G{i}"), GONE, "c2", closed, "B组", 200_000)
            .await;
    }
    // The same owner's new car, its first service in October.
    f.sale(NEW, "c2", "Malibu", (2026, 8, 1)).await;
    f.visit_spending("RO-N0", NEW, "c2", "2026-10-01T02:00:00Z", "A组", 50_000)
        .await;
    // Sold in October, not serviced yet.
    f.sale(NEVER, "c3", "Malibu", (2026, 10, 1)).await;
    f.catch_up().await;
    f.catch_up_value().await;
    // A rebuild of the value read model gives the same rows.
    let rows = |db: aftercare_runtime::Database| async move {
        let rows: Vec<(String, String, String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT contact_id, dealer, vehicle_id, at, visit, labour_fen, parts_fen \
             FROM analytics_value_contacts ORDER BY contact_id",
        )
        .fetch_all(&db.pool)
        .await
        .expect("rows");
        rows
    };
    let live = rows(f.db.clone()).await;
    assert_eq!(live.len(), 4 + 11, "four sales and eleven visits");
    f.value_runner().rebuild().await.expect("rebuild");
    assert_eq!(rows(f.db.clone()).await, live);

    let api = AnalyticsApi {
        db: f.db.clone(),
        store: Some(f.store.clone()),
        churn: None,
        value: None,
        dealers: Arc::new(ChurnDealers::default()),
        read_timeout: Duration::from_secs(5),
    };
    let vehicles = report(&api, pb::ValueUnit::Vehicle).await;
    assert_eq!((vehicles.units, vehicles.never_serviced), (4, 1));
    assert_eq!(
        segments(&vehicles),
        [
            ("champions".to_owned(), 1),
            ("promising".to_owned(), 1),
            ("at-risk".to_owned(), 1)
        ]
    );
    // The last twelve months: 6,000 yuan from OFTEN (A), 500 from NEW (B).
    assert_eq!(
        classes(&vehicles),
        [
            ("A".to_owned(), 1, 600_000),
            ("B".to_owned(), 1, 50_000),
            ("C".to_owned(), 2, 0)
        ]
    );

    // Lifetime value: the survival table from these histories (three customers
    // at age 0, two at age 1 of whom GONE was lost, OFTEN alone at 2, nobody
    // older), times each vehicle's annual margin (60% of labour, 25% of parts).
    let survival: Vec<(u64, u64, Option<f64>)> = vehicles
        .survival
        .iter()
        .take(4)
        .map(|y| (y.customers, y.lost, y.stays))
        .collect();
    assert_eq!(
        survival,
        [
            (3, 0, Some(1.0)),
            (2, 1, Some(0.5)),
            (1, 0, Some(1.0)),
            (0, 0, None)
        ]
    );
    // OFTEN: 7,650 yuan of margin in 1,095 days, one more year expected;
    // NEW: 212.50 yuan in its first year, 1 + 0.5 + 0.5 years expected.
    assert_eq!(
        vehicles.lifetime_value.as_ref().map(|m| m.fen),
        Some(255_175 + 42_500)
    );
    let new = api
        .vehicle_value(request(pb::VehicleValueRequest {
            dealer: Some(common::DealerId {
                value: "D001".into(),
            }),
            vin: NEW.into(),
            as_of: as_of(),
            consistency: None,
        }))
        .await
        .expect("value")
        .into_inner();
    assert_eq!(new.remaining_years, 2.0);
    assert_eq!(new.margin_per_year.as_ref().map(|m| m.fen), Some(21_250));
    assert_eq!(new.lifetime_value.as_ref().map(|m| m.fen), Some(42_500));

    let gone = api
        .vehicle_value(request(pb::VehicleValueRequest {
            dealer: Some(common::DealerId {
                value: "D001".into(),
            }),
            vin: GONE.into(),
            as_of: as_of(),
            consistency: None,
        }))
        .await
        .expect("value")
        .into_inner();
    assert_eq!(gone.segment, "at-risk");
    assert_eq!(gone.abc_class, "C");
    assert_eq!(
        (
            gone.recency_score,
            gone.frequency_score,
            gone.monetary_score
        ),
        (2, 4, 4)
    );
    // 10 July 2024 to 30 November 2026.
    assert_eq!(gone.recency_days, 873);
    let never = api
        .vehicle_value(request(pb::VehicleValueRequest {
            dealer: Some(common::DealerId {
                value: "D001".into(),
            }),
            vin: NEVER.into(),
            as_of: as_of(),
            consistency: None,
        }))
        .await
        .expect("value")
        .into_inner();
    assert_eq!((never.segment.as_str(), never.recency_score), ("", 0));
    assert!(never.last_visit.is_none());
    assert_eq!(
        gone.lifetime_value.as_ref().map(|m| m.fen),
        Some(0),
        "a lost vehicle brings nothing more"
    );

    // By customer: c2's two vehicles are one customer.
    let customers = report(&api, pb::ValueUnit::Customer).await;
    assert_eq!((customers.units, customers.never_serviced), (3, 1));
    assert_eq!(
        customers.lifetime_value.as_ref().map(|m| m.fen),
        Some(255_175 + 42_500),
        "the same value, by owner"
    );
    assert_eq!(
        classes(&customers),
        [
            ("A".to_owned(), 1, 600_000),
            ("B".to_owned(), 1, 50_000),
            ("C".to_owned(), 1, 0)
        ]
    );

    // Nothing was on file before the first sale.
    let early = api
        .value_report(request(pb::ValueReportRequest {
            dealers: vec![],
            as_of: Some(common::Date {
                year: 2022,
                month: 11,
                day: 30,
            }),
            unit: pb::ValueUnit::Vehicle as i32,
            consistency: None,
        }))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(early.units, 0);
    // A day after today is refused, naming the field.
    let future = api
        .value_report(request(pb::ValueReportRequest {
            dealers: vec![],
            as_of: Some(common::Date {
                year: 2099,
                month: 1,
                day: 1,
            }),
            unit: 0,
            consistency: None,
        }))
        .await
        .expect_err("the future");
    assert_eq!(future.code(), tonic::Code::InvalidArgument);
    assert!(future.message().contains("as_of"), "{}", future.message());
}

#[tokio::test]
async fn value_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    value_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn value_on_postgres() {
    value_on(aftercare_testkit::postgres().create_database().url).await;
}
