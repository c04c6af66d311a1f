//! Which cause schedules which task, with which window: from when the call makes
//! sense (`opens_at`), the deadline it is measured against (`due_at`), and
//! when it is no longer worth making (`closes_at`). A cause whose window had
//! closed when it was recorded is history (a backfill), not a call to make;
//! a customer who consented to no phone calls is not contactable.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use super::Kind;
use super::mileage::{Reading, day_reaching, km_per_day};
use super::rules::{CallbackRules, Interval};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub opens_at: Timestamp,
    pub due_at: Timestamp,
    pub closes_at: Timestamp,
}

/// What becomes of a cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Schedule(Window),
    /// Its window had closed when the cause was recorded.
    History(Window),
    /// The customer consented to no calls.
    NotContactable,
}

/// The decision for a task of `window`, its cause recorded at `recorded_at`.
pub fn decide(window: Window, recorded_at: Timestamp, contactable: bool) -> Decision {
    if window.closes_at < recorded_at {
        Decision::History(window)
    } else if !contactable {
        Decision::NotContactable
    } else {
        Decision::Schedule(window)
    }
}

fn end_of(day: Date, zone: &TimeZone) -> Timestamp {
    aftercare_kernel::dealer_time::end_of_day(day, zone).unwrap_or(Timestamp::MAX)
}

fn start_of(day: Date, zone: &TimeZone) -> Timestamp {
    day.to_zoned(zone.clone())
        .map_or(Timestamp::MIN, |z| z.timestamp())
}

fn plus_days(day: Date, days: u32) -> Date {
    day.checked_add(Span::new().days(i64::from(days)))
        .unwrap_or(Date::MAX)
}

fn minus_days(day: Date, days: u32) -> Date {
    day.checked_sub(Span::new().days(i64::from(days)))
        .unwrap_or(Date::MIN)
}

fn plus_months(day: Date, months: u32) -> Date {
    day.checked_add(Span::new().months(i64::from(months)))
        .unwrap_or(Date::MAX)
}

/// The post-sale callback of a delivery on `sold_on`: by the end of the Nth day after.
pub fn post_sale(sold_on: Date, rules: &CallbackRules, zone: &TimeZone) -> Window {
    let due_at = end_of(plus_days(sold_on, rules.post_sale_days), zone);
    Window {
        opens_at: start_of(sold_on, zone),
        due_at,
        closes_at: due_at,
    }
}

/// The post-service callback of a visit closed at `closed_at`.
pub fn post_service(closed_at: Timestamp, rules: &CallbackRules, zone: &TimeZone) -> Window {
    let day = closed_at.to_zoned(zone.clone()).date();
    let due_at = end_of(plus_days(day, rules.post_service_days), zone);
    Window {
        opens_at: closed_at,
        due_at,
        closes_at: due_at,
    }
}

/// A lead's first contact: due at its 30-minute deadline (the lead's own when it
/// has one), worth making for some days after.
pub fn lead(captured_at: Timestamp, due_at: Option<Timestamp>, rules: &CallbackRules) -> Window {
    let due_at = due_at.unwrap_or_else(|| {
        captured_at
            .checked_add(Span::new().minutes(i64::from(rules.lead_minutes)))
            .unwrap_or(Timestamp::MAX)
    });
    let closes_at = captured_at
        .checked_add(Span::new().hours(24 * i64::from(rules.lead_open_days)))
        .unwrap_or(Timestamp::MAX);
    Window {
        opens_at: captured_at,
        due_at,
        closes_at: closes_at.max(due_at),
    }
}

/// The call of a vehicle analytics warned about at `changed_at`: as soon as a
/// winback call, before the vehicle churns.
pub fn churn_risk(raised_at: Timestamp, rules: &CallbackRules, zone: &TimeZone) -> Window {
    winback(raised_at, rules, zone)
}

/// The winback call of a vehicle that became churned at `changed_at`.
pub fn winback(changed_at: Timestamp, rules: &CallbackRules, zone: &TimeZone) -> Window {
    let day = changed_at.to_zoned(zone.clone()).date();
    let due_at = end_of(plus_days(day, rules.winback_days), zone);
    Window {
        opens_at: changed_at,
        due_at,
        closes_at: due_at,
    }
}

/// The day a service falls due: `interval` after `from` (a day and its
/// odometer reading) by time, or by kilometres at the owner's rate, whichever
/// comes first. The rate comes from `readings` (the vehicle's visits) or, when
/// they tell nothing, the dealer's default.
pub fn service_due(
    from: Reading,
    interval: &Interval,
    readings: &[Reading],
    rules: &CallbackRules,
) -> Date {
    let by_time = plus_months(from.on, interval.months);
    let rate = km_per_day(readings).unwrap_or(f64::from(rules.default_km_per_day));
    match day_reaching(from.on, interval.km, rate) {
        Some(by_km) if by_km < by_time => by_km,
        _ => by_time,
    }
}

/// A reminder of a service due on `due`: on the worklist some days before,
/// due at the end of that day, kept some days after.
pub fn reminder(due: Date, rules: &CallbackRules, zone: &TimeZone) -> Window {
    Window {
        opens_at: start_of(minus_days(due, rules.reminder_lead_days), zone),
        due_at: end_of(due, zone),
        closes_at: end_of(plus_days(due, rules.reminder_grace_days), zone),
    }
}

/// The first-service reminder of a vehicle sold on `sold_on` (0 km).
pub fn first_service(sold_on: Date, model: &str, rules: &CallbackRules, zone: &TimeZone) -> Window {
    let due = service_due(
        Reading { on: sold_on, km: 0 },
        rules.first_service_of(model),
        &[],
        rules,
    );
    reminder(due, rules, zone)
}

/// The maintenance reminder after a maintenance visit (`visit`), the vehicle's
/// visits so far giving the owner's rate.
pub fn maintenance(
    visit: Reading,
    readings: &[Reading],
    rules: &CallbackRules,
    zone: &TimeZone,
) -> Window {
    let due = service_due(visit, &rules.maintenance, readings, rules);
    reminder(due, rules, zone)
}

/// The insurance renewal call of a policy expiring on `expiry`: a reminder due
/// the dealer's number of days before, no longer worth making once it expired.
pub fn insurance(expiry: Date, rules: &CallbackRules, zone: &TimeZone) -> Window {
    let mut w = reminder(minus_days(expiry, rules.insurance_days_before), rules, zone);
    w.closes_at = w.closes_at.min(end_of(expiry, zone));
    w
}

/// A birthday greeting on `day`: on the worklist some days before, due on the day.
pub fn birthday(day: Date, rules: &CallbackRules, zone: &TimeZone) -> Window {
    Window {
        opens_at: start_of(minus_days(day, rules.reminder_lead_days), zone),
        due_at: end_of(day, zone),
        closes_at: end_of(day, zone),
    }
}

/// The day of `year` a yearly date (`month`, `day`) falls on: 29 February is
/// kept on 28 February in other years.
pub fn in_year(year: i16, month: i8, day: i8) -> Option<Date> {
    Date::new(year, month, day)
        .ok()
        .or_else(|| (month == 2 && day == 29).then(|| Date::new(year, 2, 28).ok())?)
}

/// A private car's periodic inspection (机动车安全技术检验) falls due on the
/// anniversaries of its registration at age 6 and 8, then every year from 10
/// (the inspection-free years before 6 need no visit).
pub fn inspection_due(age_years: i16) -> bool {
    age_years == 6 || age_years == 8 || age_years >= 10
}

/// The next attempt after an unanswered one at `at`: the start of the working
/// day `working_days` later (Monday to Friday) at the dealer, 09:00.
pub fn retry_at(at: Timestamp, working_days: u32, zone: &TimeZone) -> Timestamp {
    let mut day = at.to_zoned(zone.clone()).date();
    let mut left = working_days.max(1);
    while left > 0 {
        day = plus_days(day, 1);
        if !matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            left -= 1;
        }
    }
    day.at(9, 0, 0, 0)
        .to_zoned(zone.clone())
        .map_or(Timestamp::MAX, |z| z.timestamp())
}

/// What kind of task a cause is, for the caller's id: the task id derived from
/// the dealer, the kind and the cause, so a replay or a redelivery finds the
/// same task.
pub fn task_id(dealer: &str, kind: Kind, cause: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("aftercare/callback/{dealer}/{}/{cause}", kind.as_str()).as_bytes(),
    )
}

#[cfg(test)]
mod tests;
