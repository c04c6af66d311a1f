//! The dealer's calendar. Dealers are in China (UTC+8, no daylight saving), while
//! servers often run in UTC: a car sold at 07:00 in Shanghai is sold "today" there
//! and would be "tomorrow's date" checked against a UTC clock. Per-dealer zones
//! from configuration come with the reports that need month boundaries.

use jiff::tz::{Offset, TimeZone};

/// China Standard Time, from the system's time zone database when it has one.
pub fn dealer_zone() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(Offset::constant(8)))
}

/// Today's date at the dealer.
pub fn today() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(dealer_zone()).date()
}

#[cfg(test)]
mod tests {
    #[test]
    fn early_morning_in_shanghai_is_already_the_next_day() {
        let at: jiff::Timestamp = "2026-09-30T23:30:00Z".parse().expect("timestamp");
        assert_eq!(
            at.to_zoned(super::dealer_zone()).date(),
            jiff::civil::date(2026, 10, 1)
        );
    }
}
