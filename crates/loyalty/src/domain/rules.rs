//! How a dealer runs its club, as its configuration gives it: the
//! `[dealers.<id>.loyalty]` table.

use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoyaltyRules {
    /// Points per yuan of labour on a visit…
    pub labour_points_per_yuan: u32,
    /// …and per yuan of parts.
    pub parts_points_per_yuan: u32,
    /// Points to the referrer when the referred prospect buys.
    pub referral_points: u32,
    /// The window points are counted in for the gold card.
    pub window_months: u32,
    /// Gold: this many points in the window…
    pub gold_points: u32,
    /// …of which this many from maintenance and parts.
    pub gold_spend_points: u32,
    /// Green 1-star from this many referred buyers…
    pub one_star_referrals: u32,
    /// …2-star from this many (or VIP).
    pub two_star_referrals: u32,
    /// A member whose figures fall below their card's loses it (by default a
    /// card, once given, is kept).
    pub downgrades: bool,
    /// What a point is worth, in fen: the club's liability.
    pub point_value_fen: u32,
    /// Points not used this many months after they were earned lapse, the
    /// oldest first; none lapse unless set.
    pub expiry_months: Option<u32>,
    /// A group-wide club: the dealer that keeps it (`club = "D001"` in the
    /// table of every dealer of the group, the keeping dealer's included).
    /// A customer at several of its dealers is one member. Unset, the dealer
    /// keeps a club of its own.
    pub club: Option<String>,
}

impl Default for LoyaltyRules {
    fn default() -> Self {
        Self {
            labour_points_per_yuan: 1,
            parts_points_per_yuan: 1,
            referral_points: 1_000,
            window_months: 24,
            gold_points: 30_000,
            gold_spend_points: 10_000,
            one_star_referrals: 3,
            two_star_referrals: 5,
            downgrades: false,
            point_value_fen: 1,
            expiry_months: None,
            club: None,
        }
    }
}

impl LoyaltyRules {
    /// Every bad value, each named under `key` (`dealers.D042.loyalty`).
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
        if self.window_months == 0 {
            errors.push(format!("{key}.window_months: must be at least 1"));
        }
        if self.gold_spend_points > self.gold_points {
            errors.push(format!(
                "{key}.gold_spend_points: is {}, more than gold_points ({})",
                self.gold_spend_points, self.gold_points
            ));
        }
        if self.expiry_months == Some(0) {
            errors.push(format!(
                "{key}.expiry_months: must be at least 1 (leave it out for points that never lapse)"
            ));
        }
        if let Some(club) = &self.club
            && aftercare_eventstore::DealerId::parse(club.as_str()).is_err()
        {
            errors.push(format!(
                "{key}.club: {club:?} is not a dealer id (letters, digits, '-' and '_')"
            ));
        }
        if self.one_star_referrals == 0 || self.two_star_referrals < self.one_star_referrals {
            errors.push(format!(
                "{key}.two_star_referrals: must be at least one_star_referrals, which must be at least 1"
            ));
        }
    }

    /// Whether a club's dealers can share members under these two rules: the
    /// cards and the points' worth are the club's; what a visit or a referral
    /// earns may differ by dealer.
    pub fn same_club_rules(&self, other: &Self) -> bool {
        let club_part = |r: &Self| {
            (
                r.window_months,
                r.gold_points,
                r.gold_spend_points,
                r.one_star_referrals,
                r.two_star_referrals,
                r.downgrades,
                r.point_value_fen,
                r.expiry_months,
            )
        };
        club_part(self) == club_part(other)
    }

    /// The points a visit's spend earns: labour and parts at their rates,
    /// whole points (a fraction of a yuan earns nothing).
    pub fn visit_points(&self, labour_fen: i64, parts_fen: i64) -> i64 {
        labour_fen.max(0) * i64::from(self.labour_points_per_yuan) / 100
            + parts_fen.max(0) * i64::from(self.parts_points_per_yuan) / 100
    }
}
