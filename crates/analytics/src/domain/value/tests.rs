use jiff::civil::date;

use super::*;

fn figures(id: &str, first: Date, last: Option<Date>, visits: u32, spend: i64) -> Figures {
    Figures {
        id: id.into(),
        first_on: first,
        last_visit_on: last,
        visits,
        spend_fen: spend,
        spend_last_year_fen: spend,
        margin_fen: spend / 2,
    }
}

#[test]
fn rfm_counts_days_since_the_last_visit_and_rates_per_year_on_file() {
    let today = date(2026, 12, 1);
    // Two years on file (730 days), four visits, 8,000 yuan.
    let two_years = figures("v1", date(2024, 12, 1), Some(date(2026, 11, 1)), 4, 800_000);
    let r = rfm(&two_years, today).expect("serviced");
    assert_eq!(r.recency_days, 30);
    assert!((r.visits_per_year - 4.0 / (730.0 / 365.25)).abs() < 1e-9);
    assert_eq!(
        r.spend_per_year_fen,
        (800_000.0_f64 / (730.0 / 365.25)).round() as i64
    );
    // Three months on file: counted as a year, not four.
    let new = figures("v2", date(2026, 9, 1), Some(date(2026, 9, 1)), 1, 50_000);
    let r = rfm(&new, today).expect("serviced");
    assert_eq!((r.visits_per_year, r.spend_per_year_fen), (1.0, 50_000));
    // Sold and never serviced: no RFM.
    assert_eq!(
        rfm(&figures("v3", date(2026, 1, 1), None, 0, 0), today),
        None
    );
}

#[test]
fn quintiles_score_fifths_with_ties_sharing_a_score() {
    let ten: Vec<i64> = (1..=10).collect();
    assert_eq!(
        quintiles(&ten, |a, b| a.cmp(b)),
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    );
    // Lower is better (days since the last visit): the reverse order.
    assert_eq!(quintiles(&[10i64, 400, 90], |a, b| b.cmp(a)), [5, 2, 4]);
    // Equal values share a score; one vehicle alone is the best.
    assert_eq!(
        quintiles(&[7, 7, 7, 7], |a: &i32, b| a.cmp(b)),
        [5, 5, 5, 5]
    );
    assert_eq!(quintiles(&[3, 9, 9], |a: &i32, b| a.cmp(b)), [2, 5, 5]);
    assert_eq!(quintiles(&[42], |a: &i32, b| a.cmp(b)), [5]);
    assert!(quintiles(&[] as &[i32], |a, b| a.cmp(b)).is_empty());
}

#[test]
fn segments_follow_recency_and_frequency() {
    let cases = [
        ((5, 5, 5), RfmSegment::Champions),
        ((4, 4, 4), RfmSegment::Champions),
        ((5, 5, 3), RfmSegment::Loyal),
        ((3, 3, 1), RfmSegment::Loyal),
        ((5, 1, 5), RfmSegment::Promising),
        ((4, 2, 1), RfmSegment::Promising),
        ((3, 2, 5), RfmSegment::NeedsAttention),
        ((2, 5, 5), RfmSegment::AtRisk),
        ((1, 3, 1), RfmSegment::AtRisk),
        ((2, 2, 5), RfmSegment::Hibernating),
        ((1, 2, 5), RfmSegment::Lost),
        ((1, 1, 1), RfmSegment::Lost),
    ];
    for ((r, f, m), want) in cases {
        assert_eq!(RfmSegment::of(r, f, m), want, "R{r} F{f} M{m}");
    }
    // Every score combination has a segment, and every segment is reachable.
    let mut seen = std::collections::BTreeSet::new();
    for r in 1..=5 {
        for f in 1..=5 {
            for m in 1..=5 {
                seen.insert(RfmSegment::of(r, f, m));
            }
        }
    }
    assert_eq!(seen.len(), RfmSegment::ALL.len());
}

#[test]
fn a_dealers_vehicles_are_scored_against_each_other() {
    let today = date(2026, 12, 1);
    let days_ago = |n: i64| today.checked_sub(jiff::Span::new().days(n)).expect("day");
    let mut fleet = vec![
        // Visits often, spends, was here last week.
        figures("often", date(2023, 12, 1), Some(days_ago(7)), 9, 2_700_000),
        // Came often, not for 20 months.
        figures(
            "gone",
            date(2022, 12, 1),
            Some(date(2025, 4, 1)),
            8,
            1_600_000,
        ),
        // One visit, long ago.
        figures("once", date(2022, 1, 1), Some(date(2022, 6, 1)), 1, 30_000),
        // New owner, first service last month.
        figures("new", date(2026, 8, 1), Some(days_ago(30)), 1, 40_000),
        // Never serviced: not scored.
        figures("never", date(2026, 1, 1), None, 0, 0),
    ];
    // Six regulars: five visits in three years, the last 60 to 210 days ago.
    for ago in [60, 90, 120, 150, 180, 210] {
        fleet.push(figures(
            &format!("regular-{ago}"),
            date(2023, 12, 1),
            Some(days_ago(ago)),
            5,
            600_000,
        ));
    }
    let scored = score(&fleet, today);
    let by_id = |id: &str| scored.iter().find(|s| s.id == id).expect("scored");
    assert_eq!(scored.len(), 10, "the never-serviced vehicle is not scored");
    assert_eq!(by_id("often").scores, (5, 5, 5));
    assert_eq!(by_id("often").segment, RfmSegment::Champions);
    assert_eq!(by_id("gone").scores, (1, 5, 5));
    assert_eq!(by_id("gone").segment, RfmSegment::AtRisk);
    assert_eq!(by_id("once").segment, RfmSegment::Lost);
    assert_eq!(by_id("new").scores.0, 5);
    assert_eq!(by_id("new").segment, RfmSegment::Promising);
    assert_eq!(by_id("regular-60").segment, RfmSegment::Champions);
    assert_eq!(by_id("regular-150").segment, RfmSegment::Loyal);
    assert_eq!(by_id("regular-210").segment, RfmSegment::AtRisk);
}

#[test]
fn abc_classes_take_the_first_80_and_the_next_15_percent() {
    let spend = |pairs: &[(&str, i64)]| -> Vec<(String, i64)> {
        pairs.iter().map(|(id, v)| ((*id).into(), *v)).collect()
    };
    // 1,000 in all: a 500 + b 300 = 80% → A; c 100 and d 50 → up to 95% B; e 50 → C.
    let classes = abc(
        &spend(&[
            ("e", 50),
            ("c", 100),
            ("a", 500),
            ("d", 50),
            ("b", 300),
            ("z", 0),
        ]),
        Pareto::default(),
    );
    let of = |id: &str| classes.iter().find(|(v, _)| v == id).expect("classed").1;
    assert_eq!(
        ["a", "b", "c", "d", "e", "z"].map(of),
        [Class::A, Class::A, Class::B, Class::B, Class::C, Class::C]
    );
    // The vehicle that crosses 80% is still A (the share before it was under).
    let crossing = abc(
        &spend(&[("x", 700), ("y", 200), ("w", 100)]),
        Pareto::default(),
    );
    assert_eq!(
        crossing.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        [Class::A, Class::A, Class::B]
    );
    // Configurable: 70/90; nothing spent anywhere is all C.
    let strict = abc(
        &spend(&[("x", 700), ("y", 200), ("w", 100)]),
        Pareto { a: 70, b: 90 },
    );
    assert_eq!(
        strict.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        [Class::A, Class::B, Class::C]
    );
    assert!(
        abc(&spend(&[("x", 0), ("y", 0)]), Pareto::default())
            .iter()
            .all(|(_, c)| *c == Class::C)
    );
}

#[test]
fn a_customers_figures_are_their_vehicles_added_up() {
    let a = figures("a", date(2021, 3, 1), Some(date(2024, 5, 1)), 4, 400_000);
    let b = figures("b", date(2025, 1, 1), Some(date(2026, 10, 1)), 2, 100_000);
    let never = figures("c", date(2026, 6, 1), None, 0, 0);
    let both = combined("owner", &[&a, &b, &never]).expect("vehicles");
    assert_eq!(both.first_on, date(2021, 3, 1));
    assert_eq!(both.last_visit_on, Some(date(2026, 10, 1)));
    assert_eq!(
        (both.visits, both.spend_fen, both.margin_fen),
        (6, 500_000, 250_000)
    );
    assert_eq!(combined("nobody", &[]), None);
}
