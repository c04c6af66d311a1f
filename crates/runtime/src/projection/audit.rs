//! The audit trail: one row per event with who did it and when, so a customer-care
//! manager can answer "who changed this complaint" without reading the raw log.

use aftercare_eventstore::{Filter, RecordedEvent};
use async_trait::async_trait;
use sqlx::AnyConnection;

use super::{ApplyError, Projection};
use crate::db::{SqlValue, insert_rows};

pub struct AuditTrail;

const COLUMNS: &[&str] = &[
    "position",
    "event_id",
    "dealer",
    "aggregate",
    "aggregate_id",
    "event_type",
    "actor",
    "occurred_at",
];

/// The same statements as the migration, to restore the indexes after a rebuild.
const INDEXES: [&str; 2] = [
    "CREATE INDEX IF NOT EXISTS audit_events_by_record ON audit_events (dealer, aggregate, aggregate_id)",
    "CREATE INDEX IF NOT EXISTS audit_events_by_actor ON audit_events (dealer, actor, occurred_at)",
];

#[async_trait]
impl Projection for AuditTrail {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn filter(&self) -> Filter {
        Filter::all()
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_events"]
    }

    async fn before_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        for index in ["audit_events_by_record", "audit_events_by_actor"] {
            sqlx::query(&format!("DROP INDEX IF EXISTS {index}"))
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    async fn after_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        for statement in INDEXES {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let rows: Vec<Vec<SqlValue>> = events
            .iter()
            .map(|e| {
                vec![
                    SqlValue::Int(e.position.0 as i64),
                    SqlValue::Text(e.data.event_id.to_string()),
                    SqlValue::Text(e.dealer().to_string()),
                    SqlValue::Text(e.stream.aggregate().to_owned()),
                    SqlValue::Text(e.stream.id().to_owned()),
                    SqlValue::Text(e.data.event_type.clone()),
                    SqlValue::Text(e.data.metadata.actor.clone()),
                    SqlValue::Int(e.data.occurred_at.as_microsecond()),
                ]
            })
            .collect();
        insert_rows(
            tx,
            "audit_events",
            COLUMNS,
            "ON CONFLICT (position) DO NOTHING",
            &rows,
        )
        .await?;
        Ok(())
    }
}
