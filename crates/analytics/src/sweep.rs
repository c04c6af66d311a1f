//! The churn sweep: the vehicles whose segment has run out by now (their
//! `churn_due` month has come) are observed again, and each change is announced
//! through the status aggregate. The aggregate decides against its own events, so
//! a sweep repeated before the read model caught up, after a restart, or on
//! replay announces nothing twice.

use std::time::Duration;

use crate::config::ChurnDealers;
use aftercare_eventstore::{DealerId, EventStore, Position};
use aftercare_runtime::command::execute;
use aftercare_runtime::{Database, ServiceError};
use jiff::Timestamp;
use jiff::tz::{TimeZone, offset};
use sqlx::Row;

use crate::domain::status::{ChurnStatus, Observation};
use crate::domain::{Month, Thresholds};
use crate::projection::{VEHICLE_COLUMNS, vehicle_history};
use crate::status_events::{StatusCodec, stream};

/// Vehicles read per statement.
const PAGE: i64 = 1000;

/// How often the sweep runs. Segments change at month boundaries, so an hourly
/// pass announces a change within an hour of the new month at the dealer.
pub const INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub examined: usize,
    pub announced: usize,
    /// The position of the last announcement, for read-your-writes.
    pub position: Position,
}

/// One pass over every vehicle due by `now`.
pub async fn sweep(
    store: &dyn EventStore,
    db: &Database,
    dealers: &ChurnDealers,
    now: Timestamp,
) -> Result<Swept, ServiceError> {
    // No dealer's month is later than the month at UTC+14; each row is then
    // checked against its own dealer's calendar.
    let latest = Month::of_instant(now, &TimeZone::fixed(offset(14)));
    let mut swept = Swept::default();
    let mut after = String::new();
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {VEHICLE_COLUMNS}, churn_due FROM analytics_vehicles \
             WHERE churn_due <= $1 AND vehicle_id > $2 ORDER BY vehicle_id LIMIT {PAGE}"
        ))
        .bind(i64::from(latest.index()))
        .bind(after.as_str())
        .fetch_all(&db.pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(swept);
        };
        after = last.try_get("vehicle_id")?;
        for row in &rows {
            let dealer: String = row.try_get("dealer")?;
            let rules = dealers.rules(&dealer);
            let month = Month::of_instant(now, &rules.time_zone);
            let due: i64 = row.try_get("churn_due")?;
            if i64::from(month.index()) < due {
                continue;
            }
            swept.examined += 1;
            let (vehicle_id, history) = vehicle_history(row).map_err(ServiceError::Internal)?;
            let thresholds = Thresholds {
                at_risk: rules.at_risk_months,
                churn: rules.churn_months,
            };
            let Some(status) = history.status(month, now.as_microsecond(), thresholds) else {
                continue;
            };
            let observation = Observation {
                vehicle_id: vehicle_id.clone(),
                vin: row.try_get("vin")?,
                segment: status.segment,
                as_of: month,
                last_visit: status.last_visit,
                months_since_last_visit: status.months_since_last_visit,
            };
            let dealer = DealerId::parse(dealer).map_err(ServiceError::from)?;
            let stream = stream(&dealer, &vehicle_id)?;
            let executed = execute::<ChurnStatus>(store, &stream, &StatusCodec, observation, |e| {
                e.occurred_at(now)
            })
            .await
            .map_err(|e| {
                // A status observation is never refused.
                e.into_service_error(|r| ServiceError::Internal(format!("{r:?}")))
            })?;
            if !executed.events.is_empty() {
                swept.announced += executed.events.len();
                swept.position = swept.position.max(executed.position);
            }
        }
    }
}

/// Runs [`sweep`] now and every [`INTERVAL`] until `stop` turns true.
pub async fn run(
    store: std::sync::Arc<dyn EventStore>,
    db: Database,
    dealers: std::sync::Arc<ChurnDealers>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match sweep(store.as_ref(), &db, &dealers, Timestamp::now()).await {
            Ok(s) if s.announced > 0 => {
                tracing::info!(
                    examined = s.examined,
                    announced = s.announced,
                    "churn sweep"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "churn sweep failed; retried next interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}
