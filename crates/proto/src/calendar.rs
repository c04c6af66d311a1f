//! Protobuf dates and times to jiff and back, range-checked: a value out of
//! range is named as such, never narrowed into another value or read as absent.

use crate::common::v1 as common;

/// The years a date or time anywhere in aftercare may fall in: older records
/// than 1900 or later than 2200 are typing mistakes, not history.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A calendar date from its parts, or why it is not one.
pub fn civil_date(year: i32, month: u32, day: u32) -> Result<jiff::civil::Date, String> {
    if !YEARS.contains(&year) {
        return Err(format!(
            "{year:04}-{month:02}-{day:02}: the year must be between {} and {}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(year), i8::try_from(month), i8::try_from(day))
    else {
        return Err(format!("{year}-{month}-{day} is not a calendar date"));
    };
    jiff::civil::Date::new(y, m, d)
        .map_err(|_| format!("{year:04}-{month:02}-{day:02} is not a calendar date"))
}

/// [`civil_date`] of a protobuf `Date`.
pub fn date(d: &common::Date) -> Result<jiff::civil::Date, String> {
    civil_date(d.year, d.month, d.day)
}

pub fn to_date(d: jiff::civil::Date) -> common::Date {
    common::Date {
        year: i32::from(d.year()),
        month: d.month() as u32,
        day: d.day() as u32,
    }
}

/// A calendar month (year, month) or why it is not one.
pub fn year_month(m: &common::YearMonth) -> Result<(i16, i8), String> {
    civil_date(m.year, m.month, 1)
        .map(|d| (d.year(), d.month()))
        .map_err(|_| format!("{}-{} is not a calendar month", m.year, m.month))
}

/// An instant from a protobuf `Timestamp`, or why it is not one.
pub fn instant(t: &prost_types::Timestamp) -> Result<jiff::Timestamp, String> {
    let at = jiff::Timestamp::new(t.seconds, t.nanos).map_err(|_| {
        format!(
            "{} seconds since 1970 is out of range: the year must be between {} and {}",
            t.seconds,
            YEARS.start(),
            YEARS.end()
        )
    })?;
    let year = i32::from(at.to_zoned(jiff::tz::TimeZone::UTC).year());
    if YEARS.contains(&year) {
        Ok(at)
    } else {
        Err(format!(
            "{at} is out of range: the year must be between {} and {}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// [`instant`] for a time read back from a stored event, where a bad value is
/// reported by the caller as the event's fault: `None` when it is not one.
pub fn read_instant(t: &prost_types::Timestamp) -> Option<jiff::Timestamp> {
    instant(t).ok()
}

/// A time kept in a read model as microseconds since 1970, as protobuf.
pub fn timestamp_from_micros(micros: i64) -> Option<prost_types::Timestamp> {
    jiff::Timestamp::from_microsecond(micros)
        .ok()
        .map(timestamp)
}

pub fn timestamp(at: jiff::Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.as_second(),
        nanos: at.subsec_nanosecond(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_parts_are_refused_not_narrowed() {
        // 257 would narrow to 1 (January) as an i8.
        assert!(civil_date(2026, 257, 1).is_err());
        // 67526 would narrow to another year as an i16.
        assert!(civil_date(67526, 1, 1).is_err());
        assert!(
            civil_date(1, 1, 1)
                .expect_err("refused")
                .contains("between 1900 and 2200")
        );
        assert!(
            civil_date(2026, 2, 30)
                .expect_err("refused")
                .contains("not a calendar date")
        );
        assert_eq!(civil_date(2026, 2, 28), Ok(jiff::civil::date(2026, 2, 28)));
    }

    #[test]
    fn a_time_out_of_range_says_so() {
        let year_10000 = prost_types::Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        };
        let err = instant(&year_10000).expect_err("refused");
        assert!(
            err.contains("not a point in time") || err.contains("out of range"),
            "{err}"
        );
        let year_1 = prost_types::Timestamp {
            seconds: -62_135_596_800,
            nanos: 0,
        };
        assert!(
            instant(&year_1)
                .expect_err("refused")
                .contains("out of range")
        );
        let now = jiff::Timestamp::from_second(1_789_000_000).expect("valid");
        assert_eq!(instant(&timestamp(now)), Ok(now));
    }
}
