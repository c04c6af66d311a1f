//! What a vehicle (or a customer's vehicles) is worth to the workshop: RFM
//! (recency of the last visit, visits per year, spend per year), scored in
//! quintiles among the dealer's vehicles and named in segments, and ABC
//! classes by contribution. Pure: the figures come in, the scores go out.

use std::cmp::Ordering;

use jiff::civil::Date;

/// One vehicle's (or customer's) service record as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    pub id: String,
    /// The first day it was on file here: its sale, or its first visit.
    pub first_on: Date,
    /// None: sold here and never serviced.
    pub last_visit_on: Option<Date>,
    pub visits: u32,
    /// Labour and parts of every visit, in fen.
    pub spend_fen: i64,
    /// Labour and parts of the visits in the twelve months to the day.
    pub spend_last_year_fen: i64,
    /// The workshop's margin on every visit, in fen.
    pub margin_fen: i64,
}

/// Years on file as of `today`: a year at least, so a new vehicle's one visit
/// is one a year, not twelve.
pub fn years_on_file(first_on: Date, today: Date) -> f64 {
    (f64::from((today - first_on).get_days().max(0)) / 365.25).max(1.0)
}

/// The figures of a customer: their vehicles' added up (the first day on file
/// the earliest, the last visit the latest).
pub fn combined(id: &str, vehicles: &[&Figures]) -> Option<Figures> {
    let first = vehicles.iter().map(|f| f.first_on).min()?;
    Some(Figures {
        id: id.to_owned(),
        first_on: first,
        last_visit_on: vehicles.iter().filter_map(|f| f.last_visit_on).max(),
        visits: vehicles.iter().map(|f| f.visits).sum(),
        spend_fen: vehicles.iter().map(|f| f.spend_fen).sum(),
        spend_last_year_fen: vehicles.iter().map(|f| f.spend_last_year_fen).sum(),
        margin_fen: vehicles.iter().map(|f| f.margin_fen).sum(),
    })
}

/// The three RFM figures of a vehicle that was serviced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rfm {
    /// Calendar days since the last visit.
    pub recency_days: i64,
    /// Visits per year on file (a year at least, so a new vehicle's one visit
    /// is one a year, not twelve).
    pub visits_per_year: f64,
    /// Spend per year on file, in fen.
    pub spend_per_year_fen: i64,
}

/// The RFM figures as of `today`; none for a vehicle never serviced.
pub fn rfm(figures: &Figures, today: Date) -> Option<Rfm> {
    let last = figures.last_visit_on?;
    let years = years_on_file(figures.first_on, today);
    Some(Rfm {
        recency_days: i64::from((today - last).get_days().max(0)),
        visits_per_year: f64::from(figures.visits) / years,
        spend_per_year_fen: (figures.spend_fen as f64 / years).round() as i64,
    })
}

/// Quintile scores 1–5 of `values` (5 the best): the fifths of the dealer's
/// vehicles a value is at least as good as, rounded up. Equal values share a
/// score; a vehicle alone scores 5.
pub fn quintiles<T>(values: &[T], better: impl Fn(&T, &T) -> Ordering) -> Vec<u8> {
    let n = values.len() as u64;
    // Worst first: the vehicles a value is at least as good as are a prefix.
    let mut sorted: Vec<&T> = values.iter().collect();
    sorted.sort_by(|a, b| better(a, b));
    values
        .iter()
        .map(|v| {
            let at_least = sorted.partition_point(|o| better(v, o) != Ordering::Less) as u64;
            // ceil(5 × at_least / n), in whole numbers.
            (5 * at_least).div_ceil(n).clamp(1, 5) as u8
        })
        .collect()
}

/// The named RFM segments, from the scores of recency and frequency (spend
/// separates the champions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RfmSegment {
    /// Recent, frequent and spending: R ≥ 4, F ≥ 4, M ≥ 4.
    Champions,
    /// Frequent and not long gone: R ≥ 3, F ≥ 3.
    Loyal,
    /// Recent but not yet frequent (new owners): R ≥ 4, F ≤ 2.
    Promising,
    /// Neither recent nor frequent yet not gone: R = 3, F ≤ 2.
    NeedsAttention,
    /// Used to come often, not lately: R ≤ 2, F ≥ 3.
    AtRisk,
    /// Seldom and not lately: R = 2, F ≤ 2.
    Hibernating,
    /// Seldom and the longest gone: R = 1, F ≤ 2.
    Lost,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 7] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::Promising,
        RfmSegment::NeedsAttention,
        RfmSegment::AtRisk,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    pub fn of(r: u8, f: u8, m: u8) -> RfmSegment {
        match (r, f, m) {
            (4.., 4.., 4..) => RfmSegment::Champions,
            (3.., 3.., _) => RfmSegment::Loyal,
            (4.., _, _) => RfmSegment::Promising,
            (3, _, _) => RfmSegment::NeedsAttention,
            (_, 3.., _) => RfmSegment::AtRisk,
            (2, _, _) => RfmSegment::Hibernating,
            _ => RfmSegment::Lost,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::Loyal => "loyal",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedsAttention => "needs-attention",
            RfmSegment::AtRisk => "at-risk",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
        }
    }
}

/// A vehicle's scores and segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub id: String,
    pub rfm: Rfm,
    pub scores: (u8, u8, u8),
    pub segment: RfmSegment,
}

/// Every serviced vehicle of a dealer scored against the others as of `today`.
pub fn score(figures: &[Figures], today: Date) -> Vec<Scored> {
    let rated: Vec<(&Figures, Rfm)> = figures
        .iter()
        .filter_map(|f| rfm(f, today).map(|r| (f, r)))
        .collect();
    let recency: Vec<i64> = rated.iter().map(|(_, r)| r.recency_days).collect();
    let frequency: Vec<f64> = rated.iter().map(|(_, r)| r.visits_per_year).collect();
    let monetary: Vec<i64> = rated.iter().map(|(_, r)| r.spend_per_year_fen).collect();
    // Fewer days since the last visit is better.
    let r = quintiles(&recency, |a, b| b.cmp(a));
    let f = quintiles(&frequency, |a, b| {
        a.partial_cmp(b).unwrap_or(Ordering::Equal)
    });
    let m = quintiles(&monetary, |a, b| a.cmp(b));
    rated
        .iter()
        .enumerate()
        .map(|(i, (fig, rfm))| Scored {
            id: fig.id.clone(),
            rfm: *rfm,
            scores: (r[i], f[i], m[i]),
            segment: RfmSegment::of(r[i], f[i], m[i]),
        })
        .collect()
}

/// An ABC class by contribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    A,
    B,
    C,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::A => "A",
            Class::B => "B",
            Class::C => "C",
        }
    }
}

/// Where the classes end, as shares of the dealer's contribution in percent:
/// A up to `a` (80), B up to `b` (95), C the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pareto {
    pub a: u32,
    pub b: u32,
}

impl Default for Pareto {
    fn default() -> Self {
        Pareto { a: 80, b: 95 }
    }
}

/// ABC classes by contribution (`(id, fen)`): the vehicles that, the largest
/// first, make up the first `a`% of the total are A, the next up to `b`% B,
/// the rest C; a vehicle that contributed nothing is C. Equal contributions
/// are ordered by id, so the classes do not depend on the input's order.
pub fn abc(contributions: &[(String, i64)], pareto: Pareto) -> Vec<(String, Class)> {
    let mut sorted: Vec<&(String, i64)> = contributions.iter().collect();
    sorted.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    let total: i128 = sorted.iter().map(|(_, v)| i128::from((*v).max(0))).sum();
    let mut before: i128 = 0;
    sorted
        .into_iter()
        .map(|(id, value)| {
            let value = i128::from((*value).max(0));
            // The share of the total before this vehicle, compared exactly.
            let class = if value == 0 || total == 0 {
                Class::C
            } else if before * 100 < total * i128::from(pareto.a) {
                Class::A
            } else if before * 100 < total * i128::from(pareto.b) {
                Class::B
            } else {
                Class::C
            };
            before += value;
            (id.clone(), class)
        })
        .collect()
}

#[cfg(test)]
mod tests;
