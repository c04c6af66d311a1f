//! Reading the churn counters: a report is a handful of indexed lookups per
//! dealer (one cohort month, one breakdown), never a scan of visits.

use std::collections::BTreeMap;

use aftercare_eventstore::DealerId;
use aftercare_runtime::{Database, DealerScope, Principal, ServiceError};
use sqlx::Row;

use crate::domain::Month;
use crate::domain::history::{Dimension, Rule};
use crate::domain::report::{BaseCount, ChurnLine, ChurnedCount, Seen, churn_lines};

/// The dealers a report covers: those asked for (each must be in scope), or
/// every dealer in the caller's scope.
pub async fn dealers(
    db: &Database,
    principal: &Principal,
    asked: &[aftercare_proto::common::v1::DealerId],
) -> Result<Vec<DealerId>, ServiceError> {
    if !asked.is_empty() {
        return asked
            .iter()
            .enumerate()
            .map(|(i, value)| principal.dealer(&format!("dealers[{i}]"), Some(value)))
            .collect();
    }
    Ok(match &principal.scope {
        DealerScope::Dealer(d) => vec![d.clone()],
        DealerScope::Group { dealers, .. } => dealers.iter().cloned().collect(),
        DealerScope::All => {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT dealer FROM analytics_churn_base ORDER BY dealer",
            )
            .fetch_all(&db.pool)
            .await?;
            rows.into_iter()
                .filter_map(|d| DealerId::parse(d).ok())
                .collect()
        }
    })
}

/// `$first, $first+1, …` for `count` values, in an `IN (…)` list.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The churned vehicles per breakdown value: the cohort counters that satisfy
/// [`crate::domain::report::churned`], added up by the database.
async fn churned(
    db: &Database,
    dealers: &[DealerId],
    rule: Rule,
    month: Month,
    threshold: u32,
    dimension: Dimension,
) -> Result<Vec<ChurnedCount>, ServiceError> {
    let sql = format!(
        "SELECT value, CAST(SUM(vehicles) AS BIGINT) AS vehicles FROM analytics_churn_cohorts \
         WHERE rule = $1 AND dimension = $2 AND month = $3 AND (gap = -1 OR gap > $4) \
         AND dealer IN ({}) GROUP BY value",
        placeholders(5, dealers.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(rule.code())
        .bind(dimension.code())
        .bind(i64::from(month.index()))
        .bind(i64::from(threshold));
    for d in dealers {
        query = query.bind(d.as_str());
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(ChurnedCount {
                value: r.try_get("value")?,
                vehicles: r.try_get("vehicles")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

async fn base(
    db: &Database,
    dealers: &[DealerId],
    month: Month,
    dimension: Dimension,
) -> Result<Vec<BaseCount>, ServiceError> {
    let sql = format!(
        "SELECT value, CAST(SUM(visits) AS BIGINT) AS visits, CAST(SUM(sales) AS BIGINT) AS sales FROM analytics_churn_base \
         WHERE dimension = $1 AND month = $2 AND dealer IN ({}) GROUP BY value",
        placeholders(3, dealers.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(dimension.code())
        .bind(i64::from(month.index()));
    for d in dealers {
        query = query.bind(d.as_str());
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(BaseCount {
                value: r.try_get("value")?,
                visits: r.try_get("visits")?,
                sales: r.try_get("sales")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// The churn lines of dealers that share a threshold, added up, for report
/// month `month`: the cohort is the month `threshold` months before.
pub async fn churn(
    db: &Database,
    dealers: &[DealerId],
    rule: Rule,
    month: Month,
    threshold: u32,
    dimension: Dimension,
) -> Result<BTreeMap<String, ChurnLine>, ServiceError> {
    if dealers.is_empty() {
        return Ok(BTreeMap::new());
    }
    let cohort = month.minus(threshold);
    let churned = churned(db, dealers, rule, cohort, threshold, dimension).await?;
    let base = base(db, dealers, cohort, dimension).await?;
    Ok(churn_lines(rule, &churned, &base))
}

/// The total line of dealers that share a threshold.
pub async fn total(
    db: &Database,
    dealers: &[DealerId],
    rule: Rule,
    month: Month,
    threshold: u32,
) -> Result<ChurnLine, ServiceError> {
    Ok(churn(db, dealers, rule, month, threshold, Dimension::All)
        .await?
        .remove("")
        .unwrap_or_default())
}

/// Per dealer, the vehicles whose last visit at the end of `as_of` fell in each
/// month, and those sold and not serviced by then, by breakdown value: the
/// counters that satisfy [`crate::domain::report::still_last`], added up by the
/// database.
pub async fn last_seen(
    db: &Database,
    dealers: &[DealerId],
    as_of: Month,
    dimension: Dimension,
) -> Result<Vec<(String, Seen)>, ServiceError> {
    if dealers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT dealer, rule, month, value, CAST(SUM(vehicles) AS BIGINT) AS vehicles \
         FROM analytics_churn_cohorts \
         WHERE rule IN ('a', 'n') AND dimension = $2 AND month <= $1 \
         AND (gap = -1 OR month + gap > $1) AND dealer IN ({}) \
         GROUP BY dealer, rule, month, value HAVING SUM(vehicles) <> 0",
        placeholders(3, dealers.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(i64::from(as_of.index()))
        .bind(dimension.code());
    for d in dealers {
        query = query.bind(d.as_str());
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("dealer")?,
                Seen {
                    value: r.try_get("value")?,
                    month: Month::from_index(r.try_get::<i64, _>("month")? as i32),
                    never_visited: r.try_get::<String, _>("rule")? != "a",
                    vehicles: r.try_get("vehicles")?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// The calls each callback agent made in `month` by advisor group, as the
/// callback context published them: (agent, group, calls).
pub async fn callback_calls(
    db: &Database,
    dealer: &DealerId,
    month: Month,
) -> Result<Vec<(String, String, u64)>, ServiceError> {
    let rows = sqlx::query(
        "SELECT person, grp, called FROM analytics_callback_groups \
         WHERE dealer = $1 AND month = $2 ORDER BY person, grp",
    )
    .bind(dealer.as_str())
    .bind(i64::from(month.index()))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("person")?,
                r.try_get("grp")?,
                r.try_get::<i64, _>("called")? as u64,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// Callback counts of `month` as published, by name within a scope
/// (`dealer`, `person` or `group`): (due, in window, rated, satisfied,
/// winback called, winback appointments).
pub async fn callback_counts(
    db: &Database,
    dealer: &DealerId,
    month: Month,
    scope: &str,
) -> Result<BTreeMap<String, [u64; 6]>, ServiceError> {
    let rows = sqlx::query(
        "SELECT name, callbacks_due, callbacks_in_window, sales_rated + service_rated AS rated, \
         sales_satisfied + service_satisfied AS satisfied, winback_called, winback_appointments \
         FROM analytics_callback_months WHERE dealer = $1 AND month = $2 AND scope = $3",
    )
    .bind(dealer.as_str())
    .bind(i64::from(month.index()))
    .bind(scope)
    .fetch_all(&db.pool)
    .await?;
    let mut out = BTreeMap::new();
    for r in &rows {
        let n = |c: &str| r.try_get::<i64, _>(c).map(|v| v as u64);
        out.insert(
            r.try_get("name")?,
            [
                n("callbacks_due")?,
                n("callbacks_in_window")?,
                n("rated")?,
                n("satisfied")?,
                n("winback_called")?,
                n("winback_appointments")?,
            ],
        );
    }
    Ok(out)
}

/// A month's complaints over its service visits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComplaintCount {
    pub complaints: u64,
    pub visits: u64,
}

/// The complaints filed at a dealer in a month over the month's service
/// visits: the dealer's, and each advisor group's and advisor's, a complaint
/// charged to whom last served the vehicle before it was filed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthComplaints {
    pub dealer: ComplaintCount,
    pub groups: BTreeMap<String, ComplaintCount>,
    pub advisors: BTreeMap<String, ComplaintCount>,
}

pub async fn complaints(
    db: &Database,
    dealer: &DealerId,
    month: Month,
    zone: &jiff::tz::TimeZone,
) -> Result<MonthComplaints, ServiceError> {
    let (from, to) = month.bounds_at(zone).ok_or_else(|| {
        ServiceError::invalid("month", format!("{month} has no bounds at the dealer"))
    })?;
    let filed = sqlx::query(
        "SELECT c.filed_at, v.contacts FROM analytics_complaints c \
         LEFT JOIN analytics_vehicles v ON v.vehicle_id = c.vehicle_id AND v.dealer = c.dealer \
         WHERE c.dealer = $1 AND c.filed_at >= $2 AND c.filed_at < $3",
    )
    .bind(dealer.as_str())
    .bind(from.as_microsecond())
    .bind(to.as_microsecond())
    .fetch_all(&db.pool)
    .await?;
    let mut histories = Vec::with_capacity(filed.len());
    for row in &filed {
        let at: i64 = row.try_get("filed_at")?;
        let months = match row.try_get::<Option<String>, _>("contacts")? {
            Some(text) => crate::projection::decode_contacts(&text)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            None => BTreeMap::new(),
        };
        histories.push((at, months));
    }
    let charged = crate::domain::scorecard::charge_complaints(
        histories
            .iter()
            .map(|(at, months)| crate::domain::scorecard::served_last(months, *at)),
    );
    let visits = sqlx::query(
        "SELECT dimension, value, CAST(SUM(visits) AS BIGINT) AS visits FROM analytics_churn_base \
         WHERE dealer = $1 AND month = $2 AND dimension IN ($3, $4, $5) \
         GROUP BY dimension, value",
    )
    .bind(dealer.as_str())
    .bind(i64::from(month.index()))
    .bind(Dimension::All.code())
    .bind(Dimension::AdvisorGroup.code())
    .bind(Dimension::Advisor.code())
    .fetch_all(&db.pool)
    .await?;
    let mut out = MonthComplaints {
        dealer: ComplaintCount {
            complaints: filed.len() as u64,
            visits: 0,
        },
        ..MonthComplaints::default()
    };
    for row in &visits {
        let dimension: String = row.try_get("dimension")?;
        let value: String = row.try_get("value")?;
        let n = row.try_get::<i64, _>("visits")?.max(0) as u64;
        match Dimension::from_code(&dimension) {
            Some(Dimension::All) => out.dealer.visits += n,
            Some(Dimension::AdvisorGroup) if !value.is_empty() => {
                out.groups.entry(value).or_default().visits = n;
            }
            Some(Dimension::Advisor) if !value.is_empty() => {
                out.advisors.entry(value).or_default().visits = n;
            }
            _ => {}
        }
    }
    for (group, n) in charged.groups {
        out.groups.entry(group).or_default().complaints = n;
    }
    for (advisor, n) in charged.advisors {
        out.advisors.entry(advisor).or_default().complaints = n;
    }
    Ok(out)
}
