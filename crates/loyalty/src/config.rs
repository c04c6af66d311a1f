//! The loyalty service's part of every dealer's table: `[dealers.<id>.loyalty]`
//! (`[dealers.default.loyalty]` for all), read and checked by this service.

use aftercare_eventstore::DealerId;
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

/// The dealer that keeps `dealer`'s club: its group's club dealer when the
/// club is group-wide, else the dealer itself.
pub fn club_of(dealers: &LoyaltyDealers, dealer: &DealerId) -> DealerId {
    dealers
        .rules(dealer.as_str())
        .loyalty
        .club
        .as_deref()
        .and_then(|club| DealerId::parse(club).ok())
        .unwrap_or_else(|| dealer.clone())
}

/// A group-wide club is one set of cards: every dealer naming a club must name
/// one that keeps itself (`club` set to its own id in its table, or by the
/// default), with the same card rules and point value as it.
pub fn check_clubs(dealers: &LoyaltyDealers, errors: &mut Vec<String>) {
    let default = dealers.default_rules();
    let named = dealers
        .named()
        .map(|(id, rules)| (id.to_owned(), rules))
        .chain(std::iter::once(("default".to_owned(), default)));
    for (id, rules) in named {
        let Some(club) = &rules.loyalty.club else {
            continue;
        };
        if DealerId::parse(club.as_str()).is_err() {
            continue; // named by the section's own check
        }
        let keeper = dealers.rules(club);
        let key = format!("dealers.{id}.loyalty.club");
        if keeper.loyalty.club.as_deref() != Some(club.as_str()) {
            errors.push(format!(
                "{key}: dealer {club} keeps no group-wide club (its own table must say club = {club:?})"
            ));
        } else if !keeper.loyalty.same_club_rules(&rules.loyalty) {
            errors.push(format!(
                "{key}: the card rules (window, gold, referrals, downgrades, expiry, point value) \
                 differ from those of {club}, which keeps the club"
            ));
        }
    }
}

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

    fn clubs(toml: &str) -> (LoyaltyDealers, Vec<String>) {
        let config = aftercare_runtime::config::DealersConfig::from_toml(toml).expect("toml");
        let mut errors = Vec::new();
        let dealers: LoyaltyDealers = config.section(&mut errors);
        check_clubs(&dealers, &mut errors);
        (dealers, errors)
    }

    fn id(value: &str) -> DealerId {
        DealerId::parse(value).expect("dealer id")
    }

    #[test]
    fn a_group_wide_club_is_kept_by_the_dealer_it_names() {
        let (dealers, errors) = clubs(
            "[dealers.D001.loyalty]\nclub = \"D001\"\n\
             [dealers.D002.loyalty]\nclub = \"D001\"\nlabour_points_per_yuan = 2\n\
             [dealers.D003]\ntime_zone = \"Asia/Shanghai\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(club_of(&dealers, &id("D002")), id("D001"));
        assert_eq!(club_of(&dealers, &id("D001")), id("D001"));
        // Not in the group's club: a club of its own.
        assert_eq!(club_of(&dealers, &id("D003")), id("D003"));
        assert_eq!(club_of(&dealers, &id("D999")), id("D999"));
    }

    #[test]
    fn a_club_is_refused_when_its_dealer_does_not_keep_it_or_its_cards_differ() {
        let (_, errors) = clubs(
            "[dealers.D002.loyalty]\nclub = \"D001\"\n\
             [dealers.D003.loyalty]\nclub = \"D004\"\n\
             [dealers.D004.loyalty]\nclub = \"D004\"\ngold_points = 50000\n\
             [dealers.D005.loyalty]\nclub = \"D0 05\"\n",
        );
        assert_eq!(
            errors,
            [
                "dealers.D005.loyalty.club: \"D0 05\" is not a dealer id (letters, digits, '-' and '_')",
                "dealers.D002.loyalty.club: dealer D001 keeps no group-wide club (its own table must say club = \"D001\")",
                "dealers.D003.loyalty.club: the card rules (window, gold, referrals, downgrades, expiry, point value) \
                 differ from those of D004, which keeps the club",
            ]
        );
    }

    #[test]
    fn the_default_can_put_every_dealer_in_one_club() {
        let (dealers, errors) = clubs("[dealers.default.loyalty]\nclub = \"D001\"\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(club_of(&dealers, &id("D777")), id("D001"));
    }
}
