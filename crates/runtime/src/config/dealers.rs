//! Per-dealer rules: `[dealers.default]` applies to every dealer, and a
//! `[dealers.<dealer id>]` table overrides single values for one dealer:
//!
//! ```toml
//! [dealers.default]
//! time_zone = "Asia/Shanghai"
//! churn_months = 12
//!
//! [dealers.D042]
//! churn_months = 8   # this dealer calls a vehicle churned after 8 months
//! ```

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde::Deserialize;

/// The rules one dealer works by.
#[derive(Clone, Debug, PartialEq)]
pub struct DealerRules {
    /// Calendar days and months (visit months, deadlines) are the dealer's.
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    /// A vehicle is at risk (wavering, 摇摆) from this many months without a visit.
    pub at_risk_months: u32,
    /// … and churned (流失) from this many.
    pub churn_months: u32,
    /// Vehicles younger than this are in warranty, for the churn breakdown.
    pub warranty_months: u32,
    /// The monthly churn incentive, in fen.
    pub incentive: Incentive,
    pub complaint: ComplaintRules,
}

/// How a dealer handles complaints: who handles each grade and how long each
/// grade has.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplaintRules {
    /// Hours from filing to the first response (acknowledgement).
    pub response_hours: u32,
    /// Calendar days to resolve, by grade 1–5, counted to the end of the day at
    /// the dealer.
    pub resolve_days: [u32; 5],
    /// Product-liability complaints, whatever their grade.
    pub product_liability_days: u32,
    /// Who handles each grade 1–5: front desk, department manager, director,
    /// general manager (grades 4 and 5).
    pub handlers: [String; 5],
    /// Early warning: a car in the workshop this many days with no promised
    /// completion time.
    pub stay_days: u32,
    /// Early warning: a repair open this many days.
    pub repair_days: u32,
    /// Early warning: the same fault code on this many visits of one vehicle…
    pub repeat_fault_visits: u32,
    /// …within this many days.
    pub repeat_fault_window_days: u32,
    /// The monthly complaint-rate target (complaints / service visits), in basis
    /// points: 110 is 1.10%.
    pub target_rate_basis_points: u32,
    /// Complaint records are kept this many years after filing, then removed from
    /// the read models and their personal data erased.
    pub retention_years: u32,
}

impl Default for ComplaintRules {
    fn default() -> Self {
        Self {
            response_hours: 24,
            // Escalated complaints in 3 days; major and crisis complaints in 5.
            resolve_days: [1, 2, 3, 5, 5],
            product_liability_days: 5,
            handlers: [
                "front-desk".to_owned(),
                "department-manager".to_owned(),
                "director".to_owned(),
                "general-manager".to_owned(),
                "general-manager".to_owned(),
            ],
            stay_days: 7,
            repair_days: 21,
            repeat_fault_visits: 3,
            repeat_fault_window_days: 180,
            target_rate_basis_points: 110,
            retention_years: 3,
        }
    }
}

/// A dealer's trial incentive scheme for churn, amounts in fen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Incentive {
    /// An advisor group below the dealer's rate earns this, above it loses it.
    pub advisor_group_fen: i64,
    /// A callback agent, judged on the average of the groups they call.
    pub callback_agent_fen: i64,
    /// The service manager, against the average of the previous three months.
    pub service_manager_fen: i64,
}

impl Default for Incentive {
    fn default() -> Self {
        Self {
            advisor_group_fen: 20_000,
            callback_agent_fen: 10_000,
            service_manager_fen: 20_000,
        }
    }
}

impl Default for DealerRules {
    fn default() -> Self {
        Self {
            time_zone: china_standard_time(),
            time_zone_name: "Asia/Shanghai".to_owned(),
            at_risk_months: 6,
            churn_months: 12,
            warranty_months: 36,
            incentive: Incentive::default(),
            complaint: ComplaintRules::default(),
        }
    }
}

/// China Standard Time, where every dealer so far is (UTC+8, no daylight saving).
fn china_standard_time() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)))
}

/// The rules of every dealer: the defaults and each dealer's overrides.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DealersConfig {
    default: DealerRules,
    by_dealer: BTreeMap<String, DealerRules>,
}

impl DealersConfig {
    pub fn rules(&self, dealer: &str) -> &DealerRules {
        self.by_dealer.get(dealer).unwrap_or(&self.default)
    }

    /// The longest repeat-fault window of any dealer, for queries over all of them.
    pub fn longest_repeat_fault_window_days(&self) -> u32 {
        self.by_dealer
            .values()
            .chain(std::iter::once(&self.default))
            .map(|r| r.complaint.repeat_fault_window_days)
            .max()
            .unwrap_or(0)
    }

    /// Reads the `[dealers]` table, adding each bad value to `errors` by its key.
    pub(super) fn from_table(table: Option<toml::Value>, errors: &mut Vec<String>) -> Self {
        let mut tables: BTreeMap<String, RulesTable> = match table {
            None => BTreeMap::new(),
            Some(value) => value.try_into().unwrap_or_else(|e: toml::de::Error| {
                errors.push(format!("dealers: {}", e.message().trim()));
                BTreeMap::new()
            }),
        };
        let default = tables.remove("default").unwrap_or_default().over(
            &DealerRules::default(),
            "dealers.default",
            errors,
        );
        let by_dealer = tables
            .into_iter()
            .filter_map(|(dealer, table)| {
                if aftercare_eventstore::DealerId::parse(dealer.as_str()).is_err() {
                    errors.push(format!(
                        "dealers.{dealer}: not a dealer id (letters, digits, '-' and '_', at most 64)"
                    ));
                    return None;
                }
                let rules = table.over(&default, &format!("dealers.{dealer}"), errors);
                Some((dealer, rules))
            })
            .collect();
        Self { default, by_dealer }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RulesTable {
    time_zone: Option<String>,
    at_risk_months: Option<u32>,
    churn_months: Option<u32>,
    warranty_months: Option<u32>,
    incentive: Option<Incentive>,
    complaint: Option<ComplaintRules>,
}

impl RulesTable {
    fn over(self, base: &DealerRules, key: &str, errors: &mut Vec<String>) -> DealerRules {
        let mut rules = base.clone();
        if let Some(name) = self.time_zone {
            match TimeZone::get(&name) {
                Ok(zone) => {
                    rules.time_zone = zone;
                    rules.time_zone_name = name;
                }
                Err(_) => errors.push(format!(
                    "{key}.time_zone: {name:?} is not an IANA time zone (e.g. \"Asia/Shanghai\")"
                )),
            }
        }
        rules.at_risk_months = self.at_risk_months.unwrap_or(rules.at_risk_months);
        rules.churn_months = self.churn_months.unwrap_or(rules.churn_months);
        rules.warranty_months = self.warranty_months.unwrap_or(rules.warranty_months);
        rules.incentive = self.incentive.unwrap_or(rules.incentive);
        if let Some(complaint) = self.complaint {
            rules.complaint = complaint;
        }
        if rules.complaint.response_hours == 0 {
            errors.push(format!(
                "{key}.complaint.response_hours: must be at least 1"
            ));
        }
        if rules.complaint.resolve_days.contains(&0) || rules.complaint.product_liability_days == 0
        {
            errors.push(format!("{key}.complaint: resolve days must be at least 1"));
        }
        if rules.complaint.repeat_fault_visits < 2 {
            errors.push(format!(
                "{key}.complaint.repeat_fault_visits: must be at least 2"
            ));
        }
        if rules.complaint.handlers.iter().any(|h| h.trim().is_empty()) {
            errors.push(format!(
                "{key}.complaint.handlers: every grade needs a handler"
            ));
        }
        if rules.at_risk_months == 0 {
            errors.push(format!("{key}.at_risk_months: must be at least 1"));
        }
        if !(1..=23).contains(&rules.churn_months) {
            errors.push(format!(
                "{key}.churn_months: {} must be between 1 and 23 (24 months on is drifting)",
                rules.churn_months
            ));
        } else if rules.at_risk_months >= rules.churn_months {
            errors.push(format!(
                "{key}.at_risk_months: {} must be less than churn_months ({})",
                rules.at_risk_months, rules.churn_months
            ));
        }
        if rules.warranty_months == 0 {
            errors.push(format!("{key}.warranty_months: must be at least 1"));
        }
        rules
    }
}
