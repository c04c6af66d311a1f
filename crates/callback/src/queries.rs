//! Reading the worklist, one task and the month's measures, always under the
//! caller's dealer, with names and phones masked as the caller's role allows.

use std::collections::BTreeMap;

use aftercare_proto::calendar::timestamp;
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::common::v1::DealerId as DealerField;
use aftercare_runtime::paging::Page;
use aftercare_runtime::projection::wait_for_consistency;
use aftercare_runtime::{PersonalData, Principal, ServiceError};
use jiff::Timestamp;
use sqlx::Row;

use crate::api::{CallbackApi, READERS};
use crate::domain::Kind;
use crate::domain::measures::{Line, Tally};
use crate::events::{appointment_to, kind_from, kind_to};

const SELECT: &str = "SELECT t.task_id, t.dealer, t.kind, t.status, t.customer_id, t.vehicle_id, \
     t.vin, t.model, t.lead_id, t.contact_name, t.contact_phone, t.assignee, t.claimed_by, \
     t.cause, t.opens_at, t.due_at, t.attempts, t.next_attempt_at, t.satisfaction, \
     t.appointment_day, t.appointment_slot, t.churn_reason, t.complaint, t.returned_at, \
     t.kept_at, \
     COALESCE(c.name, '') AS customer_name, COALESCE(c.phone, '') AS customer_phone \
     FROM callback_tasks t LEFT JOIN callback_customers c ON c.customer_id = t.customer_id";

fn status_of(text: &str) -> pb::TaskStatus {
    match text {
        "open" => pb::TaskStatus::Open,
        "claimed" => pb::TaskStatus::Claimed,
        "reached" => pb::TaskStatus::Reached,
        "unreached" => pb::TaskStatus::Unreached,
        "superseded" => pb::TaskStatus::Superseded,
        _ => pb::TaskStatus::Unspecified,
    }
}

fn micros(value: i64) -> Option<prost_types::Timestamp> {
    Timestamp::from_microsecond(value).ok().map(timestamp)
}

impl CallbackApi {
    fn task_message(
        &self,
        row: &sqlx::any::AnyRow,
        personal: PersonalData,
        now: Timestamp,
    ) -> Result<pb::Task, ServiceError> {
        let dealer: String = row.try_get("dealer")?;
        let rules = self.dealers.rules(&dealer);
        let kind: String = row.try_get("kind")?;
        let status: String = row.try_get("status")?;
        let due_at: i64 = row.try_get("due_at")?;
        let due = Timestamp::from_microsecond(due_at).unwrap_or(Timestamp::MAX);
        let (name, phone) = {
            let lead_name: String = row.try_get("contact_name")?;
            if lead_name.is_empty() && row.try_get::<String, _>("lead_id")?.is_empty() {
                (
                    row.try_get::<String, _>("customer_name")?,
                    row.try_get::<String, _>("customer_phone")?,
                )
            } else {
                (lead_name, row.try_get("contact_phone")?)
            }
        };
        let appointment_day: Option<String> = row.try_get("appointment_day")?;
        let appointment_slot: Option<i64> = row.try_get("appointment_slot")?;
        let appointment = appointment_day
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .map(|d| (d, appointment_slot.unwrap_or(0) as u32));
        let open = matches!(status.as_str(), "open" | "claimed");
        Ok(pb::Task {
            task_id: row.try_get("task_id")?,
            dealer: Some(DealerField {
                value: dealer.clone(),
            }),
            kind: Kind::parse(&kind).map_or(0, |k| kind_to(k) as i32),
            status: status_of(&status) as i32,
            customer_id: row.try_get("customer_id")?,
            customer_name: if name.is_empty() {
                name
            } else {
                personal.name(&name)
            },
            phone: if phone.is_empty() {
                phone
            } else {
                personal.phone(&phone)
            },
            vehicle_id: row.try_get("vehicle_id")?,
            vin: {
                let vin: String = row.try_get("vin")?;
                if vin.is_empty() {
                    vin
                } else {
                    personal.vin(&vin)
                }
            },
            model: row.try_get("model")?,
            lead_id: row.try_get("lead_id")?,
            assignee: row.try_get("assignee")?,
            claimed_by: row.try_get("claimed_by")?,
            opens_at: micros(row.try_get("opens_at")?),
            due_at: micros(due_at),
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            next_attempt_at: row
                .try_get::<Option<i64>, _>("next_attempt_at")?
                .and_then(micros),
            satisfaction: row.try_get::<Option<i64>, _>("satisfaction")?.unwrap_or(0) as i32,
            appointment: appointment_to(appointment),
            churn_reason: row.try_get::<Option<i64>, _>("churn_reason")?.unwrap_or(0) as i32,
            cause: row.try_get("cause")?,
            due_at_text: rules.language.time(due, &rules.time_zone),
            overdue: open && due < now,
            complaint: row.try_get::<i64, _>("complaint")? != 0,
            returned: row.try_get::<Option<i64>, _>("returned_at")?.is_some(),
            appointment_kept: row.try_get::<Option<i64>, _>("kept_at")?.is_some(),
        })
    }

    /// `as_of` as asked: now when unset; the future only where the
    /// configuration allows it (tests).
    pub(crate) fn as_of(
        &self,
        value: Option<&prost_types::Timestamp>,
    ) -> Result<Timestamp, ServiceError> {
        match value {
            Some(v) if self.allow_future_as_of => aftercare_proto::calendar::instant(v)
                .map_err(|reason| ServiceError::invalid("as_of", reason)),
            v => crate::api::given_time("as_of", v),
        }
    }

    pub(crate) async fn worklist(
        &self,
        principal: &Principal,
        body: &pb::WorklistRequest,
    ) -> Result<pb::WorklistResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let page = Page::of(body.page.as_ref(), 50, 500)?;
        let as_of = self.as_of(body.as_of.as_ref())?;
        let mut kinds = Vec::new();
        for (i, k) in body.kinds.iter().enumerate() {
            kinds.push(kind_from(*k).ok_or_else(|| {
                ServiceError::invalid(format!("kinds[{i}]"), format!("{k} is not a task kind"))
            })?);
        }
        wait_for_consistency(
            self.tasks.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let at = as_of.as_microsecond();
        let mut filter = format!(
            " WHERE t.dealer = $1 AND t.status IN ('open', 'claimed') AND t.opens_at <= {at} \
             AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= {at})"
        );
        let assignee = body.assignee.trim();
        if !assignee.is_empty() {
            filter.push_str(" AND (t.assignee = $2 OR t.claimed_by = $2)");
        }
        if !kinds.is_empty() {
            let names: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
            filter.push_str(&format!(" AND t.kind IN ({})", names.join(", ")));
        }
        // How many match, and how many of those are overdue, in one pass.
        let count = format!(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN t.due_at < {at} THEN 1 ELSE 0 END), 0) AS overdue \
             FROM callback_tasks t{filter}"
        );
        let mut counted = sqlx::query(&count).bind(dealer.as_str());
        if !assignee.is_empty() {
            counted = counted.bind(assignee);
        }
        let counted = counted.fetch_one(&self.db.pool).await?;
        let total: i64 = counted.try_get("total")?;
        let overdue: i64 = counted.try_get("overdue")?;
        let select = format!(
            "{SELECT}{filter} ORDER BY t.due_at, t.task_id LIMIT {} OFFSET {}",
            page.fetch(),
            page.offset
        );
        let mut query = sqlx::query(&select).bind(dealer.as_str());
        if !assignee.is_empty() {
            query = query.bind(assignee);
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        let personal = PersonalData::for_principal(principal);
        let found = rows.len();
        let tasks = rows
            .iter()
            .take(page.size as usize)
            .map(|row| self.task_message(row, personal, as_of))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pb::WorklistResponse {
            tasks,
            page: Some(page.response(found, total as u64)),
            total: total as u64,
            overdue: overdue as u64,
        })
    }

    pub(crate) async fn get(
        &self,
        principal: &Principal,
        body: &pb::GetTaskRequest,
    ) -> Result<pb::Task, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let task = crate::api::task_id(&body.task_id)?;
        wait_for_consistency(
            self.tasks.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let row = sqlx::query(&format!("{SELECT} WHERE t.task_id = $1 AND t.dealer = $2"))
            .bind(&task)
            .bind(dealer.as_str())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("task {task} at dealer {dealer}")))?;
        self.task_message(
            &row,
            PersonalData::for_principal(principal),
            Timestamp::now(),
        )
    }

    pub(crate) async fn measures(
        &self,
        principal: &Principal,
        body: &pb::MeasuresRequest,
    ) -> Result<pb::MeasuresResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let month = body
            .month
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("month", "is required"))?;
        let (year, month) = aftercare_proto::calendar::year_month(month)
            .map_err(|reason| ServiceError::invalid("month", reason))?;
        wait_for_consistency(
            self.tasks.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let zone = &self.dealers.rules(dealer.as_str()).time_zone;
        let (from, to) = aftercare_kernel::Month::new(year, month)
            .bounds_at(zone)
            .map(|(from, to)| (from.as_microsecond(), to.as_microsecond()))
            .ok_or_else(|| ServiceError::invalid("month", "has no bounds at the dealer"))?;
        let crate::queries::Month {
            dealer: tally,
            people,
            ..
        } = tally_month(&self.db, dealer.as_str(), from, to, zone).await?;
        let unscheduled = |reason: &'static str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM callback_unscheduled \
                 WHERE dealer = $1 AND reason = $2 AND due_at >= $3 AND due_at < $4",
            )
            .bind(dealer.as_str())
            .bind(reason)
            .bind(from)
            .bind(to)
        };
        let not_contactable = unscheduled("not-contactable")
            .fetch_one(&self.db.pool)
            .await?;
        let history = unscheduled("history").fetch_one(&self.db.pool).await?;
        Ok(pb::MeasuresResponse {
            dealer: Some(figures(&tally)),
            people: people
                .into_iter()
                .map(|(person, t)| pb::PersonFigures {
                    person,
                    figures: Some(figures(&t)),
                })
                .collect(),
            not_contactable: not_contactable as u64,
            not_scheduled_history: history as u64,
        })
    }
}

/// A month's measures: the dealer's counts, each person's, and the calls
/// each person made by advisor group.
pub struct Month {
    pub dealer: Tally,
    pub people: BTreeMap<String, Tally>,
    pub calls_by_group: BTreeMap<(String, String), u64>,
    /// The tasks of each advisor group's causes.
    pub groups: BTreeMap<String, Tally>,
}

/// The measures' counts of the tasks of `dealer` due in `[from, to)`.
pub async fn tally_month(
    db: &aftercare_runtime::Database,
    dealer: &str,
    from: i64,
    to: i64,
    zone: &jiff::tz::TimeZone,
) -> Result<Month, ServiceError> {
    let rows = sqlx::query(
        "SELECT kind, status, assignee, claimed_by, caller, due_at, first_attempt_at, \
         attempts, satisfaction, appointment_day, returned_at, kept_at, advisor_group \
         FROM callback_tasks \
         WHERE dealer = $1 AND due_at >= $2 AND due_at < $3 AND status <> 'superseded'",
    )
    .bind(dealer)
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    // An appointment counts for the show rate once the day after it has passed.
    let today = Timestamp::now().to_zoned(zone.clone()).date();
    let passed = today
        .checked_sub(jiff::Span::new().days(1))
        .unwrap_or(today)
        .strftime("%Y-%m-%d")
        .to_string();
    let mut month = Month {
        dealer: Tally::default(),
        people: BTreeMap::new(),
        calls_by_group: BTreeMap::new(),
        groups: BTreeMap::new(),
    };
    for row in &rows {
        let (line, who) = line_of(row, &passed)?;
        month.dealer.add(&line);
        let group: String = row.try_get("advisor_group")?;
        if !group.is_empty() {
            month.groups.entry(group.clone()).or_default().add(&line);
        }
        if let Some(who) = who {
            if line.attempts > 0 && !group.is_empty() {
                *month
                    .calls_by_group
                    .entry((who.clone(), group))
                    .or_default() += 1;
            }
            month.people.entry(who).or_default().add(&line);
        }
    }
    Ok(month)
}

/// One task of the month as the read model has it: the measures' line and
/// who it is counted for (the caller, else who claimed it, else the assignee).
fn line_of(row: &sqlx::any::AnyRow, passed: &str) -> Result<(Line, Option<String>), sqlx::Error> {
    let appointment_day: Option<String> = row.try_get("appointment_day")?;
    let line = Line {
        kind: Kind::parse(&row.try_get::<String, _>("kind")?),
        status: row.try_get("status")?,
        due_at: row.try_get("due_at")?,
        first_attempt_at: row.try_get("first_attempt_at")?,
        attempts: row.try_get("attempts")?,
        satisfaction: row.try_get("satisfaction")?,
        appointment: appointment_day.is_some(),
        appointment_passed: appointment_day.is_some_and(|d| d.as_str() < passed),
        returned: row.try_get::<Option<i64>, _>("returned_at")?.is_some(),
        kept: row.try_get::<Option<i64>, _>("kept_at")?.is_some(),
    };
    let mut who = None;
    for column in ["caller", "claimed_by", "assignee"] {
        let person: String = row.try_get(column)?;
        if !person.is_empty() {
            who = Some(person);
            break;
        }
    }
    Ok((line, who))
}

fn figures(tally: &Tally) -> pb::Figures {
    let ratio = |numerator: u64, denominator: u64| {
        Some(pb::Ratio {
            numerator,
            denominator,
            rate: if denominator == 0 {
                0.0
            } else {
                numerator as f64 / denominator as f64
            },
        })
    };
    pb::Figures {
        callback_rate: ratio(tally.callbacks_in_window, tally.callbacks_due),
        reach_rate: ratio(tally.reached, tally.attempted),
        sales_satisfaction: ratio(tally.sales_satisfied, tally.sales_rated),
        service_satisfaction: ratio(tally.service_satisfied, tally.service_rated),
        lead_compliance: ratio(tally.leads_in_time, tally.leads_due),
        winback_appointment_rate: ratio(tally.winback_appointments, tally.winback_called),
        unreached: tally.unreached,
        return_rate: ratio(tally.winback_returned, tally.winback_called),
        reminder_conversion: ratio(tally.reminders_converted, tally.reminders_called),
        appointment_show_rate: ratio(tally.appointments_kept, tally.appointments_due),
        appointment_rate: ratio(tally.appointments, tally.reached),
    }
}
