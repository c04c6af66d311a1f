//! The dealer's calendar. Servers often run in UTC while dealers are in China
//! (UTC+8): a car sold at 07:00 in Shanghai is sold "today" there and would be
//! "tomorrow's date" checked against a UTC clock, so dates are checked against
//! today in the dealer's own time zone (`[dealers]` in the configuration).

use aftercare_runtime::config::DealersConfig;
use jiff::civil::Date;

/// Today's date at `dealer`.
pub fn today(dealers: &DealersConfig, dealer: &str) -> Date {
    jiff::Timestamp::now()
        .to_zoned(dealers.rules(dealer).time_zone.clone())
        .date()
}

#[cfg(test)]
mod tests {
    use aftercare_runtime::config::DealersConfig;

    #[test]
    fn early_morning_in_shanghai_is_already_the_next_day() {
        let at: jiff::Timestamp = "2026-09-30T23:30:00Z".parse().expect("timestamp");
        let zone = DealersConfig::default().rules("D001").time_zone.clone();
        assert_eq!(at.to_zoned(zone).date(), jiff::civil::date(2026, 10, 1));
    }

    #[test]
    fn each_dealer_has_its_own_today() {
        let dealers = aftercare_runtime::config::DealersConfig::from_toml(
            "[dealers.EAST]\ntime_zone = \"Pacific/Kiritimati\"\n\
             [dealers.WEST]\ntime_zone = \"Pacific/Pago_Pago\"\n",
        )
        .expect("valid");
        // UTC+14 and UTC-11 are 25 hours apart: never the same date.
        assert!(super::today(&dealers, "EAST") > super::today(&dealers, "WEST"));
    }
}
