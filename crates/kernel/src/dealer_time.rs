//! Time at the dealer: "resolved in 3 days" and "called back within 3 days"
//! end at midnight in the dealer's time zone, whatever the server's clock says.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

/// The end of the local day `days` calendar days after `from`'s local day.
pub fn end_of_day_after(from: Timestamp, days: u32, zone: &TimeZone) -> Timestamp {
    let local = from.to_zoned(zone.clone()).date();
    local
        .checked_add((i64::from(days) + 1).days())
        .and_then(|d| d.to_zoned(zone.clone()))
        .map(|z| z.timestamp() - SignedDuration::from_micros(1))
        .unwrap_or(from)
}

/// The last instant (microsecond) of `day` at the dealer.
pub fn end_of_day(day: jiff::civil::Date, zone: &TimeZone) -> Option<Timestamp> {
    let next = day.checked_add(1.days()).ok()?;
    Some(next.to_zoned(zone.clone()).ok()?.timestamp() - SignedDuration::from_micros(1))
}

/// The calendar day `at` falls on at the dealer.
pub fn day_at(at: Timestamp, zone: &TimeZone) -> jiff::civil::Date {
    at.to_zoned(zone.clone()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_ends_at_midnight_at_the_dealer() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        // 23:30 on 1 December in Shanghai is 15:30 UTC.
        let late = "2026-12-01T15:30:00Z"
            .parse::<Timestamp>()
            .expect("instant");
        assert_eq!(day_at(late, &shanghai), jiff::civil::date(2026, 12, 1));
        assert_eq!(
            end_of_day_after(late, 1, &shanghai).to_string(),
            "2026-12-02T15:59:59.999999Z"
        );
        assert_eq!(
            end_of_day(jiff::civil::date(2026, 12, 2), &shanghai).map(|t| t.to_string()),
            Some("2026-12-02T15:59:59.999999Z".to_owned())
        );
    }
}
