use super::*;

fn m(year: i16, month: i8) -> Month {
    Month::new(year, month)
}

const HORIZON: Horizon = Horizon {
    churn_months: 12,
    ahead_months: 6,
    warranty_months: 36,
    usual_interval: 6.0,
};

fn history(visits: &[Month]) -> History {
    History {
        visits: visits.to_vec(),
        spend_fen: visits.iter().map(|_| 100_000).collect(),
        bought: m(2023, 1),
        complaints: Vec::new(),
    }
}

#[test]
fn features_read_the_history_up_to_the_month() {
    let h = history(&[m(2023, 3), m(2023, 9), m(2024, 3), m(2025, 1)]);
    // End of June 2025: five months since January; its own interval is
    // 22 months over three gaps.
    let f = features(&h, m(2025, 6), HORIZON).expect("could churn");
    assert_eq!(f.months_since, 5.0);
    assert!((f.overdue - 5.0 / (22.0 / 3.0)).abs() < 1e-12);
    assert!((f.visits - 4f64.ln_1p()).abs() < 1e-12);
    // 4,000 yuan over 27 months on file.
    assert!((f.spend - (4_000.0_f64 / (27.0 / 12.0)).ln_1p()).abs() < 1e-9);
    assert_eq!((f.age, f.warranty), (29.0 / 12.0, 1.0));
    assert_eq!(f.complaints, 0.0);
    // Complaints count for the twelve months up to the month, not after.
    let complained = History {
        complaints: vec![m(2024, 6), m(2024, 7), m(2025, 6), m(2025, 7)],
        ..h.clone()
    };
    let f = features(&complained, m(2025, 6), HORIZON).expect("could churn");
    assert_eq!(f.complaints, 2.0, "July 2024 and June 2025");
    // Only the visits by then count: in April 2024 there were three.
    let before = features(&h, m(2024, 4), HORIZON).expect("could churn");
    assert_eq!(before.months_since, 1.0);
    assert!((before.visits - 3f64.ln_1p()).abs() < 1e-12);
    // Out of warranty at 36 months (bought January 2023).
    let recent = history(&[m(2023, 3), m(2025, 10)]);
    assert_eq!(
        features(&recent, m(2025, 12), HORIZON)
            .expect("could")
            .warranty,
        1.0
    );
    assert_eq!(
        features(&recent, m(2026, 1), HORIZON)
            .expect("could")
            .warranty,
        0.0
    );
    // One visit: the dealer's usual interval.
    let once = history(&[m(2025, 3)]);
    let f = features(&once, m(2025, 6), HORIZON).expect("could churn");
    assert_eq!(f.overdue, 3.0 / 6.0);
    // Not serviced by then, or already churned: nothing to warn about.
    assert_eq!(features(&once, m(2025, 2), HORIZON), None);
    assert_eq!(
        features(&once, m(2026, 3), HORIZON),
        None,
        "12 months: churned"
    );
    assert!(
        features(&once, m(2026, 2), HORIZON).is_some(),
        "11 months: not yet"
    );
}

#[test]
fn the_outcome_is_churned_within_the_months_ahead() {
    let known = m(2026, 11);
    let gone = history(&[m(2024, 1), m(2024, 7)]);
    // Judged at the end of January 2025: by July 2025 it is 12 months since July 2024.
    assert_eq!(churned_ahead(&gone, m(2025, 1), HORIZON, known), Some(true));
    // Judged in December 2024: by June 2025 only 11 months.
    assert_eq!(
        churned_ahead(&gone, m(2024, 12), HORIZON, known),
        Some(false)
    );
    // Came back within the months ahead: not churned.
    let back = history(&[m(2024, 1), m(2024, 7), m(2025, 5)]);
    assert_eq!(
        churned_ahead(&back, m(2025, 1), HORIZON, known),
        Some(false)
    );
    // The months ahead are not over yet: not known.
    assert_eq!(churned_ahead(&gone, m(2026, 6), HORIZON, known), None);
    assert_eq!(churned_ahead(&gone, m(2026, 5), HORIZON, known), Some(true));
}

#[test]
fn auc_is_the_chance_a_churner_scores_above_a_stayer() {
    let labels = [false, false, true, true];
    assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
    assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
    assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &labels), Some(0.5), "a constant");
    // One of four pairs misordered.
    assert_eq!(auc(&[0.1, 0.6, 0.5, 0.9], &labels), Some(0.75));
    assert_eq!(auc(&[0.1, 0.2], &[false, false]), None);
}

#[test]
fn the_top_tenth_catches_its_share_of_the_churners() {
    // Twenty vehicles, four churned; the top two by score are churners.
    let scores: Vec<f64> = (0..20).map(|i| f64::from(i) / 20.0).collect();
    let labels: Vec<bool> = (0..20)
        .map(|i| i == 19 || i == 18 || i == 3 || i == 4)
        .collect();
    assert_eq!(top_decile_capture(&scores, &labels), Some(0.5));
    assert_eq!(top_decile_capture(&scores, &[false; 20]), None);
}

#[test]
fn the_fit_learns_that_overdue_vehicles_churn() {
    // Vehicles far past their usual interval churn; the rest mostly do not.
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..400 {
        let overdue = f64::from(i % 20) / 10.0;
        let noise = f64::from((i * 7919) % 13) / 13.0;
        xs.push([overdue, overdue * 6.0, 1.5, 7.0, 3.0, 0.0, 0.0]);
        ys.push(overdue + 0.6 * noise > 1.2);
    }
    let model = fit(&xs, &ys);
    assert!(model.weights[0] > 0.0, "{model:?}");
    let late = model.risk(&[1.9, 11.4, 1.5, 7.0, 3.0, 0.0, 0.0]);
    let early = model.risk(&[0.1, 0.6, 1.5, 7.0, 3.0, 0.0, 0.0]);
    assert!(late > 0.9 && early < 0.1, "late {late}, early {early}");
    let scores: Vec<f64> = xs.iter().map(|x| model.risk(x)).collect();
    assert!(auc(&scores, &ys).expect("both") > 0.9);
    // The same data, the same model.
    assert_eq!(fit(&xs, &ys), model);
}

#[test]
fn the_usual_interval_is_the_median_of_the_vehicles_own() {
    let hs = [
        history(&[m(2024, 1), m(2024, 5)]),             // 4
        history(&[m(2024, 1), m(2024, 7), m(2025, 1)]), // 6
        history(&[m(2024, 1), m(2025, 1)]),             // 12
        history(&[m(2024, 3)]),                         // one visit: no interval
    ];
    assert_eq!(usual_interval(&hs), 6.0);
    assert_eq!(usual_interval(&hs[3..]), 6.0, "nobody came twice");
}

/// A dealer's two years: regulars every 4 to 8 months, and leavers that stop
/// coming at some month; a leaver is overdue against its own interval first.
fn fleet() -> Vec<History> {
    let mut hs = Vec::new();
    for i in 0..300u32 {
        let interval = 4 + i % 5;
        let leaves = (i % 3 == 0).then_some(6 + (i * 7) % 14);
        let mut visits = Vec::new();
        let mut t = (i % interval) as i32;
        while t < 30 {
            if leaves.is_some_and(|l| t as u32 > l) {
                break;
            }
            visits.push(m(2024, 1).plus(t as u32));
            t += interval as i32 + ((i * 31 + t as u32) % 3) as i32 - 1;
        }
        hs.push(History {
            spend_fen: visits
                .iter()
                .map(|_| 80_000 + i64::from(i % 7) * 10_000)
                .collect(),
            visits,
            bought: m(2023, 1).plus(i % 12),
            complaints: Vec::new(),
        });
    }
    hs
}

#[test]
fn judged_on_later_months_the_model_beats_a_constant() {
    let hs = fleet();
    let judged = judge(&hs, m(2026, 7), HORIZON).expect("churners and stayers");
    // Fitted on nine months of snapshots, judged on the three after the
    // training outcomes were all known.
    assert_eq!(judged.test, (m(2025, 10), m(2025, 12)));
    assert_eq!(judged.train, (m(2024, 8), m(2025, 4)));
    let auc = judged.auc.expect("both outcomes in the judged months");
    assert!(auc >= 0.7, "AUC {auc}");
    assert!(judged.top_decile.expect("churners") > 0.1);
    // Too little history: nothing to fit.
    assert_eq!(judge(&hs, m(2024, 6), HORIZON), None);
}
