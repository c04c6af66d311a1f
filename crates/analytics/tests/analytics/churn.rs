//! The churn read model on SQLite and PostgreSQL, fed by intake's events the way
//! intake writes them: month ends in the dealer's time zone, late backfill, an
//! owner who moves, and a rebuild that gives the same counters.

use aftercare_analytics::config::ChurnDealers;
use aftercare_analytics::domain::history::{Dimension, Rule};
use aftercare_analytics::domain::report::churn_table;
use aftercare_analytics::domain::{Month, Segment, Thresholds};
use aftercare_analytics::queries;
use aftercare_eventstore::Position;
use aftercare_runtime::Database;
use jiff::Timestamp;

use crate::fixture::{Fixture, d001};

const VIN_1: &str = "LSVAG2186E2100001";
const VIN_2: &str = "1M8GDM9AXKP042788";
const VIN_3: &str = "LSVAG2188E2100002";

/// (value, base, wavering, churned) of each line of the churn table at the
/// end of `as_of`, with the default thresholds.
async fn table(f: &Fixture, as_of: Month, dimension: Dimension) -> Vec<(String, i64, i64, i64)> {
    let seen: Vec<_> = queries::last_seen(&f.db, &[d001()], as_of, dimension)
        .await
        .expect("table")
        .into_iter()
        .map(|(_, seen)| seen)
        .collect();
    churn_table(as_of, Thresholds::default(), &seen)
        .into_values()
        .map(|l| {
            let wavering = l.segments[&Segment::Wavering];
            (l.value.clone(), l.base(), wavering, l.churned())
        })
        .collect()
}

/// (value, churned, base) of a report line set.
async fn lines(
    f: &Fixture,
    rule: Rule,
    month: Month,
    dimension: Dimension,
) -> Vec<(String, i64, i64)> {
    queries::churn(&f.db, &[d001()], rule, month, 12, dimension)
        .await
        .expect("report")
        .into_values()
        .map(|l| (l.value, l.churned, l.base))
        .collect()
}

fn all(churned: i64, base: i64) -> Vec<(String, i64, i64)> {
    vec![(String::new(), churned, base)]
}

async fn churn_read_model_on(url: String) {
    let mut f = Fixture::new(url).await;
    let jan_2026 = Month::new(2026, 1);
    f.customer("c1", "浦东", true).await;
    f.customer("c2", "闵行", true).await;
    // Sold and first serviced in January 2025, at 23:30 on the 31st in Shanghai.
    f.sale(VIN_1, "c1", "Lavida", (2025, 1, 10)).await;
    f.visit("RO-1", VIN_1, "c1", "2025-01-31T15:30:00Z", "A组")
        .await;
    // Back exactly twelve months later: not churned in January 2026.
    f.visit("RO-2", VIN_1, "c1", "2026-01-20T02:00:00Z", "A组")
        .await;
    // Unknown to the dealer until its visit; never back.
    f.visit("RO-3", VIN_2, "c2", "2025-01-05T02:00:00Z", "B组")
        .await;
    // Half past midnight on 1 February in Shanghai: a February visit.
    f.visit("RO-4", VIN_3, "c2", "2025-01-31T16:30:00Z", "B组")
        .await;
    f.catch_up().await;

    assert_eq!(
        lines(&f, Rule::A, jan_2026, Dimension::All).await,
        all(1, 2)
    );
    assert_eq!(
        lines(&f, Rule::B, jan_2026, Dimension::All).await,
        all(1, 3),
        "rule B adds the January sale to the base"
    );
    assert_eq!(
        lines(&f, Rule::A, Month::new(2026, 2), Dimension::All).await,
        all(1, 1)
    );
    assert_eq!(
        lines(&f, Rule::A, jan_2026, Dimension::AdvisorGroup).await,
        vec![("A组".into(), 0, 1), ("B组".into(), 1, 1)]
    );
    assert_eq!(
        lines(&f, Rule::A, jan_2026, Dimension::Region).await,
        vec![("浦东".into(), 0, 1), ("闵行".into(), 1, 1)]
    );
    assert_eq!(
        lines(&f, Rule::A, jan_2026, Dimension::Model).await,
        vec![("".into(), 1, 1), ("Lavida".into(), 0, 1)]
    );
    // The churn table at the end of January 2026: VIN_1 back that month
    // (active), VIN_2 gone twelve months (churned), VIN_3 eleven (wavering).
    assert_eq!(
        table(&f, jan_2026, Dimension::Model).await,
        vec![("".into(), 2, 1, 1), ("Lavida".into(), 1, 0, 0)]
    );
    assert_eq!(
        table(&f, jan_2026, Dimension::AdvisorGroup).await,
        vec![("A组".into(), 1, 0, 0), ("B组".into(), 2, 1, 1)]
    );
    // At the end of December 2024 nothing was on file yet.
    assert_eq!(
        table(&f, Month::new(2024, 12), Dimension::All).await,
        vec![]
    );

    // The owner moves: the vehicle's history goes with them.
    f.customer("c2", "徐汇", false).await;
    // A backfilled visit from June 2025 arrives late: VIN_2 came back after all.
    f.visit("RO-5", VIN_2, "c2", "2025-06-10T02:00:00Z", "B组")
        .await;
    f.catch_up().await;
    assert_eq!(
        lines(&f, Rule::A, jan_2026, Dimension::Region).await,
        vec![("徐汇".into(), 0, 1), ("浦东".into(), 0, 1)]
    );
    assert_eq!(
        lines(&f, Rule::A, jan_2026, Dimension::All).await,
        all(0, 2)
    );
    // June 2025's visit is now the one not followed up by June 2026.
    assert_eq!(
        lines(&f, Rule::A, Month::new(2026, 6), Dimension::All).await,
        all(1, 1)
    );

    let counters = |db: Database| async move {
        let cohorts: Vec<(String, i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT rule, month, dimension, value, gap, vehicles FROM analytics_churn_cohorts \
             WHERE vehicles <> 0 ORDER BY rule, month, dimension, value, gap",
        )
        .fetch_all(&db.pool)
        .await
        .expect("counters");
        let base: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT month, dimension, value, visits, sales FROM analytics_churn_base \
             WHERE visits <> 0 OR sales <> 0 ORDER BY month, dimension, value",
        )
        .fetch_all(&db.pool)
        .await
        .expect("counters");
        (cohorts, base)
    };
    let live = counters(f.db.clone()).await;
    assert!(!live.0.is_empty() && !live.1.is_empty());
    f.runner().rebuild().await.expect("rebuild");
    assert_eq!(
        counters(f.db.clone()).await,
        live,
        "a rebuild gives the same counters"
    );
    // Counted afresh holding a few counters at a time (each lot added to
    // what is stored): the same counters.
    f.runner_recounting(3).rebuild().await.expect("rebuild");
    assert_eq!(
        counters(f.db.clone()).await,
        live,
        "a rebuild in bounded memory gives the same counters"
    );
}

#[tokio::test]
async fn churn_read_model_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    churn_read_model_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn churn_read_model_on_postgres() {
    churn_read_model_on(aftercare_testkit::postgres().create_database().url).await;
}

/// The churn sweep on a test clock: each segment change of a vehicle is announced
/// once, however often the sweep runs, and a rebuild announces nothing again.
#[tokio::test]
async fn the_churn_sweep_announces_each_change_once() {
    use aftercare_analytics::status_events::{VEHICLE_CHURN_STATUS_CHANGED, decode};
    use aftercare_analytics::sweep::sweep;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = Fixture::new(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
    let dealers = ChurnDealers::default();
    let at = |t: &str| t.parse::<Timestamp>().expect("instant");
    f.visit("RO-1", VIN_2, "c2", "2025-01-05T02:00:00Z", "B组")
        .await;
    f.catch_up().await;

    let (store, db) = (f.store.clone(), f.db.clone());
    let run = |now: &'static str| {
        let (store, db, dealers) = (store.clone(), db.clone(), dealers.clone());
        async move {
            sweep(store.as_ref(), &db, &dealers, at(now))
                .await
                .expect("sweep")
        }
    };
    // Five months on it is still active: nothing is due.
    assert_eq!(run("2025-06-15T00:00:00Z").await.examined, 0);
    // Six months: wavering, announced once even when the sweep runs again
    // before the read model has seen the announcement.
    assert_eq!(run("2025-07-10T00:00:00Z").await.announced, 1);
    assert_eq!(run("2025-07-10T00:00:00Z").await.announced, 0);
    let announcements = run("2025-07-11T00:00:00Z").await;
    assert_eq!(announcements.announced, 0);
    f.head = f.store.head().await.expect("head");
    f.catch_up().await;
    assert_eq!(
        run("2025-08-01T00:00:00Z").await.examined,
        0,
        "next due at the churn threshold"
    );
    // Half past midnight on 1 January 2026 in Shanghai: twelve months, churned.
    assert_eq!(run("2025-12-31T16:30:00Z").await.announced, 1);
    f.head = f.store.head().await.expect("head");
    f.catch_up().await;
    // It comes back in February: active again, announced.
    f.visit("RO-2", VIN_2, "c2", "2026-02-10T02:00:00Z", "A组")
        .await;
    f.catch_up().await;
    assert_eq!(run("2026-02-20T00:00:00Z").await.announced, 1);
    f.head = f.store.head().await.expect("head");
    f.catch_up().await;
    // A rebuild replays the announcements: nothing is due, nothing announced again.
    f.runner().rebuild().await.expect("rebuild");
    assert_eq!(run("2026-02-21T00:00:00Z").await.announced, 0);

    let mut changes = Vec::new();
    let head = f.store.head().await.expect("head");
    let mut events = f
        .store
        .subscribe(&aftercare_eventstore::Filter::all(), Position::ZERO)
        .await
        .expect("subscribe");
    while let Some(event) = futures::StreamExt::next(&mut events).await {
        let event = event.expect("event");
        if event.data.event_type == VEHICLE_CHURN_STATUS_CHANGED {
            let e = decode(&event).expect("decodes");
            changes.push((
                e.from,
                e.observation.segment,
                e.observation.as_of,
                e.observation.last_visit.map(|v| v.group),
            ));
        }
        if event.position >= head {
            break;
        }
    }
    use aftercare_analytics::domain::Segment::*;
    assert_eq!(
        changes,
        vec![
            (None, Wavering, Month::new(2025, 7), Some("B组".to_owned())),
            (
                Some(Wavering),
                Churned,
                Month::new(2026, 1),
                Some("B组".to_owned())
            ),
            (
                Some(Churned),
                Active,
                Month::new(2026, 2),
                Some("A组".to_owned())
            ),
        ]
    );
}
