//! The owner's own mileage rate, from the vehicle's visits (date and odometer):
//! how soon the next service falls due by kilometres.

use jiff::civil::Date;

/// One odometer reading: the day of a visit and the kilometres it recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub on: Date,
    pub km: u32,
}

/// Kilometres a day, from the readings in any order; `None` when they cannot
/// tell (one reading, all on one day, or no distance driven).
///
/// A reading below an earlier one (a typing mistake, a replaced instrument
/// cluster) cannot be trusted: the rate is taken from the readings since the
/// last time the odometer went backwards, when two of them are days apart.
/// Readings of 0 km are visits where the DMS recorded no odometer.
pub fn km_per_day(readings: &[Reading]) -> Option<f64> {
    let mut sorted: Vec<Reading> = readings.iter().copied().filter(|r| r.km > 0).collect();
    sorted.sort_by_key(|r| (r.on, r.km));
    let restart = sorted
        .windows(2)
        .rposition(|w| w[1].km < w[0].km)
        .map_or(0, |i| i + 1);
    let trusted = &sorted[restart..];
    let (first, last) = (trusted.first()?, trusted.last()?);
    let days = (last.on - first.on).get_days();
    if days <= 0 || last.km <= first.km {
        return None;
    }
    Some(f64::from(last.km - first.km) / f64::from(days))
}

/// The day a vehicle at `km` on `from` reaches `km + interval_km` at `rate` km a day.
pub fn day_reaching(from: Date, interval_km: u32, rate: f64) -> Option<Date> {
    if rate <= 0.0 {
        return None;
    }
    let days = (f64::from(interval_km) / rate).ceil();
    // Beyond any service interval anyone keeps: no mileage date.
    if days > 36_500.0 {
        return None;
    }
    from.checked_add(jiff::Span::new().days(days as i64)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn r(y: i16, m: i8, d: i8, km: u32) -> Reading {
        Reading {
            on: date(y, m, d),
            km,
        }
    }

    #[test]
    fn the_rate_is_distance_over_days_between_the_first_and_last_reading() {
        let rate = km_per_day(&[r(2026, 1, 1, 10_000), r(2026, 5, 11, 16_500)]).expect("rate");
        assert!((rate - 50.0).abs() < 1e-9, "{rate}");
        // Order of the readings does not matter.
        let same = km_per_day(&[r(2026, 5, 11, 16_500), r(2026, 1, 1, 10_000)]);
        assert_eq!(same, Some(rate));
    }

    #[test]
    fn one_visit_or_one_day_tells_nothing() {
        assert_eq!(km_per_day(&[r(2026, 1, 1, 10_000)]), None);
        assert_eq!(
            km_per_day(&[r(2026, 1, 1, 10_000), r(2026, 1, 1, 10_020)]),
            None
        );
        assert_eq!(km_per_day(&[]), None);
        // No odometer recorded is no reading.
        assert_eq!(km_per_day(&[r(2026, 1, 1, 0), r(2026, 3, 1, 0)]), None);
    }

    #[test]
    fn an_odometer_going_backwards_restarts_the_estimate() {
        // 90,000 was a typing mistake for 9,000: the readings after it count.
        let readings = [
            r(2025, 1, 1, 5_000),
            r(2025, 6, 1, 90_000),
            r(2025, 7, 1, 9_000),
            r(2025, 12, 28, 15_000),
        ];
        let rate = km_per_day(&readings).expect("rate");
        let days = (date(2025, 12, 28) - date(2025, 7, 1)).get_days();
        assert!((rate - 6_000.0 / f64::from(days)).abs() < 1e-9, "{rate}");
        // Backwards as the last reading: nothing after it to go on.
        assert_eq!(
            km_per_day(&[r(2025, 1, 1, 5_000), r(2025, 6, 1, 4_000)]),
            None
        );
    }

    #[test]
    fn the_mileage_date_rounds_up_to_whole_days() {
        assert_eq!(
            day_reaching(date(2026, 1, 1), 10_000, 30.0),
            Some(date(2026, 12, 1)),
            "334 days"
        );
        assert_eq!(day_reaching(date(2026, 1, 1), 10_000, 0.0), None);
        assert_eq!(day_reaching(date(2026, 1, 1), 10_000, 0.01), None);
    }
}
