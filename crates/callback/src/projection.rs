//! The scheduler and the worklist's read model in one projection, so what it
//! knows of customers and vehicles and the tasks it schedules from them are
//! in the log's order: intake's customers, vehicles, sales, visits and leads
//! and analytics' churn changes schedule tasks (each id derived from its
//! cause, so a replay or a redelivery schedules nothing twice); the tasks' own
//! events (claims, attempts, outcomes) move them along.

use std::sync::Arc;

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_proto::aggregates;
use aftercare_proto::analytics::v1 as analytics;
use aftercare_proto::calendar::read_instant as instant;
use aftercare_proto::event_types::{analytics as analytics_events, intake as intake_events};
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::db::{Migrations, SqlMigration, SqlValue, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use prost::Message;
use sqlx::{AnyConnection, Row};

use crate::config::CallbackDealers;
use crate::domain::mileage::Reading;
use crate::domain::schedule::{self, Decision, Window};
use crate::domain::task::Event;
use crate::domain::{AttemptResult, Kind};
use crate::events;

const SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 4_000_001,
        description: "callback tasks",
        sql: include_str!("../migrations/4000001_tasks.sql"),
    },
    SqlMigration {
        version: 4_000_002,
        description: "callback returns, kept appointments, complaints",
        sql: include_str!("../migrations/4000002_loop.sql"),
    },
    SqlMigration {
        version: 4_000_003,
        description: "callback phones and wrong numbers",
        sql: include_str!("../migrations/4000003_phones.sql"),
    },
    SqlMigration {
        version: 4_000_004,
        description: "callback birthdays and purchase dates",
        sql: include_str!("../migrations/4000004_dates.sql"),
    },
    SqlMigration {
        version: 4_000_005,
        description: "callback OEM lead reports",
        sql: include_str!("../migrations/4000005_lead_reports.sql"),
    },
    SqlMigration {
        version: 4_000_006,
        description: "callback worklist indexes",
        sql: include_str!("../migrations/4000006_worklist_indexes.sql"),
    },
    SqlMigration {
        version: 4_000_007,
        description: "callback worklist order",
        sql: include_str!("../migrations/4000007_worklist_order.sql"),
    },
    SqlMigration {
        version: 4_000_008,
        description: "callback task advisor group",
        sql: include_str!("../migrations/4000008_advisor_group.sql"),
    },
];

/// A winback-called vehicle has come back when it visits within this many days
/// of the call…
pub const RETURN_DAYS: i64 = 90;
/// …a reminded one within this many.
pub const CONVERSION_DAYS: i64 = 30;

/// Callbacks own migration versions 4,000,000–4,999,999.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: SQL,
    sqlite: SQL,
};

pub const NAME: &str = "callback_tasks";

pub struct Tasks {
    pub dealers: Arc<CallbackDealers>,
}

/// When an event was recorded: the time in its UUIDv7 id (a fresh id is
/// minted when the event is appended), else when it occurred. The same on
/// every replay.
pub fn recorded_at(event: &RecordedEvent) -> Timestamp {
    let id = event.data.event_id;
    if id.get_version_num() == 7
        && let Some(ts) = id.get_timestamp()
    {
        let (seconds, nanos) = ts.to_unix();
        if let (Ok(seconds), Ok(nanos)) = (i64::try_from(seconds), i32::try_from(nanos))
            && let Ok(at) = Timestamp::new(seconds, nanos)
        {
            return at;
        }
    }
    event.data.occurred_at
}

/// Whom a task calls, about what: a customer and their vehicle, or a lead
/// (who has no customer file yet: its name and number).
#[derive(Clone, Default)]
struct Whom {
    customer_id: String,
    vehicle_id: String,
    vin: String,
    model: String,
    lead_id: String,
    contact_name: String,
    contact_phone: String,
}

/// A task a cause asks for, before the decision.
struct Planned {
    dealer: String,
    kind: Kind,
    cause_id: String,
    cause: String,
    whom: Whom,
    /// An agent or advisor; empty for the agents' common pool.
    assignee: String,
    /// The advisor group of the cause's visit, if it has one.
    group: String,
    window: Window,
}

fn us(t: Timestamp) -> SqlValue {
    SqlValue::Int(t.as_microsecond())
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

const TASK_COLUMNS: &[&str] = &[
    "task_id",
    "dealer",
    "kind",
    "status",
    "customer_id",
    "vehicle_id",
    "vin",
    "model",
    "lead_id",
    "contact_name",
    "contact_phone",
    "assignee",
    "claimed_by",
    "cause",
    "opens_at",
    "due_at",
    "closes_at",
    "attempts",
    "caller",
    "advisor_group",
];

/// Schedules each of `plans`, or counts it as history or not contactable:
/// one statement for the tasks and one for the counted, whatever their number.
async fn schedule_all(
    tx: &mut AnyConnection,
    plans: Vec<Planned>,
    recorded: Timestamp,
    contactable: bool,
) -> Result<(), sqlx::Error> {
    let mut tasks = Vec::new();
    let mut counted = Vec::new();
    for plan in plans {
        let task_id = schedule::task_id(&plan.dealer, plan.kind, &plan.cause_id).to_string();
        let (reason, window) = match schedule::decide(plan.window, recorded, contactable) {
            Decision::Schedule(w) => {
                tasks.push(vec![
                    text(&task_id),
                    text(&plan.dealer),
                    text(plan.kind.as_str()),
                    text("open"),
                    text(&plan.whom.customer_id),
                    text(&plan.whom.vehicle_id),
                    text(&plan.whom.vin),
                    text(&plan.whom.model),
                    text(&plan.whom.lead_id),
                    text(&plan.whom.contact_name),
                    text(&plan.whom.contact_phone),
                    text(&plan.assignee),
                    text(""),
                    text(&plan.cause),
                    us(w.opens_at),
                    us(w.due_at),
                    us(w.closes_at),
                    SqlValue::Int(0),
                    text(""),
                    text(&plan.group),
                ]);
                continue;
            }
            Decision::History(w) => ("history", w),
            Decision::NotContactable => ("not-contactable", plan.window),
        };
        counted.push(vec![
            text(&task_id),
            text(&plan.dealer),
            text(plan.kind.as_str()),
            text(reason),
            us(window.due_at),
        ]);
    }
    if !tasks.is_empty() {
        insert_rows(
            tx,
            "callback_tasks",
            TASK_COLUMNS,
            "ON CONFLICT (task_id) DO NOTHING",
            &tasks,
        )
        .await?;
    }
    if !counted.is_empty() {
        insert_rows(
            tx,
            "callback_unscheduled",
            &["task_id", "dealer", "kind", "reason", "due_at"],
            "ON CONFLICT (task_id) DO NOTHING",
            &counted,
        )
        .await?;
    }
    Ok(())
}

async fn schedule(
    tx: &mut AnyConnection,
    plan: Planned,
    recorded: Timestamp,
    contactable: bool,
) -> Result<(), sqlx::Error> {
    schedule_all(tx, vec![plan], recorded, contactable).await
}

/// What a visit's scheduling needs, in one statement: whether the vehicle is
/// known and its model, and whom to call (the visit's customer, else the
/// vehicle's owner) and whether they take calls.
struct VisitContext {
    known: bool,
    model: String,
    customer_id: String,
    reachable: bool,
}

async fn visit_context(
    tx: &mut AnyConnection,
    vehicle_id: &str,
    customer_id: &str,
) -> Result<VisitContext, sqlx::Error> {
    let row = sqlx::query(
        "SELECT v.vehicle_id AS known, v.model AS model, v.owner AS owner, \
         c.phone_consent AS consent, c.phone AS phone \
         FROM (SELECT CAST($1 AS TEXT) AS vehicle_id, CAST($2 AS TEXT) AS customer_id) q \
         LEFT JOIN callback_vehicles v ON v.vehicle_id = q.vehicle_id \
         LEFT JOIN callback_customers c ON c.customer_id = \
           CASE WHEN q.customer_id = '' THEN v.owner ELSE q.customer_id END",
    )
    .bind(vehicle_id)
    .bind(customer_id)
    .fetch_one(&mut *tx)
    .await?;
    let owner: Option<String> = row.try_get("owner")?;
    let phone: Option<String> = row.try_get("phone")?;
    Ok(VisitContext {
        known: row.try_get::<Option<String>, _>("known")?.is_some(),
        model: row
            .try_get::<Option<String>, _>("model")?
            .unwrap_or_default(),
        customer_id: if customer_id.is_empty() {
            owner.unwrap_or_default()
        } else {
            customer_id.to_owned()
        },
        reachable: row.try_get::<Option<i64>, _>("consent")? == Some(1)
            && phone.is_some_and(|p| !p.is_empty()),
    })
}

/// The customer's phone consent, name and phone, if the file is known.
async fn customer(
    tx: &mut AnyConnection,
    customer_id: &str,
) -> Result<Option<(bool, String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT phone_consent, name, phone FROM callback_customers WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get::<i64, _>("phone_consent")? == 1,
            r.try_get("name")?,
            r.try_get("phone")?,
        ))
    })
    .transpose()
}

async fn contactable(tx: &mut AnyConnection, customer_id: &str) -> Result<bool, sqlx::Error> {
    Ok(customer(tx, customer_id)
        .await?
        .is_some_and(|(consent, _, phone)| consent && !phone.is_empty()))
}

/// The vehicle's VIN, model and owner, if known.
async fn vehicle(
    tx: &mut AnyConnection,
    vehicle_id: &str,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT vin, model, owner FROM callback_vehicles WHERE vehicle_id = $1")
        .bind(vehicle_id)
        .fetch_optional(&mut *tx)
        .await?;
    row.map(|r| Ok((r.try_get("vin")?, r.try_get("model")?, r.try_get("owner")?)))
        .transpose()
}

async fn readings(tx: &mut AnyConnection, vehicle_id: &str) -> Result<Vec<Reading>, sqlx::Error> {
    let rows = sqlx::query("SELECT day, km FROM callback_readings WHERE vehicle_id = $1")
        .bind(vehicle_id)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let day: String = r.try_get("day").ok()?;
            let km: i64 = r.try_get("km").ok()?;
            Some(Reading {
                on: day.parse().ok()?,
                km: u32::try_from(km).ok()?,
            })
        })
        .collect())
}

/// A visit of `vehicle_id` closed at `closed_at` (on `day` at the dealer):
/// a winback-called vehicle has come back, a reminded one converted, an
/// appointment within a day of it kept.
async fn close_the_loop(
    tx: &mut AnyConnection,
    vehicle_id: &str,
    closed_at: Timestamp,
    day: Date,
) -> Result<(), sqlx::Error> {
    const DAY_MICROS: i64 = 86_400_000_000;
    let around = |days: i64| {
        day.checked_add(jiff::Span::new().days(days))
            .map(|d| d.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    sqlx::query(
        "UPDATE callback_tasks SET \
           returned_at = CASE WHEN returned_at IS NULL AND first_attempt_at IS NOT NULL \
             AND first_attempt_at <= $1 AND ( \
               (kind = 'winback' AND $1 <= first_attempt_at + $3) \
               OR (kind IN ('first-service', 'maintenance') AND $1 <= first_attempt_at + $4)) \
             THEN $1 ELSE returned_at END, \
           kept_at = CASE WHEN kept_at IS NULL AND appointment_day >= $5 \
             AND appointment_day <= $6 THEN $1 ELSE kept_at END \
         WHERE vehicle_id = $2 AND ((returned_at IS NULL AND first_attempt_at IS NOT NULL) \
           OR (kept_at IS NULL AND appointment_day IS NOT NULL))",
    )
    .bind(closed_at.as_microsecond())
    .bind(vehicle_id)
    .bind(RETURN_DAYS * DAY_MICROS)
    .bind(CONVERSION_DAYS * DAY_MICROS)
    .bind(around(-1))
    .bind(around(1))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What the callback context keeps of a customer's profile.
struct CustomerFields {
    name: String,
    phones: Vec<String>,
    /// MM-DD, empty when unknown.
    birthday: String,
}

impl CustomerFields {
    fn of(profile: Option<&intake::CustomerProfile>) -> CustomerFields {
        CustomerFields {
            name: profile.map(|p| p.name.clone()).unwrap_or_default(),
            phones: profile
                .map(|p| p.phones.iter().map(|n| n.number.clone()).collect())
                .unwrap_or_default(),
            birthday: profile
                .and_then(|p| p.birthday)
                .map(|d| format!("{:02}-{:02}", d.month, d.day))
                .unwrap_or_default(),
        }
    }
}

/// A customer's name and numbers from `profile` (when it changed), and a
/// number found `wrong`: calls go to the first number not found wrong.
async fn set_profile(
    tx: &mut AnyConnection,
    customer_id: &str,
    profile: Option<&intake::CustomerProfile>,
    wrong: Option<&str>,
) -> Result<(), sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT name, birthday, phones, wrong_numbers FROM callback_customers \
         WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(());
    };
    let split = |text: String| -> Vec<String> {
        text.split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut name: String = row.try_get("name")?;
    let mut birthday: String = row.try_get("birthday")?;
    let mut phones = split(row.try_get("phones")?);
    let mut wrong_numbers = split(row.try_get("wrong_numbers")?);
    if profile.is_some() {
        let file = CustomerFields::of(profile);
        (name, phones, birthday) = (file.name, file.phones, file.birthday);
    }
    if let Some(number) = wrong
        && !wrong_numbers.iter().any(|n| n == number)
    {
        wrong_numbers.push(number.to_owned());
    }
    let phone = phones
        .iter()
        .find(|p| !wrong_numbers.contains(p))
        .cloned()
        .unwrap_or_default();
    sqlx::query(
        "UPDATE callback_customers SET name = $1, phones = $2, wrong_numbers = $3, phone = $4, \
         birthday = $5 WHERE customer_id = $6",
    )
    .bind(name)
    .bind(phones.join(","))
    .bind(wrong_numbers.join(","))
    .bind(phone)
    .bind(birthday)
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn phone_consent(consents: &[intake::Consent]) -> Option<bool> {
    consents
        .iter()
        .rev()
        .find(|c| c.channel == intake::ContactChannel::Phone as i32)
        .map(|c| c.granted)
}

impl Tasks {
    async fn apply_one(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ApplyError> {
        let poison = |reason: String| ApplyError::Poison {
            position: event.position,
            reason,
        };
        let decode_err = |e: prost::DecodeError| poison(e.to_string());
        let payload = event.data.payload.as_ref();
        let dealer = event.dealer().as_str().to_owned();
        let rules = self.dealers.rules(&dealer);
        let zone = rules.time_zone.clone();
        let rules = &rules.callback;
        let recorded = recorded_at(event);
        match event.data.event_type.as_str() {
            intake_events::CUSTOMER_REGISTERED => {
                let e = intake::CustomerRegistered::decode(payload).map_err(decode_err)?;
                let consent = phone_consent(&e.consents).unwrap_or(false);
                let file = CustomerFields::of(e.profile.as_ref());
                insert_rows(
                    tx,
                    "callback_customers",
                    &[
                        "customer_id",
                        "dealer",
                        "name",
                        "phone",
                        "phone_consent",
                        "phones",
                        "wrong_numbers",
                        "birthday",
                    ],
                    "ON CONFLICT (customer_id) DO NOTHING",
                    &[vec![
                        text(&e.customer_id),
                        text(&dealer),
                        SqlValue::Text(file.name),
                        text(file.phones.first().map_or("", String::as_str)),
                        SqlValue::Int(i64::from(consent)),
                        SqlValue::Text(file.phones.join(",")),
                        text(""),
                        SqlValue::Text(file.birthday),
                    ]],
                )
                .await?;
            }
            intake_events::CUSTOMER_UPDATED => {
                let e = intake::CustomerUpdated::decode(payload).map_err(decode_err)?;
                set_profile(tx, &e.customer_id, e.profile.as_ref(), None).await?;
            }
            intake_events::PHONE_REPORTED_WRONG => {
                let e = intake::PhoneReportedWrong::decode(payload).map_err(decode_err)?;
                set_profile(tx, &e.customer_id, None, Some(&e.number)).await?;
            }
            intake_events::CONTACT_CONSENT_CHANGED => {
                let e = intake::ContactConsentChanged::decode(payload).map_err(decode_err)?;
                if let Some(granted) = phone_consent(e.consent.as_slice()) {
                    sqlx::query(
                        "UPDATE callback_customers SET phone_consent = $1 WHERE customer_id = $2",
                    )
                    .bind(i64::from(granted))
                    .bind(&e.customer_id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            intake_events::VEHICLE_REGISTERED => {
                let e = intake::VehicleRegistered::decode(payload).map_err(decode_err)?;
                let purchased = e
                    .purchase_date
                    .as_ref()
                    .and_then(|d| aftercare_proto::calendar::date(d).ok())
                    .map(|d| d.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                insert_rows(
                    tx,
                    "callback_vehicles",
                    &[
                        "vehicle_id",
                        "dealer",
                        "vin",
                        "model",
                        "owner",
                        "purchase_date",
                    ],
                    "ON CONFLICT (vehicle_id) DO UPDATE SET vin = excluded.vin, \
                     model = excluded.model, owner = excluded.owner, \
                     purchase_date = excluded.purchase_date",
                    &[vec![
                        text(&e.vehicle_id),
                        text(&dealer),
                        text(&e.vin),
                        text(&e.model),
                        text(&e.owner_customer_id),
                        SqlValue::Text(purchased),
                    ]],
                )
                .await?;
                if let Some(expiry) = e.insurance_expiry.as_ref() {
                    self.insurance(tx, &dealer, &e.vehicle_id, expiry, recorded)
                        .await?;
                }
            }
            intake_events::VEHICLE_UPDATED => {
                let e = intake::VehicleUpdated::decode(payload).map_err(decode_err)?;
                if !e.model.is_empty() {
                    sqlx::query("UPDATE callback_vehicles SET model = $1 WHERE vehicle_id = $2")
                        .bind(&e.model)
                        .bind(&e.vehicle_id)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(expiry) = e.insurance_expiry.as_ref() {
                    self.insurance(tx, &dealer, &e.vehicle_id, expiry, recorded)
                        .await?;
                }
            }
            intake_events::VEHICLE_OWNERSHIP_TRANSFERRED => {
                let e = intake::VehicleOwnershipTransferred::decode(payload).map_err(decode_err)?;
                sqlx::query("UPDATE callback_vehicles SET owner = $1 WHERE vehicle_id = $2")
                    .bind(&e.to_customer_id)
                    .bind(&e.vehicle_id)
                    .execute(&mut *tx)
                    .await?;
            }
            intake_events::VEHICLE_SOLD => {
                let e = intake::VehicleSold::decode(payload).map_err(decode_err)?;
                let sold_on = e
                    .sold_on
                    .as_ref()
                    .and_then(|d| aftercare_proto::calendar::date(d).ok())
                    .ok_or_else(|| poison("VehicleSold without a valid sold_on".into()))?;
                insert_rows(
                    tx,
                    "callback_vehicles",
                    &[
                        "vehicle_id",
                        "dealer",
                        "vin",
                        "model",
                        "owner",
                        "purchase_date",
                    ],
                    "ON CONFLICT (vehicle_id) DO UPDATE SET owner = excluded.owner, \
                     purchase_date = excluded.purchase_date",
                    &[vec![
                        text(&e.vehicle_id),
                        text(&dealer),
                        text(&e.vin),
                        text(&e.model),
                        text(&e.buyer_customer_id),
                        SqlValue::Text(sold_on.strftime("%Y-%m-%d").to_string()),
                    ]],
                )
                .await?;
                let model = vehicle(tx, &e.vehicle_id)
                    .await?
                    .map(|(_, model, _)| model)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| e.model.clone());
                let reachable = contactable(tx, &e.buyer_customer_id).await?;
                let on = sold_on.strftime("%Y-%m-%d").to_string();
                let whom = Whom {
                    customer_id: e.buyer_customer_id.clone(),
                    vehicle_id: e.vehicle_id.clone(),
                    vin: e.vin.clone(),
                    model: model.clone(),
                    ..Whom::default()
                };
                let plan = |kind: Kind, window: Window, cause: String| Planned {
                    dealer: dealer.clone(),
                    kind,
                    cause_id: e.sale_id.clone(),
                    cause,
                    whom: whom.clone(),
                    assignee: String::new(),
                    group: String::new(),
                    window,
                };
                schedule(
                    tx,
                    plan(
                        Kind::PostSale,
                        schedule::post_sale(sold_on, rules, &zone),
                        format!("delivered {on} by {}", e.sales_consultant),
                    ),
                    recorded,
                    reachable,
                )
                .await?;
                schedule(
                    tx,
                    plan(
                        Kind::FirstServiceReminder,
                        schedule::first_service(sold_on, &model, rules, &zone),
                        format!("first service after the delivery of {on}"),
                    ),
                    recorded,
                    reachable,
                )
                .await?;
            }
            intake_events::VISIT_RECORDED => {
                let e = intake::VisitRecorded::decode(payload).map_err(decode_err)?;
                let closed_at = e
                    .closed_at
                    .as_ref()
                    .and_then(instant)
                    .ok_or_else(|| poison("VisitRecorded without a valid closed_at".into()))?;
                let day: Date = closed_at.to_zoned(zone.clone()).date();
                if e.mileage_km > 0 {
                    insert_rows(
                        tx,
                        "callback_readings",
                        &["vehicle_id", "visit_id", "day", "km"],
                        "ON CONFLICT (vehicle_id, visit_id) DO NOTHING",
                        &[vec![
                            text(&e.vehicle_id),
                            text(&e.visit_id),
                            SqlValue::Text(day.strftime("%Y-%m-%d").to_string()),
                            SqlValue::Int(i64::from(e.mileage_km)),
                        ]],
                    )
                    .await?;
                }
                close_the_loop(tx, &e.vehicle_id, closed_at, day).await?;
                let context = visit_context(tx, &e.vehicle_id, &e.customer_id).await?;
                if !context.known {
                    insert_rows(
                        tx,
                        "callback_vehicles",
                        &["vehicle_id", "dealer", "vin", "model", "owner"],
                        "ON CONFLICT (vehicle_id) DO NOTHING",
                        &[vec![
                            text(&e.vehicle_id),
                            text(&dealer),
                            text(&e.vin),
                            text(""),
                            text(&e.customer_id),
                        ]],
                    )
                    .await?;
                }
                let on = day.strftime("%Y-%m-%d").to_string();
                let whom = Whom {
                    customer_id: context.customer_id.clone(),
                    vehicle_id: e.vehicle_id.clone(),
                    vin: e.vin.clone(),
                    model: context.model.clone(),
                    ..Whom::default()
                };
                let plan = |kind: Kind, window: Window, cause: String| Planned {
                    dealer: dealer.clone(),
                    kind,
                    cause_id: e.visit_id.clone(),
                    cause,
                    whom: whom.clone(),
                    assignee: String::new(),
                    group: e.advisor_group.clone(),
                    window,
                };
                let mut plans = vec![plan(
                    Kind::PostService,
                    schedule::post_service(closed_at, rules, &zone),
                    format!(
                        "visit {} on {on}, advisor {}",
                        e.repair_order, e.service_advisor
                    ),
                )];
                if e.kind == intake::VisitKind::Maintenance as i32 {
                    let visit = Reading {
                        on: day,
                        km: e.mileage_km,
                    };
                    let history = readings(tx, &e.vehicle_id).await?;
                    let window = schedule::maintenance(visit, &history, rules, &zone);
                    // The reminders this visit answers are moot: those of the
                    // vehicle opening before the one it schedules (a visit
                    // recorded late, older than the last one, leaves the
                    // newer reminder be), not yet called.
                    sqlx::query(
                        "UPDATE callback_tasks SET status = 'superseded' \
                         WHERE vehicle_id = $1 AND kind IN ('first-service', 'maintenance') \
                         AND status = 'open' AND attempts = 0 AND opens_at < $2",
                    )
                    .bind(&e.vehicle_id)
                    .bind(window.opens_at.as_microsecond())
                    .execute(&mut *tx)
                    .await?;
                    plans.push(plan(
                        Kind::MaintenanceReminder,
                        window,
                        format!("maintenance after visit {} on {on}", e.repair_order),
                    ));
                }
                schedule_all(tx, plans, recorded, context.reachable).await?;
            }
            intake_events::LEAD_CAPTURED => {
                let e = intake::LeadCaptured::decode(payload).map_err(decode_err)?;
                let called = [
                    intake::LeadSource::Hotline as i32,
                    intake::LeadSource::Web as i32,
                    intake::LeadSource::Oem as i32,
                ];
                if called.contains(&e.source) {
                    let phone = e.phone.map(|p| p.number).unwrap_or_default();
                    let due = e.first_contact_due_at.as_ref().and_then(instant);
                    let source =
                        intake::LeadSource::try_from(e.source).map_or("lead", |s| match s {
                            intake::LeadSource::Hotline => "hotline lead",
                            intake::LeadSource::Web => "web lead",
                            _ => "OEM lead",
                        });
                    let reachable = !phone.is_empty();
                    let report_due = e.oem_report_due_at.as_ref().and_then(instant);
                    let lead_id = e.lead_id.clone();
                    let oem_reference = e.oem_reference.clone();
                    schedule(
                        tx,
                        Planned {
                            dealer: dealer.clone(),
                            kind: Kind::LeadFirstContact,
                            cause_id: e.lead_id.clone(),
                            cause: format!("{source}, interested in {}", e.model_of_interest),
                            whom: Whom {
                                model: e.model_of_interest.clone(),
                                lead_id: e.lead_id.clone(),
                                contact_name: e.name.clone(),
                                contact_phone: phone,
                                ..Whom::default()
                            },
                            assignee: String::new(),
                            group: String::new(),
                            window: schedule::lead(recorded, due, rules),
                        },
                        recorded,
                        reachable,
                    )
                    .await?;
                    if !oem_reference.is_empty() {
                        let task_id = schedule::task_id(&dealer, Kind::LeadFirstContact, &lead_id)
                            .to_string();
                        sqlx::query(
                            "UPDATE callback_tasks SET oem_reference = $1, report_due_at = $2 \
                             WHERE task_id = $3",
                        )
                        .bind(&oem_reference)
                        .bind(report_due.map(|t| t.as_microsecond()))
                        .bind(task_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            analytics_events::CHURN_RISK_RAISED => {
                let e = analytics::ChurnRiskRaised::decode(payload).map_err(decode_err)?;
                let (vin, model, owner) = vehicle(tx, &e.vehicle_id)
                    .await?
                    .unwrap_or_else(|| (e.vin.clone(), String::new(), String::new()));
                let reachable = contactable(tx, &owner).await?;
                schedule(
                    tx,
                    Planned {
                        dealer: dealer.clone(),
                        kind: Kind::ChurnRisk,
                        cause_id: format!("{}/{}", e.vehicle_id, event.data.event_id),
                        cause: format!(
                            "likely to churn: {:.0}% within the coming months, {} months since the last visit",
                            e.risk * 100.0,
                            e.months_since_last_visit
                        ),
                        whom: Whom {
                            customer_id: owner,
                            vehicle_id: e.vehicle_id.clone(),
                            vin,
                            model,
                            ..Whom::default()
                        },
                        assignee: String::new(),
                        group: String::new(),
                        window: schedule::churn_risk(event.data.occurred_at, rules, &zone),
                    },
                    recorded,
                    reachable,
                )
                .await?;
            }
            analytics_events::VEHICLE_CHURN_STATUS_CHANGED => {
                let e =
                    analytics::VehicleChurnStatusChanged::decode(payload).map_err(decode_err)?;
                let churned = |s: i32| {
                    [
                        analytics::Segment::Churned as i32,
                        analytics::Segment::Drifting as i32,
                        analytics::Segment::FullyChurned as i32,
                    ]
                    .contains(&s)
                };
                if e.to == analytics::Segment::Churned as i32 && !churned(e.from) {
                    let (vin, model, owner) = vehicle(tx, &e.vehicle_id)
                        .await?
                        .unwrap_or_else(|| (e.vin.clone(), String::new(), String::new()));
                    let reachable = contactable(tx, &owner).await?;
                    let month = e
                        .as_of
                        .map(|m| format!("{:04}-{:02}", m.year, m.month))
                        .unwrap_or_default();
                    schedule(
                        tx,
                        Planned {
                            dealer: dealer.clone(),
                            kind: Kind::Winback,
                            cause_id: format!("{}/{}", e.vehicle_id, event.data.event_id),
                            cause: format!(
                                "no visit for {} months (churned in {month})",
                                e.months_since_last_visit
                            ),
                            whom: Whom {
                                customer_id: owner,
                                vehicle_id: e.vehicle_id.clone(),
                                vin,
                                model,
                                ..Whom::default()
                            },
                            assignee: e.service_advisor.clone(),
                            group: e.advisor_group.clone(),
                            window: schedule::winback(event.data.occurred_at, rules, &zone),
                        },
                        recorded,
                        reachable,
                    )
                    .await?;
                }
            }
            _ if event.stream.aggregate() == events::AGGREGATE => {
                let task = event.stream.id().to_owned();
                match events::decode(event).map_err(poison)? {
                    Event::Scheduled(t) => {
                        let (vin, model, _) = vehicle(tx, &t.vehicle_id).await?.unwrap_or_default();
                        insert_rows(
                            tx,
                            "callback_tasks",
                            TASK_COLUMNS,
                            "ON CONFLICT (task_id) DO NOTHING",
                            &[vec![
                                text(&task),
                                text(&dealer),
                                text(t.kind.as_str()),
                                text("open"),
                                text(&t.customer_id),
                                text(&t.vehicle_id),
                                SqlValue::Text(vin),
                                SqlValue::Text(model),
                                text(""),
                                text(""),
                                text(""),
                                text(""),
                                text(""),
                                text(&t.cause),
                                us(t.window.opens_at),
                                us(t.window.due_at),
                                us(t.window.closes_at),
                                SqlValue::Int(0),
                                text(""),
                                text(""),
                            ]],
                        )
                        .await?;
                    }
                    Event::Claimed { agent, .. } => {
                        sqlx::query(
                            "UPDATE callback_tasks SET claimed_by = $1, \
                             status = CASE WHEN status = 'open' THEN 'claimed' ELSE status END \
                             WHERE task_id = $2",
                        )
                        .bind(agent)
                        .bind(&task)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Event::Reassigned { to, .. } => {
                        sqlx::query(
                            "UPDATE callback_tasks SET claimed_by = $1, assignee = $1, \
                             status = CASE WHEN status = 'open' THEN 'claimed' ELSE status END \
                             WHERE task_id = $2",
                        )
                        .bind(to)
                        .bind(&task)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Event::Attempted {
                        result,
                        agent,
                        at,
                        attempt,
                        retry_at,
                        closed,
                        ..
                    } => {
                        let status = if result == AttemptResult::Reached {
                            "reached"
                        } else if closed {
                            "unreached"
                        } else {
                            "claimed"
                        };
                        let at = at.as_microsecond();
                        sqlx::query(
                            "UPDATE callback_tasks SET attempts = $1, \
                             first_attempt_at = COALESCE(first_attempt_at, $2), \
                             next_attempt_at = $3, caller = $4, status = $5, \
                             reached_at = CASE WHEN $5 = 'reached' THEN $2 ELSE reached_at END, \
                             closed_at = CASE WHEN $6 = 1 THEN $2 ELSE closed_at END \
                             WHERE task_id = $7",
                        )
                        .bind(i64::from(attempt))
                        .bind(at)
                        .bind(retry_at.map(|t| t.as_microsecond()))
                        .bind(agent)
                        .bind(status)
                        .bind(i64::from(closed))
                        .bind(&task)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Event::ReportMissed { .. } => {
                        sqlx::query(
                            "UPDATE callback_tasks SET report_missed = 1 WHERE task_id = $1",
                        )
                        .bind(&task)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Event::OutcomeRecorded(o) => {
                        sqlx::query(
                            "UPDATE callback_tasks SET satisfaction = $1, appointment_day = $2, \
                             appointment_slot = $3, churn_reason = $4, complaint = $5 \
                             WHERE task_id = $6",
                        )
                        .bind(o.satisfaction.map(i64::from))
                        .bind(
                            o.appointment
                                .map(|(d, _)| d.strftime("%Y-%m-%d").to_string()),
                        )
                        .bind(o.appointment.map(|(_, s)| i64::from(s)))
                        .bind(o.churn_reason.map(i64::from))
                        .bind(i64::from(o.complaint.is_some()))
                        .bind(&task)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Tasks {
    /// The insurance renewal call of a policy expiring on `expiry`; an open
    /// call for an earlier expiry of the vehicle, not yet attempted, is moot.
    async fn insurance(
        &self,
        tx: &mut AnyConnection,
        dealer: &str,
        vehicle_id: &str,
        expiry: &aftercare_proto::common::v1::Date,
        recorded: Timestamp,
    ) -> Result<(), ApplyError> {
        let Ok(expiry) = aftercare_proto::calendar::date(expiry) else {
            return Ok(());
        };
        let rules = self.dealers.rules(dealer);
        let (vin, model, owner) = vehicle(tx, vehicle_id).await?.unwrap_or_default();
        let on = expiry.strftime("%Y-%m-%d").to_string();
        let cause_id = format!("{vehicle_id}/{on}");
        let task_id = schedule::task_id(dealer, Kind::InsuranceReminder, &cause_id).to_string();
        sqlx::query(
            "UPDATE callback_tasks SET status = 'superseded' WHERE vehicle_id = $1 \
             AND kind = 'insurance' AND status = 'open' AND attempts = 0 AND task_id <> $2",
        )
        .bind(vehicle_id)
        .bind(&task_id)
        .execute(&mut *tx)
        .await?;
        let reachable = contactable(tx, &owner).await?;
        schedule(
            tx,
            Planned {
                dealer: dealer.to_owned(),
                kind: Kind::InsuranceReminder,
                cause_id,
                cause: format!("insurance expires on {on}"),
                whom: Whom {
                    customer_id: owner,
                    vehicle_id: vehicle_id.to_owned(),
                    vin,
                    model,
                    ..Whom::default()
                },
                assignee: String::new(),
                group: String::new(),
                window: schedule::insurance(expiry, &rules.callback, &rules.time_zone),
            },
            recorded,
            reachable,
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Projection for Tasks {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aggregates::CUSTOMER)
            .or_aggregate(aggregates::VEHICLE)
            .or_aggregate(aggregates::VISIT)
            .or_aggregate(aggregates::LEAD)
            .or_aggregate(aggregates::VEHICLE_CHURN)
            .or_aggregate(aggregates::VEHICLE_RISK)
            .or_aggregate(events::AGGREGATE)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "callback_tasks",
            "callback_unscheduled",
            "callback_readings",
            "callback_vehicles",
            "callback_customers",
        ]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        for event in batch {
            self.apply_one(tx, event).await?;
        }
        Ok(())
    }
}
