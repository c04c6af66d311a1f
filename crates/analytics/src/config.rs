//! The analytics service's part of every dealer's table: the churn thresholds,
//! the warranty period and the churn incentive (`churn_months = 8`,
//! `[dealers.<id>.incentive]`), read and checked by this service.

use aftercare_runtime::config::{DealerSection, Dealers};
use serde::Deserialize;

/// How a dealer counts churn.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnRules {
    /// A vehicle is at risk (wavering, 摇摆) from this many months without a visit.
    pub at_risk_months: u32,
    /// … and churned (流失) from this many.
    pub churn_months: u32,
    /// Vehicles younger than this are in warranty, for the churn breakdown.
    pub warranty_months: u32,
    /// The monthly churn incentive, in fen.
    pub incentive: Incentive,
    /// Where the ABC classes end, in percent of the dealer's contribution.
    pub abc: Abc,
    /// The workshop's margins, for lifetime value.
    pub margins: Margins,
    /// The churn-risk warning.
    pub risk: Risk,
}

/// `[dealers.<id>.risk]`: a vehicle whose chance of churning within
/// `ahead_months` reaches `level_percent` is announced for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Risk {
    pub level_percent: u32,
    pub ahead_months: u32,
}

impl Default for Risk {
    fn default() -> Self {
        Self {
            level_percent: 50,
            ahead_months: 6,
        }
    }
}

/// `[dealers.<id>.margins]`: the dealer's gross margin on labour and on parts,
/// in percent of what the customer paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Margins {
    pub labour_percent: u32,
    pub parts_percent: u32,
}

impl Default for Margins {
    fn default() -> Self {
        Self {
            labour_percent: 60,
            parts_percent: 25,
        }
    }
}

/// `[dealers.<id>.abc]`: A is the vehicles that make up the first `a_percent`
/// of the workshop's revenue, B the next up to `b_percent`, C the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Abc {
    pub a_percent: u32,
    pub b_percent: u32,
}

impl Default for Abc {
    fn default() -> Self {
        let pareto = crate::domain::value::Pareto::default();
        Self {
            a_percent: pareto.a,
            b_percent: pareto.b,
        }
    }
}

impl Abc {
    pub fn pareto(self) -> crate::domain::value::Pareto {
        crate::domain::value::Pareto {
            a: self.a_percent,
            b: self.b_percent,
        }
    }
}

impl Default for ChurnRules {
    fn default() -> Self {
        Self {
            at_risk_months: 6,
            churn_months: 12,
            warranty_months: 36,
            incentive: Incentive::default(),
            abc: Abc::default(),
            margins: Margins::default(),
            risk: Risk::default(),
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
    /// The workshop supervisor, by the same rule as the service manager.
    pub workshop_supervisor_fen: i64,
}

impl Default for Incentive {
    fn default() -> Self {
        Self {
            advisor_group_fen: 20_000,
            callback_agent_fen: 10_000,
            service_manager_fen: 20_000,
            workshop_supervisor_fen: 20_000,
        }
    }
}

impl DealerSection for ChurnRules {
    const KEYS: &'static [&'static str] = &[
        "at_risk_months",
        "churn_months",
        "warranty_months",
        "incentive",
        "abc",
        "margins",
        "risk",
    ];

    fn check(&self, key: &str, errors: &mut Vec<String>) {
        if self.at_risk_months == 0 {
            errors.push(format!("{key}.at_risk_months: must be at least 1"));
        }
        if !(1..=23).contains(&self.churn_months) {
            errors.push(format!(
                "{key}.churn_months: {} must be between 1 and 23 (24 months on is drifting)",
                self.churn_months
            ));
        } else if self.at_risk_months >= self.churn_months {
            errors.push(format!(
                "{key}.at_risk_months: {} must be less than churn_months ({})",
                self.at_risk_months, self.churn_months
            ));
        }
        if self.warranty_months == 0 {
            errors.push(format!("{key}.warranty_months: must be at least 1"));
        }
        for (name, value) in [
            ("labour_percent", self.margins.labour_percent),
            ("parts_percent", self.margins.parts_percent),
        ] {
            if value > 100 {
                errors.push(format!("{key}.margins.{name}: {value} is more than 100"));
            }
        }
        if !(1..=99).contains(&self.risk.level_percent) {
            errors.push(format!(
                "{key}.risk.level_percent: {} must be between 1 and 99",
                self.risk.level_percent
            ));
        }
        if !(1..=12).contains(&self.risk.ahead_months) {
            errors.push(format!(
                "{key}.risk.ahead_months: {} must be between 1 and 12",
                self.risk.ahead_months
            ));
        }
        if !(0 < self.abc.a_percent
            && self.abc.a_percent < self.abc.b_percent
            && self.abc.b_percent < 100)
        {
            errors.push(format!(
                "{key}.abc: a_percent ({}) and b_percent ({}) must satisfy 0 < a < b < 100",
                self.abc.a_percent, self.abc.b_percent
            ));
        }
    }
}

/// Every dealer's churn rules, with its clock.
pub type ChurnDealers = Dealers<ChurnRules>;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<aftercare_runtime::Config, String> {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), toml).expect("write config");
        aftercare_runtime::Config::load_checked(
            Some(file.path()),
            [(
                "AFTERCARE__DEALERS__DEFAULT__WARRANTY_MONTHS".to_owned(),
                "48".to_owned(),
            )],
            |config, errors| {
                config.dealers.section::<ChurnRules>(errors);
            },
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn dealer_rules_default_and_override_single_values() {
        let config = load(
            "[dealers.default]\nchurn_months = 12\nat_risk_months = 6\n\
             [dealers.D042]\nchurn_months = 8\n\
             [dealers.D077]\ntime_zone = \"Asia/Urumqi\"\n[dealers.D077.incentive]\nadvisor_group_fen = 30000\n",
        )
        .expect("valid");
        let dealers: ChurnDealers = config.dealers.section(&mut Vec::new());
        let d042 = dealers.rules("D042");
        assert_eq!((d042.at_risk_months, d042.churn_months), (6, 8));
        assert_eq!(d042.warranty_months, 48, "the default from the environment");
        assert_eq!(d042.time_zone_name, "Asia/Shanghai");
        let d077 = dealers.rules("D077");
        assert_eq!(d077.time_zone_name, "Asia/Urumqi");
        assert_eq!(d077.incentive.advisor_group_fen, 30_000);
        assert_eq!(d077.incentive.service_manager_fen, 20_000);
        assert_eq!(dealers.rules("D999").churn_months, 12);
    }

    #[test]
    fn bad_dealer_rules_name_the_dealer_and_the_key() {
        let err = load(
            "[dealers.D042]\ntime_zone = \"Mars/Olympus\"\nchurn_months = 30\n\
             [dealers.D043]\nat_risk_months = 9\nchurn_months = 8\n\
             [dealers.\"bad dealer\"]\nchurn_months = 8\n\
             [dealers.D044.abc]\na_percent = 90\nb_percent = 85\n",
        )
        .expect_err("invalid");
        for expected in [
            "dealers.D042.time_zone: \"Mars/Olympus\"",
            "dealers.D042.churn_months: 30",
            "dealers.D043.at_risk_months: 9 must be less than churn_months (8)",
            "dealers.bad dealer: not a dealer id",
            "dealers.D044.abc: a_percent (90) and b_percent (85) must satisfy 0 < a < b < 100",
        ] {
            assert!(err.contains(expected), "{expected} in {err}");
        }
    }
}
