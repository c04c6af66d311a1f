//! Churn as the dealers count it, pure: calendar months, segments, each vehicle's
//! contact history and what it adds to the monthly cohort counters, and the rates
//! and scorecard computed from those counters. No I/O, no clock.

pub mod history;
pub mod lifetime;
pub mod report;
pub mod risk;
pub mod scorecard;
pub mod status;
pub mod targets;
pub mod value;

pub use aftercare_kernel::Month;

/// Where a vehicle stands by the calendar months since its last visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// Sold here, no service record (无进厂记录).
    NeverVisited,
    Active,
    /// At risk (摇摆): from the at-risk threshold (6 months) to the churn threshold.
    Wavering,
    /// Churned (流失): from the churn threshold to 24 months.
    Churned,
    /// Drifting to full churn: 24 to 36 months.
    Drifting,
    /// Fully churned (彻底流失): 36 months and more.
    FullyChurned,
}

impl Segment {
    pub const ALL: [Segment; 6] = [
        Segment::Active,
        Segment::Wavering,
        Segment::Churned,
        Segment::Drifting,
        Segment::FullyChurned,
        Segment::NeverVisited,
    ];

    /// The segment of a vehicle last seen `months` calendar months ago.
    pub fn after(months: i32, thresholds: Thresholds) -> Segment {
        match months {
            m if m < thresholds.at_risk as i32 => Segment::Active,
            m if m < thresholds.churn as i32 => Segment::Wavering,
            m if m < 24 => Segment::Churned,
            m if m < 36 => Segment::Drifting,
            _ => Segment::FullyChurned,
        }
    }

    pub fn from_code(code: &str) -> Option<Segment> {
        Segment::ALL.into_iter().find(|s| s.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::NeverVisited => "never-visited",
            Segment::Active => "active",
            Segment::Wavering => "wavering",
            Segment::Churned => "churned",
            Segment::Drifting => "drifting",
            Segment::FullyChurned => "fully-churned",
        }
    }
}

/// A dealer's churn thresholds in calendar months.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub at_risk: u32,
    pub churn: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            at_risk: 6,
            churn: 12,
        }
    }
}

impl Thresholds {
    /// The thresholds of a report asked for with another churn threshold than
    /// the dealer's: the dealer's at-risk threshold, kept below the churn one
    /// (at most one month less) and at least one month.
    pub fn for_churn(dealer_at_risk: u32, churn: u32) -> Thresholds {
        Thresholds {
            at_risk: dealer_at_risk.min(churn.saturating_sub(1)).max(1),
            churn,
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    use super::*;

    #[test]
    fn a_visit_at_half_past_eleven_on_the_last_evening_belongs_to_that_month() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        // 2026-01-31 23:30 in Shanghai is 15:30 UTC the same day.
        let late: Timestamp = "2026-01-31T15:30:00Z".parse().expect("instant");
        assert_eq!(Month::of_instant(late, &shanghai), Month::new(2026, 1));
        // Half an hour later it is February at the dealer, still January in UTC.
        let midnight: Timestamp = "2026-01-31T16:00:00Z".parse().expect("instant");
        assert_eq!(Month::of_instant(midnight, &shanghai), Month::new(2026, 2));
        assert_eq!(
            Month::of_instant(midnight, &TimeZone::UTC),
            Month::new(2026, 1)
        );
    }

    #[test]
    fn months_count_across_year_ends() {
        let jan = Month::new(2026, 1);
        assert_eq!(jan.minus(8), Month::new(2025, 5));
        assert_eq!(Month::new(2026, 9).since(jan), 8);
        assert_eq!(jan.minus(1).to_string(), "2025-12");
        assert_eq!("2026-09".parse::<Month>(), Ok(Month::new(2026, 9)));
        assert!("2026-13".parse::<Month>().is_err());
        assert!("26-01".parse::<Month>().is_err());
        assert!("september".parse::<Month>().is_err());
    }

    #[test]
    fn segments_follow_the_thresholds() {
        let sgm = Thresholds::default();
        let cases = [
            (0, Segment::Active),
            (5, Segment::Active),
            (6, Segment::Wavering),
            (11, Segment::Wavering),
            (12, Segment::Churned),
            (23, Segment::Churned),
            (24, Segment::Drifting),
            (35, Segment::Drifting),
            (36, Segment::FullyChurned),
            (120, Segment::FullyChurned),
        ];
        for (months, segment) in cases {
            assert_eq!(Segment::after(months, sgm), segment, "{months} months");
        }
        // The dealer that calls a vehicle churned after 8 months.
        assert_eq!(Thresholds::for_churn(6, 12).at_risk, 6);
        assert_eq!(
            Thresholds::for_churn(6, 4).at_risk,
            3,
            "kept below the churn threshold"
        );
        assert_eq!(Thresholds::for_churn(6, 1).at_risk, 1, "at least one month");
        let eight = Thresholds {
            at_risk: 6,
            churn: 8,
        };
        assert_eq!(Segment::after(7, eight), Segment::Wavering);
        assert_eq!(Segment::after(8, eight), Segment::Churned);
    }
}
