//! Reading the churn counters: a report is a handful of indexed lookups per
//! dealer (one cohort month, one breakdown), never a scan of visits.

use std::collections::BTreeMap;

use aftercare_eventstore::DealerId;
use aftercare_runtime::{Database, DealerScope, Principal, ServiceError};
use sqlx::Row;

use crate::domain::Month;
use crate::domain::history::{Dimension, Rule};
use crate::domain::report::{BaseCount, ChurnLine, CohortCount, DatedCount, churn_lines};

/// The dealers a report covers: those asked for (each must be in scope), or
/// every dealer in the caller's scope.
pub async fn dealers(
    db: &Database,
    principal: &Principal,
    asked: &[String],
) -> Result<Vec<DealerId>, ServiceError> {
    if !asked.is_empty() {
        let mut dealers = Vec::new();
        for (i, value) in asked.iter().enumerate() {
            let dealer = DealerId::parse(value.as_str())
                .map_err(|e| ServiceError::invalid(format!("dealers[{i}]"), e.to_string()))?;
            principal
                .authorize_dealer(&dealer)
                .map_err(|s| ServiceError::PermissionDenied(s.message().to_owned()))?;
            dealers.push(dealer);
        }
        return Ok(dealers);
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

async fn cohorts(
    db: &Database,
    dealer: &DealerId,
    rule: Rule,
    month: Month,
    dimension: Dimension,
) -> Result<Vec<CohortCount>, ServiceError> {
    let rows = sqlx::query(
        "SELECT value, gap, vehicles FROM analytics_churn_cohorts \
         WHERE dealer = $1 AND rule = $2 AND dimension = $3 AND month = $4",
    )
    .bind(dealer.as_str())
    .bind(rule.code())
    .bind(dimension.code())
    .bind(i64::from(month.index()))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CohortCount {
                value: r.try_get("value")?,
                gap: r.try_get::<i64, _>("gap")? as i32,
                vehicles: r.try_get("vehicles")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

async fn base(
    db: &Database,
    dealer: &DealerId,
    month: Month,
    dimension: Dimension,
) -> Result<Vec<BaseCount>, ServiceError> {
    let rows = sqlx::query(
        "SELECT value, visits, sales FROM analytics_churn_base \
         WHERE dealer = $1 AND dimension = $2 AND month = $3",
    )
    .bind(dealer.as_str())
    .bind(dimension.code())
    .bind(i64::from(month.index()))
    .fetch_all(&db.pool)
    .await?;
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

/// One dealer's churn lines for report month `month`: the cohort is the month
/// `threshold` months before.
pub async fn churn(
    db: &Database,
    dealer: &DealerId,
    rule: Rule,
    month: Month,
    threshold: u32,
    dimension: Dimension,
) -> Result<BTreeMap<String, ChurnLine>, ServiceError> {
    let cohort = month.minus(threshold);
    let cohorts = cohorts(db, dealer, rule, cohort, dimension).await?;
    let base = base(db, dealer, cohort, dimension).await?;
    Ok(churn_lines(rule, threshold, &cohorts, &base))
}

/// One dealer's total line.
pub async fn total(
    db: &Database,
    dealer: &DealerId,
    rule: Rule,
    month: Month,
    threshold: u32,
) -> Result<ChurnLine, ServiceError> {
    Ok(churn(db, dealer, rule, month, threshold, Dimension::All)
        .await?
        .remove("")
        .unwrap_or_default())
}

/// Every cohort counter of one rule up to `until`, undivided, for segment counts.
pub async fn dated(
    db: &Database,
    dealer: &DealerId,
    rule: Rule,
    until: Month,
) -> Result<Vec<DatedCount>, ServiceError> {
    let rows = sqlx::query(
        "SELECT month, gap, vehicles FROM analytics_churn_cohorts \
         WHERE dealer = $1 AND rule = $2 AND dimension = 'all' AND month <= $3",
    )
    .bind(dealer.as_str())
    .bind(rule.code())
    .bind(i64::from(until.index()))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DatedCount {
                month: Month::from_index(r.try_get::<i64, _>("month")? as i32),
                gap: r.try_get::<i64, _>("gap")? as i32,
                vehicles: r.try_get("vehicles")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}
