//! The churn read model: per vehicle its contact history, per dealer the monthly
//! cohort and base counters. A batch loads the histories it touches with a few
//! statements, applies the events in memory, and moves the counters by the
//! difference between what the histories added before and after; every write
//! is a multi-row statement.

mod batch;
mod counter_rows;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::ChurnDealers;
use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::db::{Migrations, SqlMigration};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use crate::contacts::change;
use crate::domain::history::{Counters, MonthContacts, VehicleHistory};
use crate::domain::{Month, Segment};
use batch::Batch;
pub use counter_rows::write_counters;

const CHURN_SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 2_000_001,
        description: "analytics churn",
        sql: include_str!("../migrations/2000001_churn.sql"),
    },
    SqlMigration {
        version: 2_000_002,
        description: "analytics churn status",
        sql: include_str!("../migrations/2000002_churn_status.sql"),
    },
    SqlMigration {
        version: 2_000_003,
        description: "analytics churn replay mark",
        sql: include_str!("../migrations/2000003_replay_mark.sql"),
    },
    SqlMigration {
        version: 2_000_004,
        description: "analytics value contacts",
        sql: include_str!("../migrations/2000004_value.sql"),
    },
    SqlMigration {
        version: 2_000_005,
        description: "analytics complaint vehicle",
        sql: include_str!("../migrations/2000005_complaint_vehicle.sql"),
    },
    SqlMigration {
        version: 2_000_006,
        description: "analytics vehicles by dealer",
        sql: include_str!("../migrations/2000006_vehicles_by_dealer.sql"),
    },
];

/// Analytics owns migration versions 2,000,000–2,999,999.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: CHURN_SQL,
    sqlite: CHURN_SQL,
};

pub const NAME: &str = "analytics_churn";

/// Events per transaction in a rebuild (about 30 MB of events in memory).
const REPLAY_BATCH: usize = 100_000;

/// Vehicle rows read at a time when the counters are counted afresh.
const RECOUNT_PAGE: usize = 10_000;

/// Counters held at most while they are counted afresh (about 150 bytes
/// each): more are added to the stored ones and the count goes on.
pub const RECOUNT_KEYS: usize = 500_000;

/// Whether a rebuild is deferring the counters.
async fn replaying(tx: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let marks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_churn_replaying")
        .fetch_one(&mut *tx)
        .await?;
    Ok(marks > 0)
}

pub struct ChurnCounters {
    pub dealers: Arc<ChurnDealers>,
    /// Counters held at most while they are counted afresh after a rebuild
    /// ([`RECOUNT_KEYS`] in service).
    pub recount_keys: usize,
}

pub fn encode_contacts(months: &BTreeMap<Month, MonthContacts>) -> String {
    let by_index: BTreeMap<i32, &MonthContacts> =
        months.iter().map(|(m, c)| (m.index(), c)).collect();
    serde_json::to_string(&by_index).expect("contacts serialise to JSON")
}

pub fn decode_contacts(text: &str) -> Result<BTreeMap<Month, MonthContacts>, String> {
    let by_index: BTreeMap<i32, MonthContacts> =
        serde_json::from_str(text).map_err(|e| format!("stored contacts: {e}"))?;
    Ok(by_index
        .into_iter()
        .map(|(i, c)| (Month::from_index(i), c))
        .collect())
}

pub const VEHICLE_COLUMNS: &str = "vehicle_id, dealer, vin, model, purchased, owner_customer_id, \
     district, contacts, churn_status, churn_status_month";

/// The announced churn status of a row selected with [`VEHICLE_COLUMNS`].
pub fn announced(row: &sqlx::any::AnyRow) -> Result<Option<(Segment, Month)>, sqlx::Error> {
    let status: String = row.try_get("churn_status")?;
    let month: Option<i64> = row.try_get("churn_status_month")?;
    Ok(Segment::from_code(&status).zip(month.map(|m| Month::from_index(m as i32))))
}

/// Reads a vehicle row selected with [`VEHICLE_COLUMNS`].
pub fn vehicle_history(row: &sqlx::any::AnyRow) -> Result<(String, VehicleHistory), String> {
    let read = || -> Result<(String, VehicleHistory), sqlx::Error> {
        let contacts: String = row.try_get("contacts")?;
        Ok((
            row.try_get("vehicle_id")?,
            VehicleHistory {
                model: row.try_get("model")?,
                purchased: row
                    .try_get::<Option<i64>, _>("purchased")?
                    .map(|i| Month::from_index(i as i32)),
                district: row.try_get("district")?,
                months: decode_contacts(&contacts).map_err(|e| sqlx::Error::Decode(e.into()))?,
            },
        ))
    };
    read().map_err(|e| e.to_string())
}

#[async_trait]
impl Projection for ChurnCounters {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::VISIT)
            .or_aggregate(aftercare_proto::aggregates::VEHICLE)
            .or_aggregate(aftercare_proto::aggregates::CUSTOMER)
            .or_aggregate(crate::status_events::AGGREGATE)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "analytics_churn_cohorts",
            "analytics_churn_base",
            "analytics_vehicles",
            "analytics_customers",
            "analytics_churn_replaying",
        ]
    }

    /// A rebuild rewrites each vehicle once per batch it appears in: large
    /// batches write far fewer rows per event.
    fn replay_batch_size(&self) -> Option<usize> {
        Some(REPLAY_BATCH)
    }

    /// During a rebuild the batches keep only the vehicle histories; the counters
    /// are counted once, from the histories, when the replay ends.
    async fn before_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO analytics_churn_replaying (marker) VALUES (1) ON CONFLICT (marker) DO NOTHING")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// At the end of a rebuild, and when a runner starts after one was
    /// interrupted: the counters from every vehicle history, in the same
    /// transaction that removes the mark. Nothing to do otherwise.
    async fn after_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if !replaying(tx).await? {
            return Ok(());
        }
        aftercare_runtime::db::delete_all(tx, &["analytics_churn_cohorts", "analytics_churn_base"])
            .await?;
        // Dealer by dealer, a page of vehicles at a time: what is held is one
        // dealer's counters, written out (added to what is stored) whenever
        // they reach RECOUNT_KEYS, so memory does not grow with the log.
        let dealers: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT dealer FROM analytics_vehicles ORDER BY dealer")
                .fetch_all(&mut *tx)
                .await?;
        for dealer in dealers {
            let warranty = self.dealers.rules(&dealer).warranty_months;
            let mut counters = Counters::default();
            let mut written = false;
            let mut after = String::new();
            loop {
                let rows = sqlx::query(&format!(
                    "SELECT {VEHICLE_COLUMNS} FROM analytics_vehicles \
                     WHERE dealer = $1 AND vehicle_id > $2 \
                     ORDER BY vehicle_id LIMIT {RECOUNT_PAGE}"
                ))
                .bind(dealer.as_str())
                .bind(after.as_str())
                .fetch_all(&mut *tx)
                .await?;
                let Some(last) = rows.last() else { break };
                after = last.try_get("vehicle_id")?;
                for row in &rows {
                    let (_, history) =
                        vehicle_history(row).map_err(|e| sqlx::Error::Decode(e.into()))?;
                    history.add_to(&mut counters, warranty, 1);
                }
                if counters.len() >= self.recount_keys.max(1) {
                    let full = std::mem::take(&mut counters);
                    write_counters(tx, HashMap::from([(dealer.clone(), full)]), !written).await?;
                    written = true;
                }
            }
            if !counters.is_empty() {
                write_counters(tx, HashMap::from([(dealer.clone(), counters)]), !written).await?;
            }
        }
        aftercare_runtime::db::delete_all(tx, &["analytics_churn_replaying"]).await
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut changes = Vec::new();
        for event in batch {
            let found = change(event, &self.dealers).map_err(|reason| ApplyError::Poison {
                position: event.position,
                reason,
            })?;
            if let Some(c) = found {
                changes.push((event.dealer().as_str().to_owned(), c));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let counting = !replaying(tx).await?;
        let mut state = Batch::load(tx, &changes).await?;
        for (dealer, c) in changes {
            state.apply(&dealer, c);
        }
        state.write(tx, &self.dealers, counting).await?;
        Ok(())
    }
}
