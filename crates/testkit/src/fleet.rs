//! A dealer's generated service history with known churners, for the tests
//! of the churn-risk score: the same fleet for every test that needs one.

/// Months of history the fleet spans.
pub const FLEET_MONTHS: u32 = 29;

/// The months (offsets from the fleet's first month, below [`FLEET_MONTHS`])
/// the `i`th vehicle visits: every 4 to 8 months, one gap in four twice as
/// long (late, but back); every third vehicle a leaver that stops coming
/// after a month of its own.
pub fn fleet_visits(i: u32) -> Vec<u32> {
    let interval = 4 + i % 5;
    let leaves = i.is_multiple_of(3).then_some(6 + (i * 7) % 22);
    let mut months = Vec::new();
    let mut t = i % interval;
    while t < FLEET_MONTHS {
        if leaves.is_some_and(|l| t > l) {
            break;
        }
        months.push(t);
        let late = (i * 13 + t * 7).is_multiple_of(4);
        t = t + interval * if late { 2 } else { 1 } + (i * 31 + t) % 3 - 1;
    }
    months
}

/// Whether the `i`th vehicle is a leaver.
pub fn fleet_leaver(i: u32) -> bool {
    i.is_multiple_of(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leavers_stop_and_regulars_keep_coming() {
        // A regular comes to the end of the history.
        assert!(
            fleet_visits(1)
                .last()
                .is_some_and(|m| *m + 10 >= FLEET_MONTHS)
        );
        // A leaver stops after its month.
        let leaver = fleet_visits(3);
        assert!(fleet_leaver(3));
        assert!(leaver.last().is_some_and(|m| *m <= 6 + 21));
        assert!(leaver.windows(2).all(|w| w[0] < w[1]));
    }
}
