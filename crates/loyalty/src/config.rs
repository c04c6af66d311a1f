//! The loyalty service's part of every dealer's table: `[dealers.<id>.loyalty]`
//! (`[dealers.default.loyalty]` for all), read and checked by this service.

use aftercare_runtime::config::{DealerSection, Dealers};
use serde::Deserialize;

use crate::domain::rules::LoyaltyRules;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoyaltySection {
    pub loyalty: LoyaltyRules,
}

impl DealerSection for LoyaltySection {
    const KEYS: &'static [&'static str] = &["loyalty"];

    fn check(&self, key: &str, errors: &mut Vec<String>) {
        self.loyalty.check(&format!("{key}.loyalty"), errors);
    }
}

/// Every dealer's club rules, with its clock.
pub type LoyaltyDealers = Dealers<LoyaltySection>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rules_are_named_and_good_ones_override_the_default() {
        let config = aftercare_runtime::config::DealersConfig::from_toml(
            "[dealers.D042.loyalty]\nlabour_points_per_yuan = 2\n\
             [dealers.D043.loyalty]\ngold_spend_points = 40000\n",
        )
        .expect("toml");
        let mut errors = Vec::new();
        let dealers: LoyaltyDealers = config.section(&mut errors);
        assert_eq!(
            errors,
            ["dealers.D043.loyalty.gold_spend_points: is 40000, more than gold_points (30000)"]
        );
        assert_eq!(dealers.rules("D042").loyalty.labour_points_per_yuan, 2);
        assert_eq!(dealers.rules("D001").loyalty.labour_points_per_yuan, 1);
    }
}
