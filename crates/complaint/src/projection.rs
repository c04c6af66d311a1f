//! The complaint read model: a row per ticket (status, grade, handler, deadlines)
//! and its timeline. A batch loads the tickets it touches with one statement and
//! writes them back with multi-row statements.

use std::collections::HashMap;
use std::sync::Arc;

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::db::{Migrations, SqlMigration, SqlValue, fetch_in, insert_rows};
use aftercare_runtime::privacy::Vault;
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use crate::config::ComplaintDealers;
use crate::domain::Status;
use crate::domain::ticket::{EscalationReason, Event};
use crate::domain::words::Words;
use crate::events::{AGGREGATE, channel_to, decode};

const TICKETS_SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 3_000_001,
        description: "complaint tickets",
        sql: include_str!("../migrations/3000001_tickets.sql"),
    },
    SqlMigration {
        version: 3_000_002,
        description: "complaint warnings",
        sql: include_str!("../migrations/3000002_warnings.sql"),
    },
    SqlMigration {
        version: 3_000_003,
        description: "complaint timeline notes",
        sql: include_str!("../migrations/3000003_timeline_note.sql"),
    },
];

/// Complaints own migration versions 3,000,000–3,999,999.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: TICKETS_SQL,
    sqlite: TICKETS_SQL,
};

pub const NAME: &str = "complaint_tickets";

pub const COLUMNS: &[&str] = &[
    "ticket_id",
    "dealer",
    "channel",
    "oem_ticket",
    "grade",
    "handler",
    "owner",
    "assignee",
    "status",
    "customer_id",
    "vin",
    "description",
    "product_liability",
    "filed_at",
    "respond_by",
    "resolve_by",
    "position",
];

/// A ticket row.
#[derive(Clone, Debug, Default)]
pub struct TicketRow {
    pub ticket_id: String,
    pub dealer: String,
    pub channel: i64,
    pub oem_ticket: String,
    pub grade: i64,
    pub handler: String,
    pub owner: String,
    pub assignee: String,
    pub status: String,
    pub customer_id: String,
    pub vin: String,
    pub description: String,
    pub product_liability: bool,
    pub filed_at: i64,
    pub respond_by: Option<i64>,
    pub resolve_by: Option<i64>,
    pub position: i64,
}

impl TicketRow {
    pub fn read(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(TicketRow {
            ticket_id: row.try_get("ticket_id")?,
            dealer: row.try_get("dealer")?,
            channel: row.try_get("channel")?,
            oem_ticket: row.try_get("oem_ticket")?,
            grade: row.try_get("grade")?,
            handler: row.try_get("handler")?,
            owner: row.try_get("owner")?,
            assignee: row.try_get("assignee")?,
            status: row.try_get("status")?,
            customer_id: row.try_get("customer_id")?,
            vin: row.try_get("vin")?,
            description: row.try_get("description")?,
            product_liability: row.try_get::<i64, _>("product_liability")? != 0,
            filed_at: row.try_get("filed_at")?,
            respond_by: row.try_get("respond_by")?,
            resolve_by: row.try_get("resolve_by")?,
            position: row.try_get("position")?,
        })
    }

    pub fn values(self) -> Vec<SqlValue> {
        let opt = |v: Option<i64>| v.map_or(SqlValue::NullInt, SqlValue::Int);
        vec![
            SqlValue::Text(self.ticket_id),
            SqlValue::Text(self.dealer),
            SqlValue::Int(self.channel),
            SqlValue::Text(self.oem_ticket),
            SqlValue::Int(self.grade),
            SqlValue::Text(self.handler),
            SqlValue::Text(self.owner),
            SqlValue::Text(self.assignee),
            SqlValue::Text(self.status),
            SqlValue::Text(self.customer_id),
            SqlValue::Text(self.vin),
            SqlValue::Text(self.description),
            SqlValue::Int(i64::from(self.product_liability)),
            SqlValue::Int(self.filed_at),
            opt(self.respond_by),
            opt(self.resolve_by),
            SqlValue::Int(self.position),
        ]
    }

    /// The row after `event`, and the event's timeline entry: kind, by, the
    /// system's words (in the dealer's language), what someone typed, at.
    /// `open` reads the personal data sealed for this ticket.
    fn apply(
        &mut self,
        event: &Event,
        words: Words<'_>,
        open: &dyn Fn(&str) -> String,
    ) -> (&'static str, String, String, String, i64) {
        let us = |t: &jiff::Timestamp| t.as_microsecond();
        match event {
            Event::Filed {
                filing_grade,
                handler,
                respond_by,
                resolve_by,
                at,
                channel,
                oem_ticket,
                customer_id,
                vin,
                description,
                product_liability,
                owner,
                ..
            } => {
                self.channel = channel_to(*channel) as i64;
                self.oem_ticket = oem_ticket.clone().unwrap_or_default();
                self.grade = i64::from(filing_grade.value());
                self.handler = handler.clone();
                self.owner = owner.clone();
                self.status = Status::Open.as_str().to_owned();
                self.customer_id = open(customer_id);
                self.vin = open(vin);
                self.description = open(description);
                self.product_liability = *product_liability;
                self.filed_at = us(at);
                self.respond_by = Some(us(respond_by));
                self.resolve_by = Some(us(resolve_by));
                (
                    "filed",
                    owner.clone(),
                    words.filed(*filing_grade, handler),
                    String::new(),
                    us(at),
                )
            }
            Event::Acknowledged { by, at } => {
                self.status = Status::InProgress.as_str().to_owned();
                self.respond_by = None;
                (
                    "acknowledged",
                    by.clone(),
                    String::new(),
                    String::new(),
                    us(at),
                )
            }
            Event::Assigned { to, by, at } => {
                self.assignee = to.clone();
                ("assigned", by.clone(), to.clone(), String::new(), us(at))
            }
            Event::Escalated {
                from,
                to,
                handler,
                reason,
                respond_by,
                resolve_by,
                by,
                at,
            } => {
                self.grade = i64::from(to.value());
                self.handler = handler.clone();
                self.respond_by = respond_by.as_ref().map(us);
                self.resolve_by = Some(us(resolve_by));
                let note = match reason {
                    EscalationReason::ByHand(t) | EscalationReason::ComplainedAgain(t) => open(t),
                    EscalationReason::DeadlineMissed(_) => String::new(),
                };
                let detail = words.escalated(*from, *to, handler, reason);
                ("escalated", by.clone(), detail, note, us(at))
            }
            Event::Resolved {
                resolution,
                compensation_fen,
                by,
                at,
            } => {
                self.status = Status::Resolved.as_str().to_owned();
                self.respond_by = None;
                self.resolve_by = None;
                let detail = words.compensation(*compensation_fen);
                ("resolved", by.clone(), detail, open(resolution), us(at))
            }
            Event::Closed { satisfaction, at } => {
                self.status = Status::Closed.as_str().to_owned();
                (
                    "closed",
                    String::new(),
                    words.satisfaction(*satisfaction).to_owned(),
                    String::new(),
                    us(at),
                )
            }
            Event::Reopened {
                reason,
                resolve_by,
                by,
                at,
            } => {
                self.status = Status::InProgress.as_str().to_owned();
                self.resolve_by = Some(us(resolve_by));
                (
                    "reopened",
                    by.clone(),
                    String::new(),
                    reason.clone(),
                    us(at),
                )
            }
        }
    }
}

/// [`crate::domain::deadline::missed_deadline`] as a condition on
/// `complaint_tickets`, at `now` (microseconds): the rows it selects are the
/// tickets the rule calls overdue (a test compares the two on random tickets).
pub fn overdue_condition(now_micros: i64) -> String {
    format!("((status = 'open' AND respond_by < {now_micros}) OR resolve_by < {now_micros})")
}

/// The tickets read model; personal data is opened with the subjects' keys as
/// it is written.
pub struct Tickets {
    pub vault: Vault,
    pub dealers: Arc<ComplaintDealers>,
}

#[async_trait]
impl Projection for Tickets {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(AGGREGATE)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["complaint_timeline", "complaint_tickets"]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let ids: Vec<String> = batch.iter().map(|e| e.stream.id().to_owned()).collect();
        let subjects: Vec<String> = ids.iter().map(|id| crate::events::subject(id)).collect();
        let keys = self.vault.keyring(&subjects).await?;
        let mut tickets: HashMap<String, TicketRow> = HashMap::new();
        for row in fetch_in(
            tx,
            &format!(
                "SELECT {} FROM complaint_tickets WHERE ticket_id IN",
                COLUMNS.join(", ")
            ),
            &ids,
        )
        .await?
        {
            let t = TicketRow::read(&row)?;
            tickets.insert(t.ticket_id.clone(), t);
        }
        let mut timeline = Vec::new();
        for event in batch {
            let decoded = decode(event).map_err(|reason| ApplyError::Poison {
                position: event.position,
                reason,
            })?;
            let id = event.stream.id().to_owned();
            let ticket = tickets.entry(id.clone()).or_insert_with(|| TicketRow {
                ticket_id: id.clone(),
                dealer: event.dealer().to_string(),
                ..TicketRow::default()
            });
            let subject = crate::events::subject(&id);
            let words = crate::config::words(&self.dealers, event.dealer().as_str());
            let (kind, by, detail, note, at) =
                ticket.apply(&decoded, words, &|text| keys.open(&subject, text));
            ticket.position = event.position.0 as i64;
            timeline.push(vec![
                SqlValue::Text(id),
                SqlValue::Int(event.position.0 as i64),
                SqlValue::Int(at),
                SqlValue::Text(kind.to_owned()),
                SqlValue::Text(by),
                SqlValue::Text(detail),
                SqlValue::Text(note),
            ]);
        }
        let updates: Vec<String> = COLUMNS[1..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let rows: Vec<Vec<SqlValue>> = tickets.into_values().map(TicketRow::values).collect();
        insert_rows(
            tx,
            "complaint_tickets",
            COLUMNS,
            &format!(
                "ON CONFLICT (ticket_id) DO UPDATE SET {}",
                updates.join(", ")
            ),
            &rows,
        )
        .await?;
        insert_rows(
            tx,
            "complaint_timeline",
            &[
                "ticket_id",
                "position",
                "at",
                "kind",
                "by_whom",
                "detail",
                "note",
            ],
            "ON CONFLICT (ticket_id, position) DO NOTHING",
            &timeline,
        )
        .await?;
        Ok(())
    }
}
