//! Lifetime value: a vehicle's average annual margin so far times the service
//! years it can still be expected to bring, read from the dealer's own
//! survival table by vehicle age (Kaplan–Meier over the vehicles' histories,
//! not a constant). Pure.

/// One vehicle's life as a service customer, in whole years of vehicle age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Life {
    /// The vehicle's age when it came on file here (sold here: 0).
    pub entered: u32,
    /// Churned: its age at the last visit. Still a customer: its age today.
    pub left: u32,
    /// Whether it was lost (past the churn threshold) or is still a customer
    /// (its life goes on beyond `left`, unobserved).
    pub lost: bool,
}

/// One age year of the survival table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AgeYear {
    pub age: u32,
    /// Vehicles that were customers in this year of age.
    pub at_risk: u64,
    /// Of them, lost in it.
    pub lost: u64,
    /// The chance a customer in this year of age is still one after it; none
    /// where no vehicle of that age was ever a customer (no evidence).
    pub stays: Option<f64>,
}

/// The survival table up to `horizon` years of age: each year's customers and
/// losses (a vehicle counts from the age it came on file to the age it left
/// or is now), and the chance to stay through the year.
pub fn survival(lives: &[Life], horizon: u32) -> Vec<AgeYear> {
    (0..horizon)
        .map(|age| {
            let at_risk = lives
                .iter()
                .filter(|l| l.entered <= age && age <= l.left)
                .count() as u64;
            let lost = lives
                .iter()
                .filter(|l| l.lost && l.left == age && l.entered <= age)
                .count() as u64;
            let stays = (at_risk > 0).then(|| 1.0 - lost as f64 / at_risk as f64);
            AgeYear {
                age,
                at_risk,
                lost,
                stays,
            }
        })
        .collect()
}

/// The service years a customer now in year `age` of its vehicle's age can
/// still be expected to bring: each year from this one counted with the
/// chance of still being a customer through it, up to the oldest age the
/// dealer has seen customers at (beyond it there is no evidence, and nothing
/// is counted).
pub fn remaining_years(table: &[AgeYear], age: u32) -> f64 {
    let mut alive = 1.0;
    let mut years = 0.0;
    for year in table.iter().filter(|y| y.age >= age) {
        let Some(stays) = year.stays else { break };
        alive *= stays;
        years += alive;
    }
    years
}

/// A vehicle's life from its months: bought (or first seen, when its
/// purchase is not known), first on file here, last serviced, and the month
/// judged; lost when the months since the last visit reach the threshold.
pub fn life(
    bought: crate::domain::Month,
    first: crate::domain::Month,
    last_visit: crate::domain::Month,
    as_of: crate::domain::Month,
    churn_months: u32,
) -> Life {
    let years = |m: crate::domain::Month| (m.since(bought).max(0) / 12) as u32;
    let lost = as_of.since(last_visit) >= churn_months as i32;
    Life {
        entered: years(first),
        left: if lost {
            years(last_visit)
        } else {
            years(as_of)
        },
        lost,
    }
}

/// Lifetime value in fen: the annual margin so far times the remaining years.
pub fn lifetime_value(annual_margin_fen: i64, remaining: f64) -> i64 {
    (annual_margin_fen as f64 * remaining).round() as i64
}

/// A visit's margin in fen at the dealer's margins on labour and on parts
/// (percent).
pub fn margin_fen(labour_fen: i64, parts_fen: i64, labour_percent: u32, parts_percent: u32) -> i64 {
    (labour_fen.max(0) * i64::from(labour_percent) + parts_fen.max(0) * i64::from(parts_percent))
        / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lived(entered: u32, left: u32, lost: bool) -> Life {
        Life {
            entered,
            left,
            lost,
        }
    }

    #[test]
    fn the_table_counts_each_year_of_age_its_customers_and_losses() {
        // Four vehicles sold here: lost at 2, lost at 3, still customers at 5
        // and at 1 (too young to tell); one bought elsewhere came at 3, lost at 4.
        let lives = [
            lived(0, 2, true),
            lived(0, 3, true),
            lived(0, 5, false),
            lived(0, 1, false),
            lived(3, 4, true),
        ];
        let table = survival(&lives, 6);
        let counts: Vec<(u64, u64)> = table.iter().map(|y| (y.at_risk, y.lost)).collect();
        assert_eq!(counts, [(4, 0), (4, 0), (3, 1), (3, 1), (2, 1), (1, 0)]);
        assert_eq!(table[0].stays, Some(1.0));
        assert!((table[2].stays.expect("seen") - 2.0 / 3.0).abs() < 1e-12);
        assert!((table[4].stays.expect("seen") - 0.5).abs() < 1e-12);
        // Nobody was a customer at 6 or 7: no evidence.
        assert_eq!(survival(&lives, 8)[6].stays, None);
    }

    #[test]
    fn remaining_years_add_the_chances_of_each_later_year() {
        let table = [
            AgeYear {
                age: 0,
                at_risk: 10,
                lost: 0,
                stays: Some(1.0),
            },
            AgeYear {
                age: 1,
                at_risk: 10,
                lost: 5,
                stays: Some(0.5),
            },
            AgeYear {
                age: 2,
                at_risk: 5,
                lost: 5,
                stays: Some(0.0),
            },
            AgeYear {
                age: 3,
                at_risk: 0,
                lost: 0,
                stays: None,
            },
        ];
        // From age 0: year 0 surely (1), year 1 half (0.5), year 2 none.
        assert!((remaining_years(&table, 0) - 1.5).abs() < 1e-12);
        assert!((remaining_years(&table, 1) - 0.5).abs() < 1e-12);
        assert_eq!(remaining_years(&table, 2), 0.0);
        // Where no customer was ever seen, nothing is counted.
        assert_eq!(remaining_years(&table, 3), 0.0);
        let unseen_after_one = &table[..1];
        assert_eq!(remaining_years(unseen_after_one, 0), 1.0);
        // Past the horizon: nothing more is expected.
        assert_eq!(remaining_years(&table, 7), 0.0);
        // 2,000 yuan a year for 1.5 years.
        assert_eq!(lifetime_value(200_000, 1.5), 300_000);
    }

    #[test]
    fn a_life_is_counted_in_whole_years_of_age() {
        use crate::domain::Month;
        let m = Month::new;
        // Bought in December 2022, serviced here from January 2023, last in
        // July 2024: lost by November 2026 (28 months), at age 1.
        assert_eq!(
            life(m(2022, 12), m(2023, 1), m(2024, 7), m(2026, 11), 12),
            Life {
                entered: 0,
                left: 1,
                lost: true
            }
        );
        // Eleven months since the last visit: still a customer, now 3 years old.
        assert_eq!(
            life(m(2023, 9), m(2023, 9), m(2025, 12), m(2026, 11), 12),
            Life {
                entered: 0,
                left: 3,
                lost: false
            }
        );
        // Bought elsewhere in 2019, first here in 2024 at age 5.
        assert_eq!(
            life(m(2019, 3), m(2024, 6), m(2026, 10), m(2026, 11), 12).entered,
            5
        );
    }

    #[test]
    fn margins_apply_to_labour_and_parts_apart() {
        // 450 yuan labour at 60%, 800 yuan parts at 25%: 270 + 200 yuan.
        assert_eq!(margin_fen(45_000, 80_000, 60, 25), 47_000);
        assert_eq!(
            margin_fen(-100, 0, 60, 25),
            0,
            "a credit note earns nothing"
        );
    }
}
