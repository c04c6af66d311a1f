//! The deadline sweep (with the early warnings, [`crate::warnings`]): every ticket whose deadline in force has passed is
//! escalated through the ticket aggregate, which accepts a missed deadline only
//! while it is the one in force. A sweep run twice, after a restart, or before the
//! read model caught up therefore escalates once per deadline.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ComplaintDealers;
use aftercare_eventstore::{DealerId, EventStore, Metadata, Position};
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::privacy::Vault;
use aftercare_runtime::{Database, ServiceError};
use jiff::Timestamp;
use sqlx::Row;

use crate::domain::Status;
use crate::domain::deadline::missed_deadline;
use crate::domain::ticket::{Command, EscalationReason, Rejection, Terms, Ticket};
use crate::events::{TicketCodec, stream};

/// How often the server sweeps.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Who the escalations are recorded as.
pub const ACTOR: &str = "deadline sweep";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub examined: u32,
    pub escalated: u32,
    /// Early warnings raised by the same pass.
    pub warnings: u32,
    /// Tickets past retention, removed and erased by the same pass.
    pub expired: u32,
    pub position: Position,
}

pub async fn sweep(
    store: &dyn EventStore,
    db: &Database,
    vault: &Vault,
    dealers: &ComplaintDealers,
    now: Timestamp,
) -> Result<Swept, ServiceError> {
    let rows = sqlx::query(&format!(
        "SELECT ticket_id, dealer, status, respond_by, resolve_by FROM complaint_tickets \
         WHERE {} ORDER BY ticket_id",
        crate::projection::overdue_condition(now.as_microsecond())
    ))
    .fetch_all(&db.pool)
    .await?;
    let mut swept = Swept::default();
    for row in rows {
        let ticket: String = row.try_get("ticket_id")?;
        let dealer = DealerId::parse(row.try_get::<String, _>("dealer")?)?;
        let status: String = row.try_get("status")?;
        let at = |column: &str| -> Result<Option<Timestamp>, sqlx::Error> {
            Ok(row
                .try_get::<Option<i64>, _>(column)?
                .and_then(|us| Timestamp::from_microsecond(us).ok()))
        };
        let Some(deadline) = Status::parse(&status).and_then(|status| {
            missed_deadline(status, at("respond_by").ok()?, at("resolve_by").ok()?, now)
        }) else {
            continue;
        };
        swept.examined += 1;
        let rules = dealers.rules(dealer.as_str());
        let terms = Terms {
            rules: rules.rules.complaint.clone(),
            zone: rules.time_zone.clone(),
        };
        let command = Command::Escalate {
            reason: EscalationReason::DeadlineMissed(deadline),
            by: ACTOR.to_owned(),
            at: now,
            terms,
        };
        let codec = TicketCodec {
            ticket_id: ticket.clone(),
        };
        let metadata = Metadata {
            actor: ACTOR.to_owned(),
            ..Metadata::default()
        };
        match execute::<Ticket>(store, &stream(&dealer, &ticket)?, &codec, command, |e| {
            e.with_metadata(metadata.clone())
        })
        .await
        {
            Ok(done) if !done.events.is_empty() => {
                swept.escalated += 1;
                swept.position = swept.position.max(done.position);
            }
            Ok(_) => {}
            // A crisis past its deadline stays overdue: there is no grade above.
            Err(CommandError::Rejected(Rejection::AlreadyHighestGrade)) => {}
            Err(CommandError::Rejected(r)) => {
                tracing::debug!(%ticket, rejection = %r, "deadline sweep skipped a ticket")
            }
            Err(CommandError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        }
    }
    let (warnings, last) = crate::warnings::sweep(store, db, dealers, now).await?;
    swept.warnings = warnings;
    swept.expired = retention(db, vault, dealers, now).await?;
    swept.position = swept.position.max(last);
    Ok(swept)
}

/// Complaint records are kept for the dealer's retention period (3 years by
/// default) after filing: then the ticket's key is erased, so its personal data
/// is unreadable in the log and in any replay, and its rows leave the read models.
/// (After a rebuild, an expired ticket is back, erased, until the next pass.)
async fn retention(
    db: &Database,
    vault: &Vault,
    dealers: &ComplaintDealers,
    now: Timestamp,
) -> Result<u32, ServiceError> {
    let rows = sqlx::query(
        "SELECT ticket_id, dealer, filed_at FROM complaint_tickets ORDER BY filed_at LIMIT 10000",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut expired = 0;
    for row in rows {
        let dealer: String = row.try_get("dealer")?;
        let rules = dealers.rules(&dealer);
        let years = jiff::Span::new().years(i64::from(rules.rules.complaint.retention_years));
        let cutoff = now
            .to_zoned(rules.time_zone.clone())
            .checked_sub(years)
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .timestamp();
        let filed: i64 = row.try_get("filed_at")?;
        if filed >= cutoff.as_microsecond() {
            continue;
        }
        let ticket: String = row.try_get("ticket_id")?;
        vault
            .erase(&crate::events::subject(&ticket), now.as_microsecond())
            .await?;
        for table in [
            "complaint_timeline",
            "complaint_tickets",
            "complaint_warnings",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE ticket_id = $1"))
                .bind(&ticket)
                .execute(&db.pool)
                .await?;
        }
        expired += 1;
    }
    Ok(expired)
}

/// Runs [`sweep`] every [`INTERVAL`] until `stop` turns true.
pub async fn run(
    store: Arc<dyn EventStore>,
    db: Database,
    vault: Vault,
    dealers: Arc<ComplaintDealers>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match sweep(store.as_ref(), &db, &vault, &dealers, Timestamp::now()).await {
            Ok(s) if s.escalated > 0 => {
                tracing::info!(escalated = s.escalated, "complaint deadlines missed")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "complaint deadline sweep failed; retried next interval")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}
