//! The audit trail: one row per event with who did it and when, so a customer-care
//! manager can answer "who changed this complaint" without reading the raw log.

use aftercare_eventstore::{Filter, RecordedEvent};
use async_trait::async_trait;
use sqlx::AnyConnection;

use super::{ApplyError, Projection};
use crate::db::{SqlValue, insert_rows};

pub struct AuditTrail;

const COLUMNS: &[&str] =
    &["position", "event_id", "dealer", "aggregate", "aggregate_id", "event_type", "actor", "occurred_at"];

#[async_trait]
impl Projection for AuditTrail {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn filter(&self) -> Filter {
        Filter::all()
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM audit_events").execute(&mut *tx).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut AnyConnection, events: &[RecordedEvent]) -> Result<(), ApplyError> {
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
        insert_rows(tx, "audit_events", COLUMNS, "ON CONFLICT (position) DO NOTHING", &rows).await?;
        Ok(())
    }
}
