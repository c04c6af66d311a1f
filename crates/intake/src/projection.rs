//! The visits read model: one row per visit, and per vehicle file the number of
//! visits and the last one. Batches are written with multi-row statements.

use std::collections::HashMap;

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::db::{Migrations, SqlMigration, SqlValue, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::events::{self, VISIT_RECORDED};

const VISITS_SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 1_000_001,
        description: "intake visits",
        sql: include_str!("../migrations/1000001_visits.sql"),
    },
    SqlMigration {
        version: 1_000_002,
        description: "intake customers",
        sql: include_str!("../migrations/1000002_customers.sql"),
    },
    SqlMigration {
        version: 1_000_003,
        description: "intake sales",
        sql: include_str!("../migrations/1000003_sales.sql"),
    },
    SqlMigration {
        version: 1_000_004,
        description: "intake leads",
        sql: include_str!("../migrations/1000004_leads.sql"),
    },
    SqlMigration {
        version: 1_000_005,
        description: "intake plates",
        sql: include_str!("../migrations/1000005_plates.sql"),
    },
    SqlMigration {
        version: 1_000_006,
        description: "intake vehicles by owner",
        sql: include_str!("../migrations/1000006_owners.sql"),
    },
    SqlMigration {
        version: 1_000_007,
        description: "intake wrong numbers",
        sql: include_str!("../migrations/1000007_wrong_numbers.sql"),
    },
];

/// Intake owns migration versions 1,000,000–1,999,999.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: VISITS_SQL,
    sqlite: VISITS_SQL,
};

pub struct Visits;

pub const NAME: &str = "intake_visits";

const VISIT_COLUMNS: &[&str] = &[
    "visit_id",
    "dealer",
    "repair_order",
    "vehicle_id",
    "vin",
    "customer_id",
    "opened_at",
    "closed_at",
    "mileage_km",
    "kind",
    "labour_fen",
    "parts_fen",
    "service_advisor",
    "advisor_group",
    "fault_codes",
    "position",
];

#[async_trait]
impl Projection for Visits {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::VISIT)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["intake_visits", "intake_vehicles"]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut rows = Vec::new();
        // Per vehicle file: (dealer, vin, visits in this batch, latest closed_at).
        let mut vehicles: HashMap<String, (String, String, i64, i64)> = HashMap::new();
        for event in batch.iter().filter(|e| e.data.event_type == VISIT_RECORDED) {
            let poison = |reason: String| ApplyError::Poison {
                position: event.position,
                reason,
            };
            let visit = events::decode_visit(&event.data.payload).map_err(poison)?;
            let micros = |t: &Option<prost_types::Timestamp>| {
                t.as_ref()
                    .and_then(events::instant)
                    .map_or(0, |t| t.as_microsecond())
            };
            let closed_at = micros(&visit.closed_at);
            let entry = vehicles
                .entry(visit.vehicle_id.clone())
                .or_insert_with(|| (event.dealer().to_string(), visit.vin.clone(), 0, closed_at));
            entry.2 += 1;
            entry.3 = entry.3.max(closed_at);
            rows.push(vec![
                SqlValue::Text(visit.visit_id.clone()),
                SqlValue::Text(event.dealer().to_string()),
                SqlValue::Text(visit.repair_order.clone()),
                SqlValue::Text(visit.vehicle_id.clone()),
                SqlValue::Text(visit.vin.clone()),
                SqlValue::text_or_null(visit.customer_id.clone()),
                SqlValue::Int(micros(&visit.opened_at)),
                SqlValue::Int(closed_at),
                SqlValue::Int(i64::from(visit.mileage_km)),
                SqlValue::Int(i64::from(visit.kind)),
                SqlValue::Int(visit.labour.map_or(0, |m| m.fen)),
                SqlValue::Int(visit.parts.map_or(0, |m| m.fen)),
                SqlValue::Text(visit.service_advisor.clone()),
                SqlValue::Text(visit.advisor_group.clone()),
                SqlValue::Text(visit.fault_codes.join(",")),
                SqlValue::Int(event.position.0 as i64),
            ]);
        }
        if rows.is_empty() {
            return Ok(());
        }
        insert_rows(
            tx,
            "intake_visits",
            VISIT_COLUMNS,
            "ON CONFLICT (visit_id) DO NOTHING",
            &rows,
        )
        .await?;
        let vehicle_rows: Vec<Vec<SqlValue>> = vehicles
            .into_iter()
            .map(|(id, (dealer, vin, visits, last))| {
                vec![
                    SqlValue::Text(id),
                    SqlValue::Text(dealer),
                    SqlValue::Text(vin),
                    SqlValue::Int(visits),
                    SqlValue::Int(last),
                ]
            })
            .collect();
        insert_rows(
            tx,
            "intake_vehicles",
            &["vehicle_id", "dealer", "vin", "visits", "last_visit_at"],
            "ON CONFLICT (vehicle_id) DO UPDATE SET visits = intake_vehicles.visits + excluded.visits, \
             last_visit_at = CASE WHEN excluded.last_visit_at > intake_vehicles.last_visit_at \
             THEN excluded.last_visit_at ELSE intake_vehicles.last_visit_at END",
            &vehicle_rows,
        )
        .await?;
        Ok(())
    }
}
