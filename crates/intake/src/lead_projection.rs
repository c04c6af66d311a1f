//! The leads read model: status, deadlines and outcome per lead.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::EventCodec;
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::domain::lead::LeadEvent;
use crate::lead_events::{LeadCodec, source_to};

pub struct Leads;

pub const NAME: &str = "intake_leads";

async fn set_status(
    tx: &mut AnyConnection,
    lead_id: &str,
    status: pb::LeadStatus,
    position: i64,
    customer: Option<&str>,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE intake_leads SET status = $1, position = $2, customer_id = COALESCE($3, customer_id), \
         lost_reason = COALESCE($4, lost_reason) WHERE lead_id = $5",
    )
    .bind(status as i32)
    .bind(position)
    .bind(customer)
    .bind(reason)
    .bind(lead_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Projection for Leads {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("lead")
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM intake_leads")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        for event in events {
            let decoded = LeadCodec
                .decode(event)
                .map_err(|reason| ApplyError::Poison {
                    position: event.position,
                    reason,
                })?;
            let position = event.position.0 as i64;
            match decoded {
                LeadEvent::Captured(c) => {
                    sqlx::query(
                        "INSERT INTO intake_leads (lead_id, dealer, source, status, name, phone, model_of_interest, \
                         first_contact_due, oem_reference, oem_report_due, position) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (lead_id) DO NOTHING",
                    )
                    .bind(c.lead_id.as_str())
                    .bind(event.dealer().as_str())
                    .bind(source_to(c.source) as i32)
                    .bind(pb::LeadStatus::New as i32)
                    .bind(c.name.as_str())
                    .bind(c.phone.as_str())
                    .bind(c.model_of_interest.as_str())
                    .bind(c.first_contact_due.map(|t| t.as_microsecond()))
                    .bind(c.oem_reference.as_deref())
                    .bind(c.oem_report_due.map(|t| t.as_microsecond()))
                    .bind(position)
                    .execute(&mut *tx)
                    .await?;
                }
                LeadEvent::Verified { lead_id } => {
                    set_status(tx, &lead_id, pb::LeadStatus::Verified, position, None, None).await?
                }
                LeadEvent::Converted {
                    lead_id,
                    customer_id,
                    ..
                } => {
                    set_status(
                        tx,
                        &lead_id,
                        pb::LeadStatus::Converted,
                        position,
                        Some(&customer_id),
                        None,
                    )
                    .await?
                }
                LeadEvent::Lost { lead_id, reason } => {
                    set_status(
                        tx,
                        &lead_id,
                        pb::LeadStatus::Lost,
                        position,
                        None,
                        Some(&reason),
                    )
                    .await?
                }
            }
        }
        Ok(())
    }
}
