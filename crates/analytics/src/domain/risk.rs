//! The churn-risk score: a logistic regression, fitted per dealer on its own
//! past months, that warns before a vehicle reaches the churn threshold. Every
//! feature is a plain figure of the vehicle's history a manager can read, and
//! the model is judged on a later period it was not fitted on (AUC, and the
//! share of the vehicles that did churn that its top tenth had flagged). Pure.

use super::Month;

/// How many features the model reads.
pub const N: usize = 7;

/// The features, in the order of [`Features::values`].
pub const FEATURES: [&str; N] = [
    "months since the last visit / the vehicle's own visit interval",
    "months since the last visit",
    "visits on file (log)",
    "spend per year on file (log yuan)",
    "vehicle age in years",
    "in warranty",
    "complaints about the vehicle in the last 12 months",
];

/// The months a complaint looks back over.
const COMPLAINT_MONTHS: i32 = 12;

/// A vehicle's history as the model reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// The months of its visits, oldest first (a month once per visit).
    pub visits: Vec<Month>,
    /// Labour and parts of each visit, in fen, in the same order.
    pub spend_fen: Vec<i64>,
    /// Bought (or first on file, when its purchase is not known).
    pub bought: Month,
    /// The months complaints about it were filed, in any order.
    pub complaints: Vec<Month>,
}

/// The features of a vehicle at the end of a month.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features {
    pub overdue: f64,
    pub months_since: f64,
    pub visits: f64,
    pub spend: f64,
    pub age: f64,
    pub warranty: f64,
    pub complaints: f64,
}

impl Features {
    pub fn values(&self) -> [f64; N] {
        [
            self.overdue,
            self.months_since,
            self.visits,
            self.spend,
            self.age,
            self.warranty,
            self.complaints,
        ]
    }
}

/// What a dealer's histories are judged by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Horizon {
    /// Months without a visit that make a vehicle churned.
    pub churn_months: u32,
    /// How far ahead the score warns: churned within this many months.
    pub ahead_months: u32,
    pub warranty_months: u32,
    /// The visit interval of a vehicle with one visit (the dealer's usual).
    pub usual_interval: f64,
}

/// The features of `h` at the end of `at`, for a vehicle that could still
/// churn: serviced by then and not yet churned. None otherwise.
pub fn features(h: &History, at: Month, horizon: Horizon) -> Option<Features> {
    let seen: Vec<(Month, i64)> = h
        .visits
        .iter()
        .zip(&h.spend_fen)
        .filter(|(m, _)| **m <= at)
        .map(|(m, s)| (*m, *s))
        .collect();
    let last = seen.last()?.0;
    let since = at.since(last);
    if since >= horizon.churn_months as i32 {
        return None;
    }
    let first = seen.first()?.0;
    let interval = if seen.len() >= 2 {
        f64::from(last.since(first)) / (seen.len() - 1) as f64
    } else {
        horizon.usual_interval
    }
    .max(1.0);
    let years_on_file = (f64::from(at.since(first).max(0)) / 12.0).max(1.0);
    let spend: i64 = seen.iter().map(|(_, s)| (*s).max(0)).sum();
    let age_months = at.since(h.bought).max(0);
    Some(Features {
        overdue: f64::from(since) / interval,
        months_since: f64::from(since),
        visits: (seen.len() as f64).ln_1p(),
        spend: (spend as f64 / 100.0 / years_on_file).ln_1p(),
        age: f64::from(age_months) / 12.0,
        warranty: f64::from(u8::from(age_months < horizon.warranty_months as i32)),
        complaints: h
            .complaints
            .iter()
            .filter(|m| **m <= at && at.since(**m) < COMPLAINT_MONTHS)
            .count() as f64,
    })
}

/// Whether a vehicle that could still churn at the end of `at` had churned by
/// the end of `at + ahead`: no visit after `at`, and by then the months since
/// its last visit reached the threshold. None when that month is not over by
/// `known` (the outcome is not known yet).
pub fn churned_ahead(h: &History, at: Month, horizon: Horizon, known: Month) -> Option<bool> {
    let end = at.plus(horizon.ahead_months);
    if end > known {
        return None;
    }
    let last = h.visits.iter().filter(|m| **m <= at).max()?;
    let back = h.visits.iter().any(|m| *m > at && *m <= end);
    Some(!back && end.since(*last) >= horizon.churn_months as i32)
}

/// A fitted model: standardised features, weights and bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub means: [f64; N],
    pub scales: [f64; N],
    pub weights: [f64; N],
    pub bias: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// The chance the vehicle churns within the horizon.
    pub fn risk(&self, x: &[f64; N]) -> f64 {
        let z = (0..N).fold(self.bias, |z, i| {
            z + self.weights[i] * (x[i] - self.means[i]) / self.scales[i]
        });
        sigmoid(z)
    }
}

/// Fits a logistic regression by gradient descent on standardised features,
/// with a little L2 so separable data stays finite. Deterministic: the same
/// data gives the same model.
pub fn fit(xs: &[[f64; N]], ys: &[bool]) -> Model {
    let n = xs.len().max(1) as f64;
    let mut means = [0.0; N];
    let mut scales = [1.0; N];
    for i in 0..N {
        means[i] = xs.iter().map(|x| x[i]).sum::<f64>() / n;
        let var = xs.iter().map(|x| (x[i] - means[i]).powi(2)).sum::<f64>() / n;
        scales[i] = if var > 1e-12 { var.sqrt() } else { 1.0 };
    }
    let z: Vec<[f64; N]> = xs
        .iter()
        .map(|x| std::array::from_fn(|i| (x[i] - means[i]) / scales[i]))
        .collect();
    let positives = ys.iter().filter(|y| **y).count() as f64;
    let prior = ((positives + 0.5) / (n + 1.0)).clamp(1e-6, 1.0 - 1e-6);
    let mut weights = [0.0; N];
    let mut bias = (prior / (1.0 - prior)).ln();
    let (rate, l2) = (0.5, 1e-3);
    for _ in 0..500 {
        let mut grad = [0.0; N];
        let mut grad_bias = 0.0;
        for (x, y) in z.iter().zip(ys) {
            let p = sigmoid(bias + (0..N).map(|i| weights[i] * x[i]).sum::<f64>());
            let err = p - f64::from(u8::from(*y));
            for (g, xi) in grad.iter_mut().zip(x) {
                *g += err * xi;
            }
            grad_bias += err;
        }
        for i in 0..N {
            weights[i] -= rate * (grad[i] / n + l2 * weights[i]);
        }
        bias -= rate * grad_bias / n;
    }
    Model {
        means,
        scales,
        weights,
        bias,
    }
}

/// The area under the ROC curve: the chance a vehicle that churned scores
/// above one that did not (ties count half). None without both.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|p| p.1).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Mann–Whitney: the ranks of the positives, ties sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += pairs[i..j].iter().filter(|p| p.1).count() as f64 * mean_rank;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The share of the vehicles that churned that were in the top tenth by score.
pub fn top_decile_capture(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|l| **l).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
    let tenth = scores.len().div_ceil(10);
    let caught = order[..tenth].iter().filter(|i| labels[**i]).count();
    Some(caught as f64 / positives as f64)
}

/// The dealer's usual interval between visits: the median of its vehicles'
/// own intervals (6 months when no vehicle has two visits).
pub fn usual_interval(histories: &[History]) -> f64 {
    let mut own: Vec<f64> = histories
        .iter()
        .filter(|h| h.visits.len() >= 2)
        .map(|h| {
            let (first, last) = (h.visits[0], h.visits[h.visits.len() - 1]);
            f64::from(last.since(first)) / (h.visits.len() - 1) as f64
        })
        .filter(|i| *i > 0.0)
        .collect();
    if own.is_empty() {
        return 6.0;
    }
    own.sort_by(f64::total_cmp);
    own[own.len() / 2]
}

/// Months of snapshots the model is fitted on…
pub const TRAIN_MONTHS: u32 = 9;
/// …and the later months it is judged on.
pub const TEST_MONTHS: u32 = 3;

/// A model fitted on a dealer's past and judged on a later period.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub model: Model,
    /// The first and last month of the snapshots fitted on…
    pub train: (Month, Month),
    /// …and of those judged on; their outcomes were all known.
    pub test: (Month, Month),
    pub trained_on: usize,
    pub evaluated_on: usize,
    pub auc: Option<f64>,
    pub top_decile: Option<f64>,
}

/// Fits the model on the snapshots of [`TRAIN_MONTHS`] months and judges it on
/// the [`TEST_MONTHS`] after them, every outcome known by the month before
/// `as_of` and every training outcome known before the first judged month (no
/// look-ahead). None when the training months lack churners or stayers.
pub fn judge(histories: &[History], as_of: Month, horizon: Horizon) -> Option<Judged> {
    let known = as_of.minus(1);
    let test_end = known.minus(horizon.ahead_months);
    let test_start = test_end.minus(TEST_MONTHS - 1);
    let train_end = test_start.minus(horizon.ahead_months);
    let train_start = train_end.minus(TRAIN_MONTHS - 1);
    let rows = |from: Month, to: Month| {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut t = from;
        while t <= to {
            for h in histories {
                if let (Some(f), Some(y)) =
                    (features(h, t, horizon), churned_ahead(h, t, horizon, known))
                {
                    xs.push(f.values());
                    ys.push(y);
                }
            }
            t = t.plus(1);
        }
        (xs, ys)
    };
    let (train_x, train_y) = rows(train_start, train_end);
    if !train_y.iter().any(|y| *y) || train_y.iter().all(|y| *y) {
        return None;
    }
    let model = fit(&train_x, &train_y);
    let (test_x, test_y) = rows(test_start, test_end);
    let scores: Vec<f64> = test_x.iter().map(|x| model.risk(x)).collect();
    Some(Judged {
        auc: auc(&scores, &test_y),
        top_decile: top_decile_capture(&scores, &test_y),
        model,
        train: (train_start, train_end),
        test: (test_start, test_end),
        trained_on: train_y.len(),
        evaluated_on: test_y.len(),
    })
}

#[cfg(test)]
mod tests;
