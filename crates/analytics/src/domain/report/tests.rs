use super::*;
use crate::domain::history::{BaseKey, CohortKey, Counters, Dimension, VehicleHistory, VisitMark};

const WARRANTY: u32 = 36;

fn visit(day: i64, group: &str, advisor: &str) -> VisitMark {
    VisitMark {
        closed_at: day * 86_400_000_000,
        group: group.to_owned(),
        advisor: advisor.to_owned(),
    }
}

fn m(year: i16, month: i8) -> Month {
    Month::new(year, month)
}

/// The counters of many vehicles, summed.
fn total(histories: &[VehicleHistory]) -> Counters {
    let mut sum = Counters::default();
    for h in histories {
        sum.add(&h.counters(WARRANTY), 1);
    }
    sum
}

/// What the read model answers for one dealer, month, rule and breakdown.
fn report(
    counters: &Counters,
    rule: Rule,
    month: Month,
    threshold: u32,
    dimension: Dimension,
) -> BTreeMap<String, ChurnLine> {
    let cohort = month.minus(threshold);
    let churned: Vec<ChurnedCount> = counters
        .cohorts
        .iter()
        .filter(|(k, _)| k.rule == rule && k.month == cohort && k.dimension == dimension)
        .filter(|(k, _)| churned(k.gap, threshold))
        .map(|(k, n)| ChurnedCount {
            value: k.value.clone(),
            vehicles: *n,
        })
        .collect();
    let base: Vec<BaseCount> = counters
        .base
        .iter()
        .filter(|(k, _)| k.month == cohort && k.dimension == dimension)
        .map(|(k, b)| BaseCount {
            value: k.value.clone(),
            visits: b.visits,
            sales: b.sales,
        })
        .collect();
    churn_lines(rule, &churned, &base)
}

/// The dealer's worked example: in January 1,300 service visits and 200 sales;
/// 300 of those vehicles did not come back in 8 months; September's churn rate
/// under rule B is 300 / (1,300 + 200) = 20%.
#[test]
fn rule_b_reproduces_the_dealers_worked_example() {
    let mut fleet = Vec::new();
    // 1,200 vehicles visit in January, 100 of them twice: 1,300 visits.
    for i in 0..1200u32 {
        let mut h = VehicleHistory::default();
        h.add_visit(m(2026, 1), visit(i64::from(i % 28), "G1", "Wang"));
        if i < 100 {
            h.add_visit(m(2026, 1), visit(29, "G1", "Wang"));
        }
        match i {
            // Back within the 8 months, spread from February to September.
            0..1000 => h.add_visit(m(2026, 2).plus(i % 8), visit(0, "G1", "Wang")),
            // Back in October: after the end of September, so churned in September.
            1000..1100 => h.add_visit(m(2026, 10), visit(0, "G1", "Wang")),
            // Never back.
            _ => {}
        }
        fleet.push(h);
    }
    // 200 vehicles sold in January; 100 come for their first service in April.
    for i in 0..200 {
        let mut h = VehicleHistory::default();
        h.add_sale(m(2026, 1));
        if i < 100 {
            h.add_visit(m(2026, 4), visit(0, "G2", "Li"));
        }
        fleet.push(h);
    }
    let counters = total(&fleet);
    let all = &report(&counters, Rule::B, m(2026, 9), 8, Dimension::All)[""];
    assert_eq!(all.base, 1500, "1,300 visits + 200 sales");
    // 100 back in October + 100 never back + 100 sold and never serviced.
    assert_eq!(all.churned, 300);
    assert_eq!(all.rate(), Some(0.2));
    // Rule A on the same month counts visits only.
    let a = &report(&counters, Rule::A, m(2026, 9), 8, Dimension::All)[""];
    assert_eq!((a.churned, a.base), (200, 1300));
}

#[test]
fn a_vehicle_back_in_the_report_month_is_not_churned_one_back_a_month_later_is() {
    let mut back_in_time = VehicleHistory::default();
    back_in_time.add_visit(m(2025, 9), visit(3, "G", "A"));
    back_in_time.add_visit(m(2026, 9), visit(30, "G", "A")); // last day of the month
    let mut back_late = VehicleHistory::default();
    back_late.add_visit(m(2025, 9), visit(3, "G", "A"));
    back_late.add_visit(m(2026, 10), visit(1, "G", "A"));
    let counters = total(&[back_in_time, back_late]);
    let september = &report(&counters, Rule::A, m(2026, 9), 12, Dimension::All)[""];
    assert_eq!((september.churned, september.base), (1, 2));
    // Read as of October with the same threshold, the September 2025 cohort is
    // not the cohort any more; October 2025 has no visits.
    assert!(report(&counters, Rule::A, m(2026, 10), 12, Dimension::All).is_empty());
}

#[test]
fn churn_is_charged_to_the_group_of_the_last_visit_in_the_month() {
    let mut h = VehicleHistory::default();
    h.add_visit(m(2026, 1), visit(20, "G2", "Li"));
    h.add_visit(m(2026, 1), visit(5, "G1", "Wang")); // arrives later, closed earlier
    let counters = total(&[h]);
    let lines = report(&counters, Rule::A, m(2026, 9), 8, Dimension::AdvisorGroup);
    // Each group's base is its own visits; the churned vehicle is G2's.
    assert_eq!(
        lines.values().cloned().collect::<Vec<_>>(),
        [
            ChurnLine {
                value: "G1".into(),
                base: 1,
                churned: 0
            },
            ChurnLine {
                value: "G2".into(),
                base: 1,
                churned: 1
            },
        ]
    );
}

#[test]
fn breakdowns_by_model_age_and_warranty_use_the_vehicle_at_the_visit() {
    let mut young = VehicleHistory {
        model: "Lavida".into(),
        purchased: Some(m(2025, 6)),
        district: "Pudong".into(),
        ..VehicleHistory::default()
    };
    young.add_visit(m(2026, 1), visit(1, "G", "A")); // 7 months old
    let mut old = VehicleHistory {
        model: "Passat".into(),
        purchased: Some(m(2021, 1)),
        district: "Minhang".into(),
        ..VehicleHistory::default()
    };
    old.add_visit(m(2026, 1), visit(1, "G", "A")); // 60 months old
    old.add_visit(m(2026, 5), visit(1, "G", "A"));
    let unknown = {
        let mut h = VehicleHistory::default();
        h.add_visit(m(2026, 1), visit(2, "G", "A"));
        h
    };
    let counters = total(&[young, old, unknown]);
    let by = |d| report(&counters, Rule::A, m(2026, 9), 8, d);
    let rates = |lines: BTreeMap<String, ChurnLine>| -> Vec<(String, i64, i64)> {
        lines
            .into_values()
            .map(|l| (l.value, l.churned, l.base))
            .collect()
    };
    assert_eq!(
        rates(by(Dimension::Model)),
        [
            ("".into(), 1, 1),
            ("Lavida".into(), 1, 1),
            ("Passat".into(), 0, 1)
        ]
    );
    assert_eq!(
        rates(by(Dimension::Age)),
        [
            ("4y+".into(), 0, 1),
            ("<1y".into(), 1, 1),
            ("unknown".into(), 1, 1)
        ]
    );
    assert_eq!(
        rates(by(Dimension::Warranty)),
        [
            ("in".into(), 1, 1),
            ("out".into(), 0, 1),
            ("unknown".into(), 1, 1)
        ]
    );
    assert_eq!(
        rates(by(Dimension::Region)),
        [
            ("".into(), 1, 1),
            ("Minhang".into(), 0, 1),
            ("Pudong".into(), 1, 1)
        ]
    );
}

#[test]
fn segments_at_the_end_of_a_month_count_calendar_months_since_the_last_visit() {
    let thresholds = Thresholds::default();
    let visits = [
        (m(2026, 9), 0), // active
        (m(2026, 3), 0), // 6 months: wavering
        (m(2025, 9), 0), // 12: churned
        (m(2024, 9), 0), // 24: drifting
        (m(2023, 8), 0), // 37: fully churned
    ];
    let mut fleet: Vec<VehicleHistory> = visits
        .iter()
        .map(|(month, _)| {
            let mut h = VehicleHistory::default();
            h.add_visit(*month, visit(1, "G", "A"));
            h
        })
        .collect();
    // Visited in 2025-01 and again in 2026-08: active, not churned.
    let mut returned = VehicleHistory::default();
    returned.add_visit(m(2025, 1), visit(1, "G", "A"));
    returned.add_visit(m(2026, 8), visit(1, "G", "A"));
    fleet.push(returned);
    // Sold in 2026-02, first service in 2026-10: never visited as of September.
    let mut sold = VehicleHistory::default();
    sold.add_sale(m(2026, 2));
    sold.add_visit(m(2026, 10), visit(1, "G", "A"));
    fleet.push(sold);
    let counters = total(&fleet);
    // What the read model selects: the counters whose contact was still the
    // last one at the end of the month.
    let still_last_at = |rule: Rule, as_of: Month| -> Vec<LastSeen> {
        counters
            .cohorts
            .iter()
            .filter(|(k, _)| k.rule == rule && k.dimension == Dimension::All)
            .map(|(k, n)| DatedCount {
                month: k.month,
                gap: k.gap,
                vehicles: *n,
            })
            .filter(|c| still_last(c, as_of))
            .map(|c| LastSeen {
                month: c.month,
                vehicles: c.vehicles,
            })
            .collect()
    };
    let segments = |as_of: Month| {
        let never: i64 = still_last_at(Rule::NeverVisited, as_of)
            .iter()
            .map(|c| c.vehicles)
            .sum();
        segment_counts(as_of, thresholds, &still_last_at(Rule::A, as_of), never)
    };
    let counts = segments(m(2026, 9));
    assert_eq!(counts[&Segment::Active], 2);
    assert_eq!(counts[&Segment::Wavering], 1);
    assert_eq!(counts[&Segment::Churned], 1);
    assert_eq!(counts[&Segment::Drifting], 1);
    assert_eq!(counts[&Segment::FullyChurned], 1);
    assert_eq!(counts[&Segment::NeverVisited], 1);
    // In October the sold vehicle has visited: seven vehicles, none never-visited.
    let october = segments(m(2026, 10));
    assert_eq!(october[&Segment::NeverVisited], 0);
    assert_eq!(october.values().sum::<i64>(), 7);
}

use aftercare_kernel::random::Xorshift;

enum Contact {
    Visit(usize, Month, VisitMark),
    Sale(usize, Month),
}

/// Counters moved by the difference before/after each event, in any arrival
/// order, equal the counters of the final histories computed from scratch.
#[test]
fn incremental_counters_equal_a_recount_whatever_the_arrival_order() {
    for seed in 1..=20u64 {
        let mut rng = Xorshift::new(seed);
        let vehicles = 12;
        let mut contacts = Vec::new();
        for v in 0..vehicles {
            for _ in 0..rng.below(8) {
                let month = m(2023, 1).plus(rng.below(40) as u32);
                let group = ["G1", "G2", "G3"][rng.below(3) as usize];
                contacts.push(Contact::Visit(
                    v,
                    month,
                    visit(rng.below(10_000) as i64, group, group),
                ));
            }
            if rng.below(3) == 0 {
                contacts.push(Contact::Sale(v, m(2023, 1).plus(rng.below(40) as u32)));
            }
        }
        // Shuffle the arrival order.
        for i in (1..contacts.len()).rev() {
            contacts.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut histories: Vec<VehicleHistory> = (0..vehicles)
            .map(|v| VehicleHistory {
                model: format!("M{}", v % 3),
                purchased: (v % 2 == 0).then(|| m(2022, 6)),
                district: format!("D{}", v % 4),
                ..VehicleHistory::default()
            })
            .collect();
        let mut incremental = Counters::default();
        for c in contacts {
            let v = match &c {
                Contact::Visit(v, ..) | Contact::Sale(v, _) => *v,
            };
            // As the projection does: take back what the stored history added,
            // straight into the running counters, then add the changed one.
            let before = histories[v].clone();
            match c {
                Contact::Visit(_, month, mark) => histories[v].add_visit(month, mark),
                Contact::Sale(_, month) => histories[v].add_sale(month),
            }
            before.add_to(&mut incremental, WARRANTY, -1);
            histories[v].add_to(&mut incremental, WARRANTY, 1);
        }
        assert_eq!(incremental, total(&histories), "seed {seed}");
        assert!(incremental.cohorts.values().all(|n| *n > 0), "seed {seed}");
    }
}

#[test]
fn counters_net_to_nothing_when_a_history_is_taken_back() {
    let mut h = VehicleHistory::default();
    h.add_visit(m(2026, 1), visit(1, "G", "A"));
    h.add_sale(m(2025, 12));
    let mut c = h.counters(WARRANTY);
    assert!(c.cohorts.contains_key(&CohortKey {
        rule: Rule::B,
        month: m(2025, 12),
        dimension: Dimension::All,
        value: String::new(),
        gap: 1,
    }));
    assert!(c.base.contains_key(&BaseKey {
        month: m(2026, 1),
        dimension: Dimension::AdvisorGroup,
        value: "G".into(),
    }));
    c.add(&h.counters(WARRANTY), -1);
    assert!(c.is_empty());
}
