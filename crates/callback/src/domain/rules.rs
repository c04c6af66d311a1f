//! How a dealer runs callbacks, as its configuration gives it: the
//! `[dealers.<id>.callback]` table.

use std::collections::BTreeMap;

use serde::Deserialize;

/// When a vehicle is due for service: after this many months or this many
/// kilometres, whichever comes first.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    pub months: u32,
    pub km: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackRules {
    /// A delivery is called back by the end of this many days after it.
    pub post_sale_days: u32,
    /// A service visit is called back by the end of this many days after it.
    pub post_service_days: u32,
    /// A web or hotline lead is first called within this many minutes.
    pub lead_minutes: u32,
    /// A lead not called for this many days is history, not a call to make.
    pub lead_open_days: u32,
    /// A churned vehicle's winback call is due this many days after the change.
    pub winback_days: u32,
    /// A reminder is on the worklist this many days before the service is due…
    pub reminder_lead_days: u32,
    /// …and stays there this many days after.
    pub reminder_grace_days: u32,
    /// The first service after purchase (首保), unless the model has its own.
    pub first_service: Interval,
    /// Models with their own first service (`"Model Y" = { months = 3, km = 3000 }`).
    pub first_service_by_model: BTreeMap<String, Interval>,
    /// Maintenance after each maintenance visit.
    pub maintenance: Interval,
    /// The insurance renewal call is due this many days before the policy expires.
    pub insurance_days_before: u32,
    /// The mileage rate assumed until a vehicle's visits give its own (km a day).
    pub default_km_per_day: u32,
    /// Attempts before an unreached task is closed.
    pub attempts: u32,
    /// A repeated attempt is due this many working days later (Monday to
    /// Friday; 1 is the next working day).
    pub retry_working_days: u32,
    /// Appointments a day: this many service bays…
    pub bays: u32,
    /// …times this many slots of the day.
    pub slots_per_day: u32,
}

impl Default for CallbackRules {
    fn default() -> Self {
        Self {
            post_sale_days: 3,
            post_service_days: 3,
            lead_minutes: 30,
            lead_open_days: 7,
            winback_days: 30,
            reminder_lead_days: 7,
            reminder_grace_days: 14,
            first_service: Interval {
                months: 6,
                km: 5_000,
            },
            first_service_by_model: BTreeMap::new(),
            maintenance: Interval {
                months: 6,
                km: 10_000,
            },
            insurance_days_before: 30,
            default_km_per_day: 40,
            attempts: 3,
            retry_working_days: 1,
            bays: 6,
            slots_per_day: 8,
        }
    }
}

impl CallbackRules {
    /// Every bad value, each named under `key` (`dealers.D042.callback`).
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
        let mut at_least_one = |name: &str, value: u32| {
            if value == 0 {
                errors.push(format!("{key}.{name}: must be at least 1"));
            }
        };
        at_least_one("post_sale_days", self.post_sale_days);
        at_least_one("post_service_days", self.post_service_days);
        at_least_one("lead_minutes", self.lead_minutes);
        at_least_one("lead_open_days", self.lead_open_days);
        at_least_one("winback_days", self.winback_days);
        at_least_one("attempts", self.attempts);
        at_least_one("retry_working_days", self.retry_working_days);
        at_least_one("default_km_per_day", self.default_km_per_day);
        at_least_one("first_service.months", self.first_service.months);
        at_least_one("first_service.km", self.first_service.km);
        at_least_one("maintenance.months", self.maintenance.months);
        at_least_one("maintenance.km", self.maintenance.km);
        at_least_one("bays", self.bays);
        at_least_one("insurance_days_before", self.insurance_days_before);
        at_least_one("slots_per_day", self.slots_per_day);
        for (model, interval) in &self.first_service_by_model {
            if interval.months == 0 || interval.km == 0 {
                errors.push(format!(
                    "{key}.first_service_by_model.{model:?}: months and km must be at least 1"
                ));
            }
        }
        if self.attempts > 10 {
            errors.push(format!(
                "{key}.attempts: is {}; at most 10 are allowed",
                self.attempts
            ));
        }
    }

    /// The first service interval of `model`.
    pub fn first_service_of(&self, model: &str) -> &Interval {
        self.first_service_by_model
            .get(model)
            .unwrap_or(&self.first_service)
    }
}
