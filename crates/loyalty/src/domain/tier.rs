//! Which card a member's figures give, as of a day at the dealer. Pure: the
//! figures are the member's, the window's edge is a calendar day.

use jiff::Span;
use jiff::civil::Date;

use super::Card;
use super::rules::LoyaltyRules;

/// Points earned on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Earned {
    pub on: Date,
    pub points: i64,
    /// From maintenance and parts.
    pub from_spend: bool,
}

/// What a card is decided on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// An owner (or a prospect only).
    pub owner: bool,
    pub vip: bool,
    pub vehicles: u32,
    pub referred: u32,
    pub earned: Vec<Earned>,
}

/// The points earned in the window ending on `today`, and those from spend.
/// A point earned on day D counts until the day before D + window: on the day
/// it turns `window_months` old it has left.
pub fn window(earned: &[Earned], today: Date, rules: &LoyaltyRules) -> (i64, i64) {
    let starts = today
        .checked_sub(Span::new().months(i64::from(rules.window_months)))
        .unwrap_or(Date::MIN);
    earned
        .iter()
        .filter(|e| e.on > starts && e.on <= today)
        .fold((0, 0), |(all, spend), e| {
            (
                all + e.points,
                spend + if e.from_spend { e.points } else { 0 },
            )
        })
}

/// The card `figures` give on `today`, and why, in words.
pub fn card(figures: &Figures, today: Date, rules: &LoyaltyRules) -> (Card, String) {
    let (points, spend) = window(&figures.earned, today, rules);
    if figures.vehicles >= 2 {
        return (Card::Gold, format!("{} vehicles on file", figures.vehicles));
    }
    if points >= i64::from(rules.gold_points) && spend >= i64::from(rules.gold_spend_points) {
        return (
            Card::Gold,
            format!(
                "{points} points in {} months, {spend} from maintenance and parts",
                rules.window_months
            ),
        );
    }
    if figures.vip {
        return (Card::GreenTwoStar, "VIP".to_owned());
    }
    if figures.referred >= rules.two_star_referrals {
        return (
            Card::GreenTwoStar,
            format!("{} referred buyers", figures.referred),
        );
    }
    if figures.referred >= rules.one_star_referrals {
        return (
            Card::GreenOneStar,
            format!("{} referred buyers", figures.referred),
        );
    }
    if figures.owner {
        (Card::Green, "an owner".to_owned())
    } else {
        (Card::Prospect, "a prospect".to_owned())
    }
}

/// What the next card needs, from `figures` on `today` (none at gold), in
/// `language`.
pub fn next_card(
    figures: &Figures,
    today: Date,
    rules: &LoyaltyRules,
    language: aftercare_kernel::Language,
) -> Option<String> {
    let (current, _) = card(figures, today, rules);
    let (points, spend) = window(&figures.earned, today, rules);
    let more_points = (i64::from(rules.gold_points) - points).max(0);
    let more_spend = (i64::from(rules.gold_spend_points) - spend).max(0);
    let chinese = language == aftercare_kernel::Language::Chinese;
    let gold = if chinese {
        format!(
            "金卡：{}个月内再积{more_points}分（其中维修保养再积{more_spend}分），或再购一辆车",
            rules.window_months
        )
    } else {
        format!(
            "gold: {more_points} more points in {} months ({more_spend} more from maintenance and parts), or a second vehicle",
            rules.window_months
        )
    };
    let referrals = |star: &str, needed: u32| {
        let more = needed.saturating_sub(figures.referred);
        if chinese {
            format!("{star}：再推荐{more}位购车客户；{gold}")
        } else {
            format!("{star}: {more} more referred buyers; {gold}")
        }
    };
    match current {
        Card::Gold => None,
        Card::Prospect => Some(
            language
                .pick("green: buy a vehicle", "绿卡：购车")
                .to_owned(),
        ),
        Card::Green => Some(referrals(
            language.pick("green 1-star", "绿卡一星"),
            rules.one_star_referrals,
        )),
        Card::GreenOneStar => Some(referrals(
            language.pick("green 2-star", "绿卡二星"),
            rules.two_star_referrals,
        )),
        Card::GreenTwoStar => Some(gold),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn owner() -> Figures {
        Figures {
            owner: true,
            ..Figures::default()
        }
    }

    fn earned(on: Date, points: i64, from_spend: bool) -> Earned {
        Earned {
            on,
            points,
            from_spend,
        }
    }

    #[test]
    fn a_point_leaves_the_window_on_the_day_it_turns_24_months_old() {
        let rules = LoyaltyRules::default();
        let e = [earned(date(2024, 12, 1), 100, true)];
        assert_eq!(window(&e, date(2026, 11, 30), &rules), (100, 100));
        assert_eq!(window(&e, date(2026, 12, 1), &rules), (0, 0));
        // Not yet earned is not counted either.
        assert_eq!(window(&e, date(2024, 11, 30), &rules), (0, 0));
    }

    #[test]
    fn gold_by_points_needs_exactly_30000_with_10000_from_spend() {
        let rules = LoyaltyRules::default();
        let today = date(2026, 12, 1);
        let mut f = owner();
        f.earned = vec![
            earned(date(2026, 1, 1), 10_000, true),
            earned(date(2026, 2, 1), 20_000, false),
        ];
        assert_eq!(card(&f, today, &rules).0, Card::Gold);
        assert_eq!(
            card(&f, today, &rules).1,
            "30000 points in 24 months, 10000 from maintenance and parts"
        );
        // 9,999 from spend.
        f.earned = vec![
            earned(date(2026, 1, 1), 9_999, true),
            earned(date(2026, 2, 1), 20_001, false),
        ];
        assert_eq!(card(&f, today, &rules).0, Card::Green);
        // 29,999 in all.
        f.earned = vec![
            earned(date(2026, 1, 1), 10_000, true),
            earned(date(2026, 2, 1), 19_999, false),
        ];
        assert_eq!(card(&f, today, &rules).0, Card::Green);
    }

    #[test]
    fn gold_by_points_is_lost_when_they_leave_the_window() {
        let rules = LoyaltyRules::default();
        let mut f = owner();
        f.earned = vec![
            earned(date(2024, 12, 1), 10_000, true),
            earned(date(2025, 6, 1), 20_000, false),
        ];
        assert_eq!(card(&f, date(2026, 11, 30), &rules).0, Card::Gold);
        assert_eq!(card(&f, date(2026, 12, 1), &rules).0, Card::Green);
    }

    #[test]
    fn stars_come_from_referred_buyers_or_vip_and_a_second_car_is_gold() {
        let rules = LoyaltyRules::default();
        let today = date(2026, 12, 1);
        let with = |referred: u32, vip: bool, vehicles: u32| Figures {
            owner: true,
            vip,
            vehicles,
            referred,
            earned: vec![],
        };
        assert_eq!(card(&with(2, false, 1), today, &rules).0, Card::Green);
        assert_eq!(
            card(&with(3, false, 1), today, &rules).0,
            Card::GreenOneStar
        );
        assert_eq!(
            card(&with(4, false, 1), today, &rules).0,
            Card::GreenOneStar
        );
        assert_eq!(
            card(&with(5, false, 1), today, &rules).0,
            Card::GreenTwoStar
        );
        assert_eq!(card(&with(0, true, 1), today, &rules).0, Card::GreenTwoStar);
        assert_eq!(card(&with(0, false, 2), today, &rules).0, Card::Gold);
        assert_eq!(card(&Figures::default(), today, &rules).0, Card::Prospect);
    }

    #[test]
    fn the_next_card_says_what_is_missing() {
        let rules = LoyaltyRules::default();
        let mut f = owner();
        f.referred = 1;
        f.earned = vec![earned(date(2026, 1, 1), 4_000, true)];
        assert_eq!(
            next_card(
                &f,
                date(2026, 12, 1),
                &rules,
                aftercare_kernel::Language::English
            )
            .as_deref(),
            Some(
                "green 1-star: 2 more referred buyers; gold: 26000 more points in 24 months \
                 (6000 more from maintenance and parts), or a second vehicle"
            )
        );
        assert_eq!(
            next_card(
                &f,
                date(2026, 12, 1),
                &rules,
                aftercare_kernel::Language::Chinese
            )
            .as_deref(),
            Some(
                "绿卡一星：再推荐2位购车客户；金卡：24个月内再积26000分（其中维修保养再积6000分），或再购一辆车"
            )
        );
    }

    #[test]
    fn a_visits_spend_earns_at_the_dealers_rates() {
        let rules = LoyaltyRules {
            labour_points_per_yuan: 2,
            ..LoyaltyRules::default()
        };
        // 450.00 yuan of labour at 2, 800.99 of parts at 1.
        assert_eq!(rules.visit_points(45_000, 80_099), 900 + 800);
        assert_eq!(rules.visit_points(-5, 0), 0);
    }
}
