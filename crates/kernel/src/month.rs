//! Calendar months: what "6 months without a visit" and "the cohort of
//! January" count in, at the dealer.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A calendar month, counted from year 0 so that subtracting two gives the
/// number of calendar months between them (what "6 months without a visit" means).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    pub fn new(year: i16, month: i8) -> Self {
        Month(i32::from(year) * 12 + i32::from(month) - 1)
    }

    pub fn of_date(date: Date) -> Self {
        Month::new(date.year(), date.month())
    }

    /// The month an instant falls in at the dealer: a visit closed at 23:30 on the
    /// 31st in Shanghai is in that month even though it is the 31st 15:30 UTC.
    pub fn of_instant(at: Timestamp, zone: &TimeZone) -> Self {
        Month::of_date(at.to_zoned(zone.clone()).date())
    }

    pub fn from_index(index: i32) -> Self {
        Month(index)
    }

    pub fn index(self) -> i32 {
        self.0
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1–12.
    pub fn month(self) -> i32 {
        self.0.rem_euclid(12) + 1
    }

    pub fn minus(self, months: u32) -> Self {
        Month(self.0 - months as i32)
    }

    pub fn plus(self, months: u32) -> Self {
        Month(self.0 + months as i32)
    }

    /// When the month starts and the next one starts, at the dealer: the
    /// half-open interval of instants "in" the month there.
    pub fn bounds_at(self, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
        let first = Date::new(i16::try_from(self.year()).ok()?, self.month() as i8, 1).ok()?;
        let next = first.checked_add(jiff::Span::new().months(1)).ok()?;
        let start = first.to_zoned(zone.clone()).ok()?.timestamp();
        let end = next.to_zoned(zone.clone()).ok()?.timestamp();
        Some((start, end))
    }

    /// Whole calendar months from `earlier` to `self`.
    pub fn since(self, earlier: Month) -> i32 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not a month like 2026-09");
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let year: i16 = year.parse().map_err(|_| bad())?;
        let month: i8 = month.parse().map_err(|_| bad())?;
        if year.to_string().len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month::new(year, month))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_across_years_and_read_as_written() {
        let jan = Month::new(2026, 1);
        assert_eq!(jan.minus(1), Month::new(2025, 12));
        assert_eq!(Month::new(2026, 9).since(Month::new(2025, 9)), 12);
        assert_eq!(jan.to_string(), "2026-01");
        assert_eq!("2026-09".parse::<Month>(), Ok(Month::new(2026, 9)));
        assert!("2026-13".parse::<Month>().is_err());
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        let late = "2025-01-31T15:30:00Z"
            .parse::<Timestamp>()
            .expect("instant");
        assert_eq!(Month::of_instant(late, &shanghai), Month::new(2025, 1));
        let after = "2025-01-31T16:30:00Z"
            .parse::<Timestamp>()
            .expect("instant");
        assert_eq!(Month::of_instant(after, &shanghai), Month::new(2025, 2));
        let (start, end) = Month::new(2025, 12).bounds_at(&shanghai).expect("bounds");
        assert_eq!(start.to_string(), "2025-11-30T16:00:00Z");
        assert_eq!(end.to_string(), "2025-12-31T16:00:00Z");
    }
}
