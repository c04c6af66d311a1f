use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;

fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").expect("zone")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("instant")
}

#[test]
fn a_delivery_is_called_back_by_the_end_of_the_third_day_at_the_dealer() {
    let rules = CallbackRules::default();
    let w = post_sale(date(2026, 11, 28), &rules, &shanghai());
    assert_eq!(
        w.opens_at,
        at("2026-11-27T16:00:00Z"),
        "midnight in Shanghai"
    );
    assert_eq!(w.due_at, at("2026-12-01T15:59:59.999999Z"));
    assert_eq!(w.closes_at, w.due_at);
    let five = CallbackRules {
        post_sale_days: 5,
        ..CallbackRules::default()
    };
    assert_eq!(
        post_sale(date(2026, 11, 28), &five, &shanghai()).due_at,
        at("2026-12-03T15:59:59.999999Z")
    );
}

#[test]
fn a_visit_is_called_back_within_three_days_of_closing() {
    let rules = CallbackRules::default();
    // 23:30 on 28 November in Shanghai: that day counts as day 0.
    let closed = at("2026-11-28T15:30:00Z");
    let w = post_service(closed, &rules, &shanghai());
    assert_eq!(w.opens_at, closed);
    assert_eq!(w.due_at, at("2026-12-01T15:59:59.999999Z"));
}

#[test]
fn a_lead_is_due_at_its_thirty_minutes_and_open_for_a_week() {
    let rules = CallbackRules::default();
    let captured = at("2026-12-01T02:00:00Z");
    let w = lead(captured, None, &rules);
    assert_eq!(w.due_at, at("2026-12-01T02:30:00Z"));
    assert_eq!(w.closes_at, at("2026-12-08T02:00:00Z"));
    // The lead's own deadline wins.
    let own = lead(captured, Some(at("2026-12-01T02:10:00Z")), &rules);
    assert_eq!(own.due_at, at("2026-12-01T02:10:00Z"));
}

#[test]
fn history_is_not_a_worklist() {
    let rules = CallbackRules::default();
    // A visit of 2024 imported today: its callback window closed long ago.
    let w = post_service(at("2024-03-01T04:00:00Z"), &rules, &shanghai());
    assert_eq!(
        decide(w, at("2026-12-01T02:00:00Z"), true),
        Decision::History(w)
    );
    // Recorded within its window: scheduled, even late in it.
    assert_eq!(
        decide(w, at("2024-03-04T15:00:00Z"), true),
        Decision::Schedule(w)
    );
    // History stays history whoever the customer is.
    assert_eq!(
        decide(w, at("2026-12-01T02:00:00Z"), false),
        Decision::History(w)
    );
}

#[test]
fn a_customer_without_consent_is_not_contactable() {
    let rules = CallbackRules::default();
    let w = post_sale(date(2026, 11, 30), &rules, &shanghai());
    assert_eq!(
        decide(w, at("2026-11-30T08:00:00Z"), false),
        Decision::NotContactable
    );
}

#[test]
fn maintenance_falls_due_by_time_or_by_the_owners_mileage_whichever_first() {
    let rules = CallbackRules::default(); // 6 months or 10,000 km
    let visit = Reading {
        on: date(2026, 6, 1),
        km: 30_000,
    };
    // 100 km a day: 10,000 km in 100 days, before six months.
    let heavy = [
        Reading {
            on: date(2026, 2, 21),
            km: 20_000,
        },
        visit,
    ];
    let w = maintenance(visit, &heavy, &rules, &shanghai());
    assert_eq!(w.due_at, at("2026-09-09T15:59:59.999999Z"));
    assert_eq!(w.opens_at, at("2026-09-01T16:00:00Z"), "7 days before");
    assert_eq!(w.closes_at, at("2026-09-23T15:59:59.999999Z"));
    // 10 km a day: six months come first.
    let light = [
        Reading {
            on: date(2025, 6, 1),
            km: 26_350,
        },
        visit,
    ];
    let w = maintenance(visit, &light, &rules, &shanghai());
    assert_eq!(w.due_at, at("2026-12-01T15:59:59.999999Z"));
    // One visit: the dealer's default rate (40 km a day: 250 days, so six months).
    let w = maintenance(visit, &[visit], &rules, &shanghai());
    assert_eq!(w.due_at, at("2026-12-01T15:59:59.999999Z"));
}

#[test]
fn the_first_service_follows_the_models_interval() {
    let mut rules = CallbackRules::default();
    rules.first_service_by_model.insert(
        "Model E".into(),
        Interval {
            months: 3,
            km: 3_000,
        },
    );
    let w = first_service(date(2026, 3, 10), "Model E", &rules, &shanghai());
    // 3,000 km at 40 km a day is 75 days: 24 May, before three months.
    assert_eq!(w.due_at, at("2026-05-24T15:59:59.999999Z"));
    let w = first_service(date(2026, 3, 10), "Other", &rules, &shanghai());
    // 5,000 km at 40 km a day is 125 days: 13 July, before six months.
    assert_eq!(w.due_at, at("2026-07-13T15:59:59.999999Z"));
}

#[test]
fn an_unanswered_call_is_tried_again_the_next_working_day_at_nine() {
    // Friday 27 November 2026, 17:00 in Shanghai → Monday 30 November, 09:00.
    let friday = at("2026-11-27T09:00:00Z");
    assert_eq!(retry_at(friday, 1, &shanghai()), at("2026-11-30T01:00:00Z"));
    // Tuesday, two working days → Thursday.
    let tuesday = at("2026-12-01T03:00:00Z");
    assert_eq!(
        retry_at(tuesday, 2, &shanghai()),
        at("2026-12-03T01:00:00Z")
    );
}

#[test]
fn a_task_id_is_the_same_for_the_same_cause_only() {
    let a = task_id("D001", Kind::PostService, "visit-1");
    assert_eq!(a, task_id("D001", Kind::PostService, "visit-1"));
    assert_ne!(a, task_id("D002", Kind::PostService, "visit-1"));
    assert_ne!(a, task_id("D001", Kind::MaintenanceReminder, "visit-1"));
    assert_ne!(a, task_id("D001", Kind::PostService, "visit-2"));
}

#[test]
fn insurance_is_called_a_month_before_it_expires_and_not_after() {
    let rules = CallbackRules::default();
    let w = insurance(date(2027, 3, 31), &rules, &shanghai());
    // Due 1 March (30 days before), on the list from 22 February.
    assert_eq!(w.due_at, at("2027-03-01T15:59:59.999999Z"));
    assert_eq!(w.opens_at, at("2027-02-21T16:00:00Z"));
    assert_eq!(w.closes_at, at("2027-03-15T15:59:59.999999Z"));
    // A policy expiring within the grace days closes on its expiry.
    let short = CallbackRules {
        insurance_days_before: 5,
        ..CallbackRules::default()
    };
    let w = insurance(date(2027, 3, 31), &short, &shanghai());
    assert_eq!(w.closes_at, at("2027-03-31T15:59:59.999999Z"));
}

#[test]
fn a_leap_day_birthday_is_greeted_on_the_28th_in_other_years() {
    assert_eq!(in_year(2027, 2, 29), Some(date(2027, 2, 28)));
    assert_eq!(in_year(2028, 2, 29), Some(date(2028, 2, 29)));
    assert_eq!(in_year(2027, 4, 31), None);
    let w = birthday(date(2027, 4, 12), &CallbackRules::default(), &shanghai());
    assert_eq!(w.due_at, at("2027-04-12T15:59:59.999999Z"));
    assert_eq!(w.opens_at, at("2027-04-04T16:00:00Z"));
}

#[test]
fn inspections_fall_due_at_six_and_eight_years_then_yearly_from_ten() {
    let due: Vec<i16> = (0..14).filter(|age| inspection_due(*age)).collect();
    assert_eq!(due, [6, 8, 10, 11, 12, 13]);
}
