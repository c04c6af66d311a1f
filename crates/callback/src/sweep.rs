//! The timer: tasks no event causes on the day they fall due — a birthday
//! greeting, a periodic inspection — scheduled once each as their window
//! opens, and OEM leads whose status report is overdue flagged once, from the read model's birthdays and registration dates. Every task
//! id is derived from its cause and its stream must not exist yet, so two
//! replicas sweeping at once schedule each task once.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EventStore, Metadata, Position};
use aftercare_runtime::command::execute;
use aftercare_runtime::{Database, ServiceError};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::Row;

use crate::config::CallbackDealers;
use crate::domain::Kind;
use crate::domain::schedule::{self, Decision, in_year, inspection_due};
use crate::domain::task::{Command, Scheduled, Task};
use crate::events::{TaskCodec, stream};

/// How often the server sweeps.
pub const INTERVAL: Duration = Duration::from_secs(3_600);

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub scheduled: u64,
    /// OEM leads flagged for a missed status report.
    pub flagged: u64,
    pub position: Position,
}

/// The days a reminder scheduled today can be for: today and the lead days
/// after, as `(day, "MM-DD")`.
fn coming_days(today: Date, lead_days: u32) -> Vec<(Date, String)> {
    (0..=i64::from(lead_days))
        .filter_map(|n| today.checked_add(jiff::Span::new().days(n)).ok())
        .map(|d| (d, d.strftime("%m-%d").to_string()))
        .collect()
}

/// `MM-DD` of the yearly dates that fall on `days` (29 February on the 28th
/// in other years).
fn yearly_keys(days: &[(Date, String)]) -> Vec<String> {
    let mut keys: Vec<String> = days.iter().map(|(_, k)| k.clone()).collect();
    if days
        .iter()
        .any(|(d, _)| d.month() == 2 && d.day() == 28 && !d.in_leap_year())
    {
        keys.push("02-29".to_owned());
    }
    keys
}

fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Schedules `dealer`'s timer tasks falling due by `as_of`.
pub async fn sweep(
    store: &dyn EventStore,
    db: &Database,
    dealers: &CallbackDealers,
    dealer: &DealerId,
    as_of: Timestamp,
) -> Result<Swept, ServiceError> {
    let rules = dealers.rules(dealer.as_str());
    let zone = &rules.time_zone;
    let today = as_of.to_zoned(zone.clone()).date();
    let days = coming_days(today, rules.callback.reminder_lead_days);
    let keys = yearly_keys(&days);
    let on = |key: &str| -> Option<Date> {
        let (month, day) = key.split_once('-')?;
        days.iter().find_map(|(d, _)| {
            let date = in_year(d.year(), month.parse().ok()?, day.parse().ok()?)?;
            (date == *d).then_some(date)
        })
    };
    let mut planned: Vec<(Kind, String, Scheduled)> = Vec::new();

    let sql = format!(
        "SELECT customer_id, birthday FROM callback_customers WHERE dealer = $1 \
         AND phone_consent = 1 AND phone <> '' AND birthday IN ({})",
        placeholders(2, keys.len())
    );
    let mut query = sqlx::query(&sql).bind(dealer.as_str());
    for key in &keys {
        query = query.bind(key);
    }
    for row in query.fetch_all(&db.pool).await? {
        let customer: String = row.try_get("customer_id")?;
        let Some(day) = on(&row.try_get::<String, _>("birthday")?) else {
            continue;
        };
        planned.push((
            Kind::Birthday,
            format!("{customer}/{}", day.year()),
            Scheduled {
                kind: Kind::Birthday,
                customer_id: customer,
                vehicle_id: String::new(),
                cause: format!("birthday on {}", day.strftime("%Y-%m-%d")),
                window: schedule::birthday(day, &rules.callback, zone),
            },
        ));
    }

    let sql = format!(
        "SELECT v.vehicle_id, v.owner, v.purchase_date FROM callback_vehicles v \
         JOIN callback_customers c ON c.customer_id = v.owner \
         WHERE v.dealer = $1 AND c.phone_consent = 1 AND c.phone <> '' \
         AND v.purchase_date <> '' AND substr(v.purchase_date, 6) IN ({})",
        placeholders(2, keys.len())
    );
    let mut query = sqlx::query(&sql).bind(dealer.as_str());
    for key in &keys {
        query = query.bind(key);
    }
    for row in query.fetch_all(&db.pool).await? {
        let vehicle: String = row.try_get("vehicle_id")?;
        let purchased: String = row.try_get("purchase_date")?;
        let Ok(purchased) = purchased.parse::<Date>() else {
            continue;
        };
        let Some(day) = on(&purchased.strftime("%m-%d").to_string()) else {
            continue;
        };
        let age = day.year() - purchased.year();
        if !inspection_due(age) {
            continue;
        }
        planned.push((
            Kind::InspectionReminder,
            format!("{vehicle}/{}", day.strftime("%Y-%m-%d")),
            Scheduled {
                kind: Kind::InspectionReminder,
                customer_id: row.try_get("owner")?,
                vehicle_id: vehicle,
                cause: format!(
                    "inspection due on {} ({age} years since registration)",
                    day.strftime("%Y-%m-%d")
                ),
                window: schedule::reminder(day, &rules.callback, zone),
            },
        ));
    }

    let mut swept = Swept::default();
    let metadata = Metadata {
        actor: "system:callback-timer".to_owned(),
        ..Metadata::default()
    };
    // OEM leads whose status report was due with no call made: flagged once.
    let missed = sqlx::query(
        "SELECT task_id, lead_id, oem_reference, report_due_at FROM callback_tasks \
         WHERE dealer = $1 AND kind = 'lead' AND oem_reference <> '' AND report_missed = 0 \
         AND attempts = 0 AND report_due_at < $2",
    )
    .bind(dealer.as_str())
    .bind(as_of.as_microsecond())
    .fetch_all(&db.pool)
    .await?;
    for row in missed {
        let task_id: String = row.try_get("task_id")?;
        let due: i64 = row.try_get("report_due_at")?;
        let command = Command::FlagReportMissed {
            lead_id: row.try_get("lead_id")?,
            oem_reference: row.try_get("oem_reference")?,
            due_at: Timestamp::from_microsecond(due).unwrap_or(as_of),
        };
        let done = execute::<Task>(
            store,
            &stream(dealer, &task_id)?,
            &TaskCodec {
                task_id: task_id.clone(),
            },
            command,
            |e| e.with_metadata(metadata.clone()),
        )
        .await
        .map_err(|e| e.into_service_error(|r| ServiceError::Rejected(r.to_string())))?;
        if !done.events.is_empty() {
            swept.flagged += 1;
            swept.position = swept.position.max(done.position);
        }
    }
    for (kind, cause, scheduled) in planned {
        // Only what falls due by `as_of`: the window must have opened.
        if scheduled.window.opens_at > as_of
            || !matches!(
                schedule::decide(scheduled.window, as_of, true),
                Decision::Schedule(_)
            )
        {
            continue;
        }
        let task_id = schedule::task_id(dealer.as_str(), kind, &cause).to_string();
        let done = execute::<Task>(
            store,
            &stream(dealer, &task_id)?,
            &TaskCodec {
                task_id: task_id.clone(),
            },
            Command::Schedule(scheduled),
            |e| e.with_metadata(metadata.clone()),
        )
        .await
        .map_err(|e| e.into_service_error(|r| ServiceError::Rejected(r.to_string())))?;
        if !done.events.is_empty() {
            swept.scheduled += 1;
            swept.position = swept.position.max(done.position);
        }
    }
    Ok(swept)
}

/// Sweeps every dealer with customers on file, every [`INTERVAL`], until `stop`.
pub async fn run(
    store: Arc<dyn EventStore>,
    db: Database,
    dealers: Arc<CallbackDealers>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let known: Result<Vec<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT DISTINCT dealer FROM callback_customers")
                .fetch_all(&db.pool)
                .await;
        match known {
            Ok(ids) => {
                for id in ids {
                    let Ok(dealer) = DealerId::parse(&id) else {
                        continue;
                    };
                    match crate::months::publish(
                        store.as_ref(),
                        &db,
                        &dealers,
                        &dealer,
                        Timestamp::now(),
                    )
                    .await
                    {
                        Ok(n) if n > 0 => {
                            tracing::info!(dealer = %dealer, months = n, "callback measures published")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(dealer = %dealer, error = %e, "callback measures not published; retried next interval")
                        }
                    }
                    match sweep(store.as_ref(), &db, &dealers, &dealer, Timestamp::now()).await {
                        Ok(s) if s.scheduled > 0 => {
                            tracing::info!(dealer = %dealer, scheduled = s.scheduled, "reminders scheduled")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(dealer = %dealer, error = %e, "reminder sweep failed; retried next interval")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reminder sweep cannot read the dealers"),
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}
