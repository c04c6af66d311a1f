//! Complaint deadlines at the dealer: "resolved in 3 days" means by the end of
//! the third calendar day there, whatever the server's clock says.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::rules::ComplaintRules;
use super::{Grade, Status};

pub use aftercare_kernel::end_of_day_after;

/// A dealer's deadlines for a ticket of `grade`, from `from`.
pub fn resolve_by(
    rules: &ComplaintRules,
    grade: Grade,
    product_liability: bool,
    from: Timestamp,
    zone: &TimeZone,
) -> Timestamp {
    let mut days = rules.resolve_days[grade.index()];
    if product_liability {
        days = days.max(rules.product_liability_days);
    }
    end_of_day_after(from, days, zone)
}

/// The deadline a ticket has missed at `now`, if any (the earliest): the
/// response deadline counts only while the ticket is unanswered (open) — an
/// escalation that sets a new response deadline on a ticket already in
/// progress does not make it overdue — and the resolution deadline always.
/// The one rule the sweep, `GetComplaint` and `ListComplaints --overdue` use
/// (the list's SQL is checked against it).
pub fn missed_deadline(
    status: Status,
    respond_by: Option<Timestamp>,
    resolve_by: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    [respond_by.filter(|_| status == Status::Open), resolve_by]
        .into_iter()
        .flatten()
        .filter(|deadline| *deadline < now)
        .min()
}

pub fn respond_by(rules: &ComplaintRules, from: Timestamp) -> Timestamp {
    from + SignedDuration::from_hours(i64::from(rules.response_hours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_end_at_midnight_at_the_dealer() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        // Monday 2026-09-07 22:00 in Shanghai (14:00 UTC), 3 days: end of Thursday there.
        let filed: Timestamp = "2026-09-07T14:00:00Z".parse().expect("instant");
        let due = end_of_day_after(filed, 3, &shanghai);
        assert_eq!(due.to_string(), "2026-09-10T15:59:59.999999Z");
        // Filed at 00:30 Tuesday in Shanghai (still Monday in UTC): end of Friday.
        let early: Timestamp = "2026-09-07T16:30:00Z".parse().expect("instant");
        assert_eq!(
            end_of_day_after(early, 3, &shanghai).to_string(),
            "2026-09-11T15:59:59.999999Z"
        );
    }

    #[test]
    fn product_liability_gets_its_own_period() {
        let rules = ComplaintRules::default();
        let utc = TimeZone::UTC;
        let at: Timestamp = "2026-09-07T10:00:00Z".parse().expect("instant");
        let one = resolve_by(&rules, Grade::new(1).expect("grade"), false, at, &utc);
        let liability = resolve_by(&rules, Grade::new(1).expect("grade"), true, at, &utc);
        assert_eq!(one.to_string(), "2026-09-08T23:59:59.999999Z");
        assert_eq!(liability.to_string(), "2026-09-12T23:59:59.999999Z");
    }
}
