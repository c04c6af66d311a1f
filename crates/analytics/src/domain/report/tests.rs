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
    let segments = |as_of: Month| {
        churn_table(as_of, thresholds, &seen(&counters, Dimension::All, as_of))[""].clone()
    };
    let counts = segments(m(2026, 9)).segments;
    assert_eq!(counts[&Segment::Active], 2);
    assert_eq!(counts[&Segment::Wavering], 1);
    assert_eq!(counts[&Segment::Churned], 1);
    assert_eq!(counts[&Segment::Drifting], 1);
    assert_eq!(counts[&Segment::FullyChurned], 1);
    assert_eq!(counts[&Segment::NeverVisited], 1);
    let september = segments(m(2026, 9));
    assert_eq!((september.base(), september.churned()), (7, 3));
    // In October the sold vehicle has visited: seven vehicles, none never-visited.
    let october = segments(m(2026, 10));
    assert_eq!(october.segments[&Segment::NeverVisited], 0);
    assert_eq!(october.base(), 7);
}

/// What the read model selects for the churn table: the counters whose
/// contact was still the last one at the end of `as_of`.
fn seen(counters: &Counters, dimension: Dimension, as_of: Month) -> Vec<Seen> {
    counters
        .cohorts
        .iter()
        .filter(|(k, _)| matches!(k.rule, Rule::A | Rule::NeverVisited) && k.dimension == dimension)
        .filter(|(k, _)| {
            still_last(
                &DatedCount {
                    month: k.month,
                    gap: k.gap,
                    vehicles: 0,
                },
                as_of,
            )
        })
        .map(|(k, n)| Seen {
            value: k.value.clone(),
            month: k.month,
            never_visited: k.rule == Rule::NeverVisited,
            vehicles: *n,
        })
        .collect()
}

#[test]
fn the_churn_table_by_model_counts_every_vehicle_on_file_once() {
    let thresholds = Thresholds::default();
    let as_of = m(2026, 9);
    let vehicle = |model: &str, visits: &[Month], sold: Option<Month>| {
        let mut h = VehicleHistory {
            model: model.into(),
            ..VehicleHistory::default()
        };
        if let Some(sold) = sold {
            h.add_sale(sold);
        }
        for v in visits {
            h.add_visit(*v, visit(1, "G", "A"));
        }
        h
    };
    let fleet = [
        // 科鲁兹: back this year; gone 13 months; never serviced since its sale.
        vehicle("科鲁兹", &[m(2024, 5), m(2026, 6)], None),
        vehicle("科鲁兹", &[m(2025, 8)], None),
        vehicle("科鲁兹", &[], Some(m(2026, 7))),
        // 迈锐宝: wavering at 7 months; fully churned at 40.
        vehicle("迈锐宝", &[m(2026, 2)], Some(m(2025, 1))),
        vehicle("迈锐宝", &[m(2023, 5)], None),
        // Serviced only after September: not on file yet.
        vehicle("迈锐宝", &[m(2026, 11)], None),
    ];
    let table = churn_table(
        as_of,
        thresholds,
        &seen(&total(&fleet), Dimension::Model, as_of),
    );
    let cruze = &table["科鲁兹"];
    assert_eq!(cruze.base(), 3);
    assert_eq!(cruze.segments[&Segment::Active], 1);
    assert_eq!(cruze.segments[&Segment::Churned], 1);
    assert_eq!(cruze.segments[&Segment::NeverVisited], 1);
    assert_eq!(cruze.churned(), 1);
    let malibu = &table["迈锐宝"];
    assert_eq!((malibu.base(), malibu.churned()), (2, 1));
    assert_eq!(malibu.segments[&Segment::Wavering], 1);
    assert_eq!(malibu.segments[&Segment::FullyChurned], 1);
    // A counter that netted to nothing adds no line.
    let netted = Seen {
        value: "迈腾".into(),
        month: m(2026, 1),
        never_visited: false,
        vehicles: 0,
    };
    assert!(!churn_table(as_of, thresholds, &[netted]).contains_key("迈腾"));
    // Every vehicle once: the lines add up to the total of the fleet.
    let everything = churn_table(
        as_of,
        thresholds,
        &seen(&total(&fleet), Dimension::All, as_of),
    );
    assert_eq!(everything[""].base(), cruze.base() + malibu.base());
}

#[test]
fn the_seeds_table_reads_as_they_draw_it() {
    // One model line of a dealer's table: 107 on file, 14 at or past the threshold.
    let mut line = TableLine::new("科鲁兹");
    line.segments.insert(Segment::Active, 80);
    line.segments.insert(Segment::Wavering, 10);
    line.segments.insert(Segment::Churned, 9);
    line.segments.insert(Segment::Drifting, 3);
    line.segments.insert(Segment::FullyChurned, 2);
    line.segments.insert(Segment::NeverVisited, 3);
    assert_eq!((line.base(), line.churned()), (107, 14));
    assert_eq!((line.rate().expect("a base") * 100.0).round(), 13.0);
    assert_eq!(TableLine::new("").rate(), None, "no base, no rate");
    let mut group = TableLine::new("");
    group.absorb(&line);
    group.absorb(&line);
    assert_eq!((group.base(), group.churned()), (214, 28));
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
