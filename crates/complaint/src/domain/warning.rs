//! Early warnings (投诉预警) and the complaint rate, as rules: which causes are
//! due at a moment, and whether a month's rate meets the target. The sweep
//! finds the facts in the read models and asks these.

use super::Grade;
use super::rules::ComplaintRules;
use jiff::{SignedDuration, Timestamp};

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(24 * i64::from(n))
}

/// Which warnings an open repair order is due for at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkshopDue {
    /// In the workshop the stay period with no promised completion time.
    pub stay: bool,
    /// Open the long-repair period, promised or not.
    pub long_repair: bool,
}

pub fn workshop(
    opened: Timestamp,
    promised: bool,
    now: Timestamp,
    rules: &ComplaintRules,
) -> WorkshopDue {
    WorkshopDue {
        stay: !promised && opened + days(rules.stay_days) <= now,
        long_repair: opened + days(rules.repair_days) <= now,
    }
}

/// The visits (indexes into `closed`, in closing order) that bring one fault
/// back for the `visits`-th time within the window, and closed since
/// `recent_since`: each is the cause of one repeat-fault warning.
pub fn repeat_faults(
    closed: &[Timestamp],
    rules: &ComplaintRules,
    recent_since: Timestamp,
) -> Vec<usize> {
    let n = rules.repeat_fault_visits.max(1) as usize;
    let window = days(rules.repeat_fault_window_days);
    (n - 1..closed.len())
        .filter(|&i| closed[i] >= recent_since && closed[i] - window <= closed[i + 1 - n])
        .collect()
}

/// Whether reopening a complaint of `grade` raises an early warning: a
/// customer unhappy with the handling of a real complaint (grade 3, 投诉) or
/// worse is likely to escalate.
pub fn reopening_warns(grade: Grade) -> bool {
    grade.value() >= 3
}

/// Whether `complaints / visits` is at or below the target (basis points),
/// compared in integers.
pub fn rate_met(complaints: u64, visits: u64, target_basis_points: u32) -> bool {
    u128::from(complaints) * 10_000 <= u128::from(target_basis_points) * u128::from(visits)
}

/// A month's complaint rate (complaints per service visit) against the target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComplaintRate {
    pub complaints: u64,
    pub visits: u64,
    /// 0 when there were no visits.
    pub rate: f64,
    pub target: f64,
    pub met: bool,
}

pub fn complaint_rate(complaints: u64, visits: u64, target_basis_points: u32) -> ComplaintRate {
    ComplaintRate {
        complaints,
        visits,
        rate: if visits == 0 {
            0.0
        } else {
            complaints as f64 / visits as f64
        },
        target: f64::from(target_basis_points) / 10_000.0,
        met: rate_met(complaints, visits, target_basis_points),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("instant")
    }

    #[test]
    fn a_week_without_a_promise_and_three_weeks_open_are_due() {
        let rules = ComplaintRules::default();
        let opened = at("2026-09-01T02:00:00Z");
        let due = |now: &str, promised| workshop(opened, promised, at(now), &rules);
        assert_eq!(
            due("2026-09-08T01:59:59Z", false),
            WorkshopDue {
                stay: false,
                long_repair: false
            }
        );
        assert_eq!(
            due("2026-09-08T02:00:00Z", false),
            WorkshopDue {
                stay: true,
                long_repair: false
            }
        );
        assert_eq!(
            due("2026-09-08T02:00:00Z", true),
            WorkshopDue {
                stay: false,
                long_repair: false
            }
        );
        assert_eq!(
            due("2026-09-22T02:00:00Z", true),
            WorkshopDue {
                stay: false,
                long_repair: true
            }
        );
    }

    #[test]
    fn the_third_visit_with_a_fault_within_the_window_is_the_cause() {
        let rules = ComplaintRules::default(); // 3 visits within 180 days
        let since = at("2026-01-01T00:00:00Z");
        let visits = [
            at("2026-01-10T00:00:00Z"),
            at("2026-03-10T00:00:00Z"),
            at("2026-06-30T00:00:00Z"), // 171 days after the first: a repeat
            at("2027-01-30T00:00:00Z"), // the last three span 326 days: not one
        ];
        assert_eq!(repeat_faults(&visits, &rules, since), vec![2]);
        assert_eq!(
            repeat_faults(&visits[..2], &rules, since),
            Vec::<usize>::new()
        );
        // An old repeat is history, not news.
        assert_eq!(
            repeat_faults(&visits, &rules, at("2026-07-01T00:00:00Z")),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn the_rate_meets_the_target_at_or_below_it() {
        assert!(rate_met(11, 1000, 110), "1.10% is the target");
        assert!(!rate_met(12, 1000, 110));
        assert!(!rate_met(1, 0, 110), "complaints without visits");
        assert!(rate_met(0, 0, 110));
        let warns: Vec<bool> = (1..=5)
            .map(|g| reopening_warns(Grade::new(g).expect("grade")))
            .collect();
        assert_eq!(warns, [false, false, true, true, true]);
        let rate = complaint_rate(11, 1000, 110);
        assert_eq!((rate.rate, rate.target, rate.met), (0.011, 0.011, true));
        assert_eq!(complaint_rate(0, 0, 110).rate, 0.0);
    }
}
