//! Churn rates and segment counts from the cohort counters.
//!
//! Rule A for month M with threshold k: the vehicles whose last visit fell in
//! M−k and that had not returned by the end of M, over all service visits in M−k.
//! Rule B counts sales as contacts too: over visits plus vehicles sold in M−k.
//! A cohort entry whose next contact came `gap` months later had not returned by
//! the end of M exactly when `gap > k`, so any month and any threshold is read
//! from the same counters.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::history::{NOT_BACK, Rule};
use super::{Month, Segment, Thresholds};

/// The churned vehicles of one breakdown value: the cohort counters whose gap
/// satisfies [`churned`], added up (the read model adds them up in SQL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChurnedCount {
    pub value: String,
    pub vehicles: i64,
}

/// A base counter as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseCount {
    pub value: String,
    pub visits: i64,
    pub sales: i64,
}

/// One line of a churn report: the base (台次, plus sales under rule B) and the
/// vehicles of that base that churned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChurnLine {
    pub value: String,
    pub base: i64,
    pub churned: i64,
}

impl ChurnLine {
    /// The rate as a fraction; none without a base.
    pub fn rate(&self) -> Option<f64> {
        (self.base > 0).then(|| self.churned as f64 / self.base as f64)
    }

    /// Compares rates exactly (no floating point), lines without a base last.
    pub fn cmp_rate(&self, other: &ChurnLine) -> Option<Ordering> {
        if self.base <= 0 || other.base <= 0 {
            return None;
        }
        let left = i128::from(self.churned) * i128::from(other.base);
        let right = i128::from(other.churned) * i128::from(self.base);
        Some(left.cmp(&right))
    }

    pub fn absorb(&mut self, other: &ChurnLine) {
        self.base += other.base;
        self.churned += other.churned;
    }
}

/// Whether a contact followed by the next one `gap` months later counts as
/// churned `threshold` months on. The read model's SQL says the same:
/// `gap = -1 OR gap > threshold`.
pub fn churned(gap: i32, threshold: u32) -> bool {
    gap == NOT_BACK || gap > threshold as i32
}

/// The lines of a report, by breakdown value, from the churned vehicles and the
/// base of its cohort month (the report month minus the threshold).
pub fn churn_lines(
    rule: Rule,
    churned: &[ChurnedCount],
    base: &[BaseCount],
) -> BTreeMap<String, ChurnLine> {
    let mut lines: BTreeMap<String, ChurnLine> = BTreeMap::new();
    fn line<'a>(lines: &'a mut BTreeMap<String, ChurnLine>, value: &str) -> &'a mut ChurnLine {
        lines.entry(value.to_owned()).or_insert_with(|| ChurnLine {
            value: value.to_owned(),
            ..ChurnLine::default()
        })
    }
    for b in base {
        line(&mut lines, &b.value).base += b.visits + if rule == Rule::B { b.sales } else { 0 };
    }
    for c in churned {
        line(&mut lines, &c.value).churned += c.vehicles;
    }
    lines.retain(|_, l| l.base != 0 || l.churned != 0);
    lines
}

/// A cohort counter with its month, for segment counts over the whole history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatedCount {
    pub month: Month,
    pub gap: i32,
    pub vehicles: i64,
}

/// Whether a cohort counter's contact in its month was still the vehicle's last
/// at the end of `as_of`. The read model's SQL says the same:
/// `month <= as_of AND (gap = -1 OR month + gap > as_of)`.
pub fn still_last(c: &DatedCount, as_of: Month) -> bool {
    c.month <= as_of && (c.gap == NOT_BACK || c.month.plus(c.gap as u32) > as_of)
}

/// Vehicles whose last contact at the end of a month fell in `month` with a
/// breakdown `value`: serviced then (and not since), or sold then and never
/// serviced (`never_visited`). The read model adds up the counters that
/// satisfy [`still_last`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub value: String,
    pub month: Month,
    pub never_visited: bool,
    pub vehicles: i64,
}

/// A line of the churn table: the vehicles on file with one breakdown value,
/// per segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableLine {
    pub value: String,
    pub segments: BTreeMap<Segment, i64>,
}

impl TableLine {
    pub fn new(value: &str) -> TableLine {
        TableLine {
            value: value.to_owned(),
            segments: Segment::ALL.iter().map(|s| (*s, 0)).collect(),
        }
    }

    /// Every vehicle on file.
    pub fn base(&self) -> i64 {
        self.segments.values().sum()
    }

    /// At or past the churn threshold: churned, drifting and fully churned.
    pub fn churned(&self) -> i64 {
        [Segment::Churned, Segment::Drifting, Segment::FullyChurned]
            .iter()
            .map(|s| self.segments.get(s).copied().unwrap_or(0))
            .sum()
    }

    /// `churned / base`; none without a base.
    pub fn rate(&self) -> Option<f64> {
        let base = self.base();
        (base > 0).then(|| self.churned() as f64 / base as f64)
    }

    pub fn absorb(&mut self, other: &TableLine) {
        for (segment, n) in &other.segments {
            *self.segments.entry(*segment).or_default() += n;
        }
    }
}

/// The churn table at the end of `as_of` for one dealer's thresholds: each
/// vehicle in the segment of the calendar months since its last visit, by
/// breakdown value. The total is the lines added up: each vehicle has one
/// value per breakdown.
pub fn churn_table(
    as_of: Month,
    thresholds: Thresholds,
    seen: &[Seen],
) -> BTreeMap<String, TableLine> {
    let mut lines: BTreeMap<String, TableLine> = BTreeMap::new();
    // Counters that netted to nothing (a vehicle counted, then moved) add no line.
    for s in seen.iter().filter(|s| s.month <= as_of && s.vehicles != 0) {
        let segment = if s.never_visited {
            Segment::NeverVisited
        } else {
            Segment::after(as_of.since(s.month), thresholds)
        };
        *lines
            .entry(s.value.clone())
            .or_insert_with(|| TableLine::new(&s.value))
            .segments
            .entry(segment)
            .or_default() += s.vehicles;
    }
    lines
}

#[cfg(test)]
mod tests;
