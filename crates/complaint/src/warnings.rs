//! Early warnings (投诉预警): a car in the workshop a week with no promised
//! completion, a repair open three weeks, the same fault back three times, a
//! complaint at grade 3 or higher reopened. The sweep finds the causes in the read
//! models; each warning's id is derived from its cause and appended "must not
//! exist", so a cause raises one warning, for ever, whatever runs twice.

use std::collections::{BTreeMap, HashSet};

use aftercare_eventstore::{
    DealerId, EventData, EventStore, Expected, Filter, Metadata, Position, RecordedEvent,
    StoreError, StreamId,
};
use aftercare_proto::calendar::timestamp;
use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::db::{SqlValue, fetch_in, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use aftercare_runtime::{Database, ServiceError};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use prost::Message;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::config::ComplaintDealers;
use crate::domain::Grade;
use crate::domain::warning::reopening_warns;

pub use aftercare_proto::aggregates::WARNING as AGGREGATE;
pub use aftercare_proto::event_types::complaint::EARLY_WARNING_RAISED as RAISED;
pub const NAME: &str = "complaint_warnings";

const NAMESPACE: Uuid = Uuid::from_u128(0x2f0b_7d4e_91a3_4b6c_8e15_77c2_d4a9_1e30);

/// A warning not yet raised: its cause (unique) and what it says.
struct Candidate {
    dealer: DealerId,
    cause: String,
    warning: pb::EarlyWarningRaised,
}

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(24 * i64::from(n))
}

/// Finds the warnings due at `now` and raises those not raised yet; how many.
pub async fn sweep(
    store: &dyn EventStore,
    db: &Database,
    dealers: &ComplaintDealers,
    now: Timestamp,
) -> Result<(u32, Position), ServiceError> {
    let mut candidates = Vec::new();
    stays_and_repairs(db, dealers, now, &mut candidates).await?;
    repeat_faults(db, dealers, now, &mut candidates).await?;
    reopened(db, dealers, &mut candidates).await?;
    let causes: Vec<String> = candidates.iter().map(|c| c.cause.clone()).collect();
    let mut conn = db.pool.acquire().await?;
    let raised: HashSet<String> = fetch_in(
        &mut conn,
        "SELECT cause FROM complaint_warnings WHERE cause IN",
        &causes,
    )
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("cause"))
    .collect::<Result<_, _>>()?;
    drop(conn);
    let (mut count, mut last) = (0, Position::ZERO);
    for mut c in candidates
        .into_iter()
        .filter(|c| !raised.contains(&c.cause))
    {
        let id = Uuid::new_v5(&NAMESPACE, format!("{}/{}", c.dealer, c.cause).as_bytes())
            .simple()
            .to_string();
        c.warning.warning_id = id.clone();
        c.warning.cause = c.cause.clone();
        c.warning.raised_at = Some(timestamp(now));
        let event = EventData::new(RAISED, c.warning.encode_to_vec())
            .occurred_at(now)
            .with_metadata(Metadata {
                actor: "early warning".to_owned(),
                ..Metadata::default()
            });
        let stream = StreamId::new(c.dealer.clone(), AGGREGATE, id)?;
        match store.append(&stream, Expected::NoStream, vec![event]).await {
            Ok(done) => {
                count += 1;
                last = last.max(done.position);
            }
            // Raised already (by another sweep, or before the read model saw it):
            // the position still covers it, so a reader waiting on it sees it.
            Err(StoreError::Conflict { current, .. }) => last = last.max(current),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((count, last))
}

async fn stays_and_repairs(
    db: &Database,
    dealers: &ComplaintDealers,
    now: Timestamp,
    out: &mut Vec<Candidate>,
) -> Result<(), ServiceError> {
    let rows = sqlx::query(
        "SELECT visit_id, dealer, vehicle_id, vin, repair_order, opened_at, promised_at \
         FROM complaint_repair_orders WHERE closed_at IS NULL AND opened_at IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    for row in rows {
        let dealer: String = row.try_get("dealer")?;
        let rules = &dealers.rules(&dealer).rules.complaint;
        let words = crate::config::words(dealers, &dealer);
        let opened = Timestamp::from_microsecond(row.try_get("opened_at")?)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let promised: Option<i64> = row.try_get("promised_at")?;
        let visit: String = row.try_get("visit_id")?;
        let warning = |kind: pb::WarningKind,
                       detail: String|
         -> Result<pb::EarlyWarningRaised, sqlx::Error> {
            Ok(pb::EarlyWarningRaised {
                kind: kind as i32,
                vin: row.try_get("vin")?,
                vehicle_id: row.try_get("vehicle_id")?,
                visit_id: visit.clone(),
                repair_order: row.try_get("repair_order")?,
                detail,
                ..pb::EarlyWarningRaised::default()
            })
        };
        let dealer = DealerId::parse(dealer)?;
        let due = crate::domain::warning::workshop(opened, promised.is_some(), now, rules);
        if due.stay {
            out.push(Candidate {
                dealer: dealer.clone(),
                cause: format!("stay/{visit}"),
                warning: warning(pb::WarningKind::WorkshopStay, words.workshop_stay(opened))?,
            });
        }
        if due.long_repair {
            out.push(Candidate {
                dealer,
                cause: format!("repair/{visit}"),
                warning: warning(pb::WarningKind::LongRepair, words.long_repair(opened))?,
            });
        }
    }
    Ok(())
}

async fn repeat_faults(
    db: &Database,
    dealers: &ComplaintDealers,
    now: Timestamp,
    out: &mut Vec<Candidate>,
) -> Result<(), ServiceError> {
    // Only a fault that came back recently is news; older history is not swept.
    let longest = crate::config::longest_repeat_fault_window_days(dealers);
    let since = now - days(2 * longest);
    let rows = sqlx::query(
        "SELECT visit_id, code, dealer, vehicle_id, vin, repair_order, closed_at FROM complaint_faults \
         WHERE closed_at >= $1 ORDER BY vehicle_id, code, closed_at",
    )
    .bind(since.as_microsecond())
    .fetch_all(&db.pool)
    .await?;
    let mut by_fault: BTreeMap<(String, String), Vec<sqlx::any::AnyRow>> = BTreeMap::new();
    for row in rows {
        let key = (row.try_get("vehicle_id")?, row.try_get("code")?);
        by_fault.entry(key).or_default().push(row);
    }
    for ((vehicle, code), visits) in by_fault {
        let dealer: String = visits[0].try_get("dealer")?;
        let rules = &dealers.rules(&dealer).rules.complaint;
        let closed: Vec<Timestamp> = visits
            .iter()
            .map(|r| {
                let at: i64 = r.try_get("closed_at")?;
                Timestamp::from_microsecond(at).map_err(|e| sqlx::Error::Decode(e.into()))
            })
            .collect::<Result<_, _>>()?;
        let recent_since = now - days(rules.repeat_fault_window_days);
        for i in crate::domain::warning::repeat_faults(&closed, rules, recent_since) {
            let third = &visits[i];
            let visit: String = third.try_get("visit_id")?;
            out.push(Candidate {
                dealer: DealerId::parse(dealer.as_str())?,
                cause: format!("fault/{vehicle}/{code}/{visit}"),
                warning: pb::EarlyWarningRaised {
                    kind: pb::WarningKind::RepeatFault as i32,
                    vin: third.try_get("vin")?,
                    vehicle_id: vehicle.clone(),
                    visit_id: visit,
                    repair_order: third.try_get("repair_order")?,
                    fault_code: code.clone(),
                    detail: crate::config::words(dealers, &dealer).repeat_fault(
                        &code,
                        rules.repeat_fault_visits,
                        rules.repeat_fault_window_days,
                    ),
                    ..pb::EarlyWarningRaised::default()
                },
            });
        }
    }
    Ok(())
}

async fn reopened(
    db: &Database,
    dealers: &ComplaintDealers,
    out: &mut Vec<Candidate>,
) -> Result<(), ServiceError> {
    let rows = sqlx::query(
        "SELECT t.ticket_id, t.dealer, t.vin, t.grade, l.position FROM complaint_timeline l \
         JOIN complaint_tickets t ON t.ticket_id = l.ticket_id \
         WHERE l.kind = 'reopened'",
    )
    .fetch_all(&db.pool)
    .await?;
    for row in rows {
        let ticket: String = row.try_get("ticket_id")?;
        let position: i64 = row.try_get("position")?;
        let grade: i64 = row.try_get("grade")?;
        let Some(graded) = u32::try_from(grade).ok().and_then(Grade::new) else {
            continue;
        };
        if !reopening_warns(graded) {
            continue;
        }
        let dealer: String = row.try_get("dealer")?;
        let detail = crate::config::words(dealers, &dealer).reopened(graded);
        out.push(Candidate {
            dealer: DealerId::parse(dealer)?,
            cause: format!("reopened/{ticket}/{position}"),
            warning: pb::EarlyWarningRaised {
                kind: pb::WarningKind::ReopenedComplaint as i32,
                vin: row.try_get("vin")?,
                ticket_id: ticket,
                grade: grade as u32,
                detail,
                ..pb::EarlyWarningRaised::default()
            },
        });
    }
    Ok(())
}

pub fn decode(event: &RecordedEvent) -> Result<pb::EarlyWarningRaised, String> {
    pb::EarlyWarningRaised::decode(event.data.payload.as_ref())
        .map_err(|e| format!("EarlyWarningRaised: {e}"))
}

/// The warnings raised, for listing and for the sweep to skip causes already warned.
pub struct Warnings;

#[async_trait]
impl Projection for Warnings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(AGGREGATE)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["complaint_warnings"]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut rows = Vec::new();
        for event in batch.iter().filter(|e| e.data.event_type == RAISED) {
            let w = decode(event).map_err(|reason| ApplyError::Poison {
                position: event.position,
                reason,
            })?;
            rows.push(vec![
                SqlValue::Text(w.warning_id.clone()),
                SqlValue::Text(w.cause),
                SqlValue::Text(event.dealer().to_string()),
                SqlValue::Int(i64::from(w.kind)),
                SqlValue::Text(w.vin),
                SqlValue::Text(w.vehicle_id),
                SqlValue::Text(w.visit_id),
                SqlValue::Text(w.repair_order),
                SqlValue::Text(w.fault_code),
                SqlValue::Text(w.ticket_id),
                SqlValue::Int(i64::from(w.grade)),
                SqlValue::Text(w.detail),
                SqlValue::Int(event.data.occurred_at.as_microsecond()),
            ]);
        }
        insert_rows(
            tx,
            "complaint_warnings",
            &[
                "warning_id",
                "cause",
                "dealer",
                "kind",
                "vin",
                "vehicle_id",
                "visit_id",
                "repair_order",
                "fault_code",
                "ticket_id",
                "grade",
                "detail",
                "raised_at",
            ],
            "ON CONFLICT (warning_id) DO NOTHING",
            &rows,
        )
        .await?;
        Ok(())
    }
}
