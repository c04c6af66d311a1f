//! The leads read model: status, deadlines and outcome per lead.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::EventCodec;
use std::collections::HashMap;

use aftercare_runtime::db::{SqlValue, fetch_in, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use crate::domain::lead::LeadEvent;
use crate::lead_events::{LeadCodec, source_to};

pub struct Leads;

pub const NAME: &str = "intake_leads";

/// The columns of a lead row, in the order rows are built here.
const COLUMNS: &[&str] = &[
    "lead_id",
    "dealer",
    "source",
    "status",
    "name",
    "phone",
    "model_of_interest",
    "first_contact_due",
    "oem_reference",
    "oem_report_due",
    "customer_id",
    "lost_reason",
    "position",
];

#[async_trait]
impl Projection for Leads {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::LEAD)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["intake_leads"]
    }

    /// The batch's leads are read with one statement, changed in memory in log
    /// order, and written back with one multi-row statement.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut decoded = Vec::with_capacity(events.len());
        for event in events {
            let e = LeadCodec
                .decode(event)
                .map_err(|reason| ApplyError::Poison {
                    position: event.position,
                    reason,
                })?;
            decoded.push((event, e));
        }
        let ids: Vec<String> = decoded
            .iter()
            .map(|(_, e)| match e {
                LeadEvent::Captured(c) => c.lead_id.clone(),
                LeadEvent::Verified { lead_id }
                | LeadEvent::Converted { lead_id, .. }
                | LeadEvent::Lost { lead_id, .. } => lead_id.clone(),
            })
            .collect();
        let select = format!(
            "SELECT {} FROM intake_leads WHERE lead_id IN",
            COLUMNS
                .iter()
                .map(|c| match *c {
                    "source" | "status" => format!("CAST({c} AS BIGINT) AS {c}"),
                    c => c.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut leads: HashMap<String, (Vec<SqlValue>, bool)> = HashMap::new();
        for r in fetch_in(tx, &select, &ids).await? {
            let mut row = Vec::with_capacity(COLUMNS.len());
            for c in COLUMNS {
                row.push(match *c {
                    "source" | "status" | "position" | "first_contact_due" | "oem_report_due" => r
                        .try_get::<Option<i64>, _>(*c)?
                        .map_or(SqlValue::NullInt, SqlValue::Int),
                    c => r
                        .try_get::<Option<String>, _>(c)?
                        .map_or(SqlValue::NullText, SqlValue::Text),
                });
            }
            leads.insert(r.try_get("lead_id")?, (row, false));
        }
        for (event, e) in decoded {
            let position = SqlValue::Int(event.position.0 as i64);
            let (lead_id, status, customer, reason) = match e {
                // The first capture wins.
                LeadEvent::Captured(c) => {
                    let opt_us = |t: Option<jiff::Timestamp>| {
                        t.map_or(SqlValue::NullInt, |t| SqlValue::Int(t.as_microsecond()))
                    };
                    leads.entry(c.lead_id.clone()).or_insert_with(|| {
                        let row = vec![
                            SqlValue::Text(c.lead_id.clone()),
                            SqlValue::Text(event.dealer().to_string()),
                            SqlValue::Int(source_to(c.source) as i64),
                            SqlValue::Int(pb::LeadStatus::New as i64),
                            SqlValue::Text(c.name.clone()),
                            SqlValue::Text(c.phone.as_str().to_owned()),
                            SqlValue::Text(c.model_of_interest.clone()),
                            opt_us(c.first_contact_due),
                            c.oem_reference
                                .clone()
                                .map_or(SqlValue::NullText, SqlValue::Text),
                            opt_us(c.oem_report_due),
                            SqlValue::NullText,
                            SqlValue::NullText,
                            position,
                        ];
                        (row, true)
                    });
                    continue;
                }
                LeadEvent::Verified { lead_id } => (lead_id, pb::LeadStatus::Verified, None, None),
                LeadEvent::Converted {
                    lead_id,
                    customer_id,
                    ..
                } => (lead_id, pb::LeadStatus::Converted, Some(customer_id), None),
                LeadEvent::Lost { lead_id, reason } => {
                    (lead_id, pb::LeadStatus::Lost, None, Some(reason))
                }
            };
            if let Some((row, changed)) = leads.get_mut(&lead_id) {
                row[3] = SqlValue::Int(status as i64);
                if let Some(customer) = customer {
                    row[10] = SqlValue::Text(customer);
                }
                if let Some(reason) = reason {
                    row[11] = SqlValue::Text(reason);
                }
                row[12] = position;
                *changed = true;
            }
        }
        let rows: Vec<Vec<SqlValue>> = leads
            .into_values()
            .filter(|(_, changed)| *changed)
            .map(|(row, _)| row)
            .collect();
        let updates: Vec<String> = COLUMNS[1..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        insert_rows(
            tx,
            "intake_leads",
            COLUMNS,
            &format!("ON CONFLICT (lead_id) DO UPDATE SET {}", updates.join(", ")),
            &rows,
        )
        .await?;
        Ok(())
    }
}
