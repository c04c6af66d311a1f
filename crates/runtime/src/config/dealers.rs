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
