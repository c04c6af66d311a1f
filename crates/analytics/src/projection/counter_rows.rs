//! The counter tables: deltas (or, after a rebuild, whole counts) written as
//! multi-row statements in primary-key order.

use std::collections::HashMap;

use aftercare_runtime::db::{SqlValue, insert_rows};
use sqlx::AnyConnection;

use crate::domain::Month;
use crate::domain::history::{Base, BaseKey, CohortKey, Counters};

/// A cohort counter's primary key, in the table's column order.
fn cohort_order((dealer, k, _): &(String, CohortKey, i64)) -> (&str, &str, &str, Month, &str, i32) {
    (
        dealer,
        k.rule.code(),
        k.dimension.code(),
        k.month,
        &k.value,
        k.gap,
    )
}

/// A base counter's primary key, in the table's column order.
fn base_order((dealer, k, _): &(String, BaseKey, Base)) -> (&str, &str, Month, &str) {
    (dealer, k.dimension.code(), k.month, &k.value)
}

/// Adds the deltas to the stored counters; `fresh`: the tables are empty (a
/// recount), so the rows are plain inserts. Rows go in primary-key order, so the
/// database appends to its index instead of inserting all over it. Counters that
/// reach zero stay as rows: they sum to nothing, and deleting them would cost a
/// statement per key.
pub async fn write_counters(
    tx: &mut AnyConnection,
    deltas: HashMap<String, Counters>,
    fresh: bool,
) -> Result<(), sqlx::Error> {
    let mut cohort_keys = Vec::new();
    let mut base_keys = Vec::new();
    for (dealer, delta) in deltas {
        cohort_keys.extend(
            delta
                .cohorts
                .into_iter()
                .map(|(k, n)| (dealer.clone(), k, n)),
        );
        base_keys.extend(delta.base.into_iter().map(|(k, b)| (dealer.clone(), k, b)));
    }
    cohort_keys.sort_unstable_by(|a, b| cohort_order(a).cmp(&cohort_order(b)));
    base_keys.sort_unstable_by(|a, b| base_order(a).cmp(&base_order(b)));
    let cohorts: Vec<Vec<SqlValue>> = cohort_keys
        .into_iter()
        .map(|(dealer, key, n)| {
            vec![
                SqlValue::Text(dealer),
                SqlValue::Text(key.rule.code().to_owned()),
                SqlValue::Int(i64::from(key.month.index())),
                SqlValue::Text(key.dimension.code().to_owned()),
                SqlValue::Text(key.value),
                SqlValue::Int(i64::from(key.gap)),
                SqlValue::Int(n),
            ]
        })
        .collect();
    let base: Vec<Vec<SqlValue>> = base_keys
        .into_iter()
        .map(|(dealer, key, b)| {
            vec![
                SqlValue::Text(dealer),
                SqlValue::Int(i64::from(key.month.index())),
                SqlValue::Text(key.dimension.code().to_owned()),
                SqlValue::Text(key.value),
                SqlValue::Int(b.visits),
                SqlValue::Int(b.sales),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "analytics_churn_cohorts",
        &[
            "dealer",
            "rule",
            "month",
            "dimension",
            "value",
            "gap",
            "vehicles",
        ],
        if fresh {
            ""
        } else {
            "ON CONFLICT (dealer, rule, dimension, month, value, gap) \
             DO UPDATE SET vehicles = analytics_churn_cohorts.vehicles + excluded.vehicles"
        },
        &cohorts,
    )
    .await?;
    insert_rows(
        tx,
        "analytics_churn_base",
        &["dealer", "month", "dimension", "value", "visits", "sales"],
        if fresh {
            ""
        } else {
            "ON CONFLICT (dealer, dimension, month, value) DO UPDATE SET \
             visits = analytics_churn_base.visits + excluded.visits, \
             sales = analytics_churn_base.sales + excluded.sales"
        },
        &base,
    )
    .await?;
    Ok(())
}
