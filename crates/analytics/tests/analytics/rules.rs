//! One rule, one place: the churn report's SQL (which cohort counters count as
//! churned, how the base adds up under rule A and rule B) against the pure
//! functions of `domain::report`, on random histories of several dealers, on
//! SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use aftercare_analytics::domain::Month;
use aftercare_analytics::domain::history::{Counters, Dimension, Rule, VehicleHistory, VisitMark};
use aftercare_analytics::domain::report::{
    BaseCount, ChurnLine, ChurnedCount, churn_lines, churned,
};
use aftercare_analytics::projection::{MIGRATIONS, write_counters};
use aftercare_eventstore::DealerId;
use aftercare_kernel::random::Xorshift;
use aftercare_runtime::projection::RUNTIME_MIGRATIONS;
use aftercare_runtime::{Database, Secret};

const WARRANTY: u32 = 36;

fn start() -> Month {
    Month::new(2022, 1)
}

/// Random vehicles of one dealer: visits by three groups over four years, some
/// sold here.
fn histories(rng: &mut Xorshift, vehicles: usize) -> Vec<VehicleHistory> {
    (0..vehicles)
        .map(|v| {
            let mut h = VehicleHistory {
                model: ["科鲁兹", "Malibu", "GL8"][v % 3].to_owned(),
                purchased: (v % 2 == 0).then(|| Month::new(2021, 6)),
                district: ["浦东新区", "闵行区"][v % 2].to_owned(),
                ..VehicleHistory::default()
            };
            for _ in 0..rng.below(7) {
                let month = start().plus(rng.below(48) as u32);
                let group = ["A组", "B组", "C组"][rng.below(3) as usize];
                h.add_visit(
                    month,
                    VisitMark {
                        closed_at: i64::from(month.index()) * 30 * 86_400_000_000
                            + rng.below(1_000_000) as i64,
                        group: group.to_owned(),
                        advisor: format!("{group}顾问"),
                    },
                );
            }
            if rng.below(3) == 0 {
                h.add_sale(start().plus(rng.below(48) as u32));
            }
            h
        })
        .collect()
}

/// The report the pure rules give from the counters of `dealers`.
fn pure_report(
    counters: &[&Counters],
    rule: Rule,
    month: Month,
    threshold: u32,
    dimension: Dimension,
) -> BTreeMap<String, ChurnLine> {
    let cohort = month.minus(threshold);
    let mut churned_by: BTreeMap<String, i64> = BTreeMap::new();
    let mut base_by: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for c in counters {
        for (k, n) in &c.cohorts {
            if k.rule == rule
                && k.month == cohort
                && k.dimension == dimension
                && churned(k.gap, threshold)
            {
                *churned_by.entry(k.value.clone()).or_default() += n;
            }
        }
        for (k, b) in &c.base {
            if k.month == cohort && k.dimension == dimension {
                let e = base_by.entry(k.value.clone()).or_default();
                e.0 += b.visits;
                e.1 += b.sales;
            }
        }
    }
    let churned: Vec<ChurnedCount> = churned_by
        .into_iter()
        .map(|(value, vehicles)| ChurnedCount { value, vehicles })
        .collect();
    let base: Vec<BaseCount> = base_by
        .into_iter()
        .map(|(value, (visits, sales))| BaseCount {
            value,
            visits,
            sales,
        })
        .collect();
    churn_lines(rule, &churned, &base)
}

async fn the_sql_report_is_the_pure_report(url: String) {
    let db = Database::connect(&Secret::new(url), 2)
        .await
        .expect("database");
    db.migrate(&RUNTIME_MIGRATIONS)
        .await
        .expect("runtime tables");
    db.migrate(&MIGRATIONS).await.expect("analytics tables");
    let mut rng = Xorshift::new(1);
    let dealers = ["D001", "D002", "D003"];
    let mut counters: HashMap<String, Counters> = HashMap::new();
    for dealer in dealers {
        let mut sum = Counters::default();
        for h in histories(&mut rng, 40) {
            sum.add(&h.counters(WARRANTY), 1);
        }
        counters.insert(dealer.to_owned(), sum);
    }
    let mut conn = db.pool.acquire().await.expect("connection");
    write_counters(&mut conn, counters.clone(), true)
        .await
        .expect("counters");
    drop(conn);
    let mut compared = 0;
    let mut nonempty = 0;
    for round in 0..60 {
        let rule = if round % 2 == 0 { Rule::A } else { Rule::B };
        let threshold = 1 + rng.below(23) as u32;
        let month = start().plus(rng.below(60) as u32);
        let dimension = Dimension::ALL[rng.below(Dimension::ALL.len() as u64) as usize];
        let take = 1 + rng.below(dealers.len() as u64) as usize;
        let chosen: Vec<DealerId> = dealers[..take]
            .iter()
            .map(|d| DealerId::parse(*d).expect("dealer"))
            .collect();
        let from_sql =
            aftercare_analytics::queries::churn(&db, &chosen, rule, month, threshold, dimension)
                .await
                .expect("report");
        let theirs: Vec<&Counters> = dealers[..take].iter().map(|d| &counters[*d]).collect();
        let pure = pure_report(&theirs, rule, month, threshold, dimension);
        assert_eq!(
            from_sql, pure,
            "round {round}: rule {rule:?}, {month}, threshold {threshold}, {dimension:?}, {take} dealers"
        );
        compared += 1;
        if pure.values().any(|l| l.churned > 0) {
            nonempty += 1;
        }
    }
    assert_eq!(compared, 60);
    assert!(
        nonempty > 10,
        "only {nonempty} reports had churned vehicles"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_report_is_the_pure_report_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    the_sql_report_is_the_pure_report(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_report_is_the_pure_report_on_postgres() {
    let database = aftercare_testkit::postgres().create_database();
    the_sql_report_is_the_pure_report(database.url.clone()).await;
}
