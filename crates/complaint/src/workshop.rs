//! What the early warnings watch, from intake's visit events: repair orders
//! (opened, promised, closed) and the fault codes of closed visits.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_proto::calendar::read_instant as instant;
use aftercare_proto::event_types::intake::{REPAIR_ORDER_OPENED, VISIT_RECORDED};
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::db::{SqlValue, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use prost::Message;
use sqlx::AnyConnection;

pub const NAME: &str = "complaint_workshop";

pub struct Workshop;

fn micros(t: Option<&prost_types::Timestamp>) -> SqlValue {
    t.and_then(instant)
        .map_or(SqlValue::NullInt, |t| SqlValue::Int(t.as_microsecond()))
}

#[async_trait]
impl Projection for Workshop {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::VISIT)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["complaint_repair_orders", "complaint_faults"]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut opened = Vec::new();
        let mut closed = Vec::new();
        let mut faults = Vec::new();
        for event in batch {
            let poison = |e: prost::DecodeError| ApplyError::Poison {
                position: event.position,
                reason: e.to_string(),
            };
            let dealer = SqlValue::Text(event.dealer().to_string());
            match event.data.event_type.as_str() {
                REPAIR_ORDER_OPENED => {
                    let e = intake::RepairOrderOpened::decode(event.data.payload.as_ref())
                        .map_err(poison)?;
                    opened.push(vec![
                        SqlValue::Text(e.visit_id),
                        dealer,
                        SqlValue::Text(e.vehicle_id),
                        SqlValue::Text(e.vin),
                        SqlValue::Text(e.repair_order),
                        micros(e.opened_at.as_ref()),
                        micros(e.promised_at.as_ref()),
                        SqlValue::NullInt,
                    ]);
                }
                VISIT_RECORDED => {
                    let e = intake::VisitRecorded::decode(event.data.payload.as_ref())
                        .map_err(poison)?;
                    let closed_at = micros(e.closed_at.as_ref());
                    let mut codes: Vec<&String> = e
                        .fault_codes
                        .iter()
                        .filter(|c| !c.trim().is_empty())
                        .collect();
                    codes.sort();
                    codes.dedup();
                    for code in codes {
                        faults.push(vec![
                            SqlValue::Text(e.visit_id.clone()),
                            SqlValue::Text(code.trim().to_uppercase()),
                            dealer.clone(),
                            SqlValue::Text(e.vehicle_id.clone()),
                            SqlValue::Text(e.vin.clone()),
                            SqlValue::Text(e.repair_order.clone()),
                            closed_at.clone(),
                        ]);
                    }
                    closed.push(vec![
                        SqlValue::Text(e.visit_id),
                        dealer,
                        SqlValue::Text(e.vehicle_id),
                        SqlValue::Text(e.vin),
                        SqlValue::Text(e.repair_order),
                        micros(e.opened_at.as_ref()),
                        SqlValue::NullInt,
                        closed_at,
                    ]);
                }
                _ => {}
            }
        }
        let columns = [
            "visit_id",
            "dealer",
            "vehicle_id",
            "vin",
            "repair_order",
            "opened_at",
            "promised_at",
            "closed_at",
        ];
        // An opening after the closing (a late message) does not reopen the order.
        insert_rows(
            tx,
            "complaint_repair_orders",
            &columns,
            "ON CONFLICT (visit_id) DO NOTHING",
            &opened,
        )
        .await?;
        insert_rows(
            tx,
            "complaint_repair_orders",
            &columns,
            "ON CONFLICT (visit_id) DO UPDATE SET closed_at = excluded.closed_at",
            &closed,
        )
        .await?;
        insert_rows(
            tx,
            "complaint_faults",
            &[
                "visit_id",
                "code",
                "dealer",
                "vehicle_id",
                "vin",
                "repair_order",
                "closed_at",
            ],
            "ON CONFLICT (visit_id, code) DO NOTHING",
            &faults,
        )
        .await?;
        Ok(())
    }
}
