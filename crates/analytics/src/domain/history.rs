//! One vehicle's contacts with the dealer by calendar month, and what that history
//! adds to the monthly cohort counters. The projection keeps a history per vehicle
//! and, when a batch changes it, moves the counters by the difference between
//! what the history added before and what it adds after: late, out-of-order and
//! backfilled visits land in the right cohort without a special case.

use std::collections::BTreeMap;

use hashbrown::{Equivalent, HashMap};
use serde::{Deserialize, Serialize};

use super::{Month, Segment, Thresholds};

/// The gap of a cohort entry whose vehicle has not come back (yet).
pub const NOT_BACK: i32 = -1;

/// Which contacts a churn rate counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Service visits only (cohort by last visit).
    A,
    /// Service visits and sales.
    B,
    /// Sold here and not (yet) serviced: the first sale, and when the first visit came.
    NeverVisited,
}

impl Rule {
    pub fn code(self) -> &'static str {
        match self {
            Rule::A => "a",
            Rule::B => "b",
            Rule::NeverVisited => "n",
        }
    }
}

/// What a churn figure can be broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    All,
    /// Charged to the group of the last visit in the month (业待组).
    AdvisorGroup,
    Advisor,
    Model,
    /// The owner's district.
    Region,
    /// Vehicle age at the contact: < 1 y, 1–2, 2–3, 3–4, 4+.
    Age,
    /// In or out of the dealer's warranty period at the contact.
    Warranty,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::All,
        Dimension::AdvisorGroup,
        Dimension::Advisor,
        Dimension::Model,
        Dimension::Region,
        Dimension::Age,
        Dimension::Warranty,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Dimension::All => "all",
            Dimension::AdvisorGroup => "advisor-group",
            Dimension::Advisor => "advisor",
            Dimension::Model => "model",
            Dimension::Region => "region",
            Dimension::Age => "age",
            Dimension::Warranty => "warranty",
        }
    }

    pub fn from_code(code: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// One service visit as churn needs it: when it closed and who received the car.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitMark {
    /// Microseconds since the epoch, UTC.
    #[serde(rename = "t")]
    pub closed_at: i64,
    #[serde(rename = "g")]
    pub group: String,
    #[serde(rename = "a")]
    pub advisor: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthContacts {
    /// In order of closing.
    #[serde(rename = "v", default, skip_serializing_if = "Vec::is_empty")]
    pub visits: Vec<VisitMark>,
    #[serde(rename = "s", default, skip_serializing_if = "is_zero")]
    pub sales: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A vehicle as churn sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VehicleHistory {
    pub model: String,
    pub purchased: Option<Month>,
    pub district: String,
    pub months: BTreeMap<Month, MonthContacts>,
}

/// A cohort counter: vehicles whose contact in `month` was followed by the next
/// one `gap` months later (or [`NOT_BACK`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CohortKey {
    pub rule: Rule,
    pub month: Month,
    pub dimension: Dimension,
    pub value: String,
    pub gap: i32,
}

/// A [`CohortKey`] borrowing its value: looks a counter up without allocating.
/// Hashes exactly as the key (same fields, same order; `&str` hashes as `String`).
#[derive(Hash)]
struct CohortRef<'a> {
    rule: Rule,
    month: Month,
    dimension: Dimension,
    value: &'a str,
    gap: i32,
}

impl Equivalent<CohortKey> for CohortRef<'_> {
    fn equivalent(&self, key: &CohortKey) -> bool {
        self.rule == key.rule
            && self.month == key.month
            && self.dimension == key.dimension
            && self.value == key.value
            && self.gap == key.gap
    }
}

/// A base counter: service visits (台次) and sales in `month`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BaseKey {
    pub month: Month,
    pub dimension: Dimension,
    pub value: String,
}

#[derive(Hash)]
struct BaseRef<'a> {
    month: Month,
    dimension: Dimension,
    value: &'a str,
}

impl Equivalent<BaseKey> for BaseRef<'_> {
    fn equivalent(&self, key: &BaseKey) -> bool {
        self.month == key.month && self.dimension == key.dimension && self.value == key.value
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Base {
    pub visits: i64,
    pub sales: i64,
}

/// Counter increments (or, subtracted, decrements).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub cohorts: HashMap<CohortKey, i64>,
    pub base: HashMap<BaseKey, Base>,
}

impl Counters {
    /// Adds `other` times `sign` (+1 or −1), dropping counters that net to zero.
    pub fn add(&mut self, other: &Counters, sign: i64) {
        for (key, n) in &other.cohorts {
            self.bump_cohort(
                CohortRef {
                    rule: key.rule,
                    month: key.month,
                    dimension: key.dimension,
                    value: &key.value,
                    gap: key.gap,
                },
                sign * n,
            );
        }
        for (key, b) in &other.base {
            let by = Base {
                visits: sign * b.visits,
                sales: sign * b.sales,
            };
            self.bump_base(
                BaseRef {
                    month: key.month,
                    dimension: key.dimension,
                    value: &key.value,
                },
                by,
            );
        }
    }

    fn bump_cohort(&mut self, key: CohortRef<'_>, by: i64) {
        match self.cohorts.get_mut(&key) {
            Some(n) => {
                *n += by;
                if *n == 0 {
                    self.cohorts.remove(&key);
                }
            }
            None if by != 0 => {
                let owned = CohortKey {
                    rule: key.rule,
                    month: key.month,
                    dimension: key.dimension,
                    value: key.value.to_owned(),
                    gap: key.gap,
                };
                self.cohorts.insert(owned, by);
            }
            None => {}
        }
    }

    fn bump_base(&mut self, key: BaseRef<'_>, by: Base) {
        match self.base.get_mut(&key) {
            Some(b) => {
                b.visits += by.visits;
                b.sales += by.sales;
                if *b == Base::default() {
                    self.base.remove(&key);
                }
            }
            None if by != Base::default() => {
                let owned = BaseKey {
                    month: key.month,
                    dimension: key.dimension,
                    value: key.value.to_owned(),
                };
                self.base.insert(owned, by);
            }
            None => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cohorts.is_empty() && self.base.is_empty()
    }

    /// The counters held.
    pub fn len(&self) -> usize {
        self.cohorts.len() + self.base.len()
    }
}

/// Where a vehicle stood on a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VehicleStatus {
    pub last_visit: Option<VisitMark>,
    pub months_since_last_visit: Option<i32>,
    pub segment: Segment,
}

pub fn age_band(age_months: Option<i32>) -> &'static str {
    match age_months {
        None => "unknown",
        Some(m) if m < 12 => "<1y",
        Some(m) if m < 24 => "1-2y",
        Some(m) if m < 36 => "2-3y",
        Some(m) if m < 48 => "3-4y",
        Some(_) => "4y+",
    }
}

impl VehicleHistory {
    pub fn add_visit(&mut self, month: Month, visit: VisitMark) {
        let visits = &mut self.months.entry(month).or_default().visits;
        let at = visits.partition_point(|v| v.closed_at <= visit.closed_at);
        visits.insert(at, visit);
    }

    /// The month of the last service visit, if any.
    pub fn last_visit_month(&self) -> Option<Month> {
        self.months
            .iter()
            .rev()
            .find(|(_, c)| !c.visits.is_empty())
            .map(|(m, _)| *m)
    }

    pub fn add_sale(&mut self, month: Month) {
        self.months.entry(month).or_default().sales += 1;
        if self.purchased.is_none() {
            self.purchased = Some(month);
        }
    }

    /// The value of each breakdown for a contact in `month` charged to
    /// `group`/`advisor` (empty for a sale).
    fn values<'a>(
        &'a self,
        month: Month,
        group: &'a str,
        advisor: &'a str,
        warranty_months: u32,
    ) -> [(Dimension, &'a str); 7] {
        let age = self.purchased.map(|p| month.since(p).max(0));
        let warranty = match age {
            None => "unknown",
            Some(m) if m < warranty_months as i32 => "in",
            Some(_) => "out",
        };
        [
            (Dimension::All, ""),
            (Dimension::AdvisorGroup, group),
            (Dimension::Advisor, advisor),
            (Dimension::Model, &self.model),
            (Dimension::Region, &self.district),
            (Dimension::Age, age_band(age)),
            (Dimension::Warranty, warranty),
        ]
    }

    /// Everything this history adds to the counters.
    pub fn counters(&self, warranty_months: u32) -> Counters {
        let mut out = Counters::default();
        self.add_to(&mut out, warranty_months, 1);
        out
    }

    /// Adds what this history adds to the counters, times `sign` (+1 or −1), to
    /// `out` directly: a batch or a recount sums many histories without building
    /// each one's counters first.
    pub fn add_to(&self, out: &mut Counters, warranty_months: u32, sign: i64) {
        for (&month, contacts) in &self.months {
            for visit in &contacts.visits {
                let by = Base {
                    visits: sign,
                    sales: 0,
                };
                self.add_base(
                    out,
                    month,
                    (&visit.group, &visit.advisor),
                    warranty_months,
                    by,
                );
            }
            if contacts.sales > 0 {
                let by = Base {
                    visits: 0,
                    sales: sign * i64::from(contacts.sales),
                };
                self.add_base(out, month, ("", ""), warranty_months, by);
            }
        }
        let visited: Vec<Month> = self
            .months
            .iter()
            .filter(|(_, c)| !c.visits.is_empty())
            .map(|(m, _)| *m)
            .collect();
        let contacted: Vec<Month> = self.months.keys().copied().collect();
        self.cohorts(Rule::A, &visited, warranty_months, sign, out);
        self.cohorts(Rule::B, &contacted, warranty_months, sign, out);
        let first_sale = self
            .months
            .iter()
            .find(|(_, c)| c.sales > 0)
            .map(|(m, _)| *m);
        if let Some(sold) = first_sale {
            let gap = match visited.first() {
                None => Some(NOT_BACK),
                Some(first) if *first >= sold => Some(first.since(sold)),
                // Serviced before it was sold here: it has a service record.
                Some(_) => None,
            };
            if let Some(gap) = gap {
                for (dimension, value) in self.values(sold, "", "", warranty_months) {
                    let key = CohortRef {
                        rule: Rule::NeverVisited,
                        month: sold,
                        dimension,
                        value,
                        gap,
                    };
                    out.bump_cohort(key, sign);
                }
            }
        }
    }

    /// Adds `by` to the base counter of every breakdown of a contact in `month`.
    fn add_base(
        &self,
        out: &mut Counters,
        month: Month,
        (group, advisor): (&str, &str),
        warranty_months: u32,
        by: Base,
    ) {
        for (dimension, value) in self.values(month, group, advisor, warranty_months) {
            let key = BaseRef {
                month,
                dimension,
                value,
            };
            out.bump_base(key, by);
        }
    }

    fn cohorts(
        &self,
        rule: Rule,
        months: &[Month],
        warranty_months: u32,
        sign: i64,
        out: &mut Counters,
    ) {
        for (i, &month) in months.iter().enumerate() {
            let gap = months.get(i + 1).map_or(NOT_BACK, |next| next.since(month));
            // Churn is charged to whoever received the car last that month.
            let (group, advisor) = self.months[&month]
                .visits
                .last()
                .map_or(("", ""), |v| (v.group.as_str(), v.advisor.as_str()));
            for (dimension, value) in self.values(month, group, advisor, warranty_months) {
                let key = CohortRef {
                    rule,
                    month,
                    dimension,
                    value,
                    gap,
                };
                out.bump_cohort(key, sign);
            }
        }
    }

    /// Where the vehicle stood at `until` (microseconds, the end of the day asked
    /// about) in month `as_of`: its last visit by then and the calendar months since.
    pub fn status(
        &self,
        as_of: Month,
        until: i64,
        thresholds: Thresholds,
    ) -> Option<VehicleStatus> {
        let last = self.months.range(..=as_of).rev().find_map(|(month, c)| {
            c.visits
                .iter()
                .rev()
                .find(|v| v.closed_at <= until)
                .map(|v| (*month, v.clone()))
        });
        match last {
            Some((month, visit)) => {
                let months = as_of.since(month);
                Some(VehicleStatus {
                    last_visit: Some(visit),
                    months_since_last_visit: Some(months),
                    segment: Segment::after(months, thresholds),
                })
            }
            None if self.months.range(..=as_of).any(|(_, c)| c.sales > 0) => Some(VehicleStatus {
                last_visit: None,
                months_since_last_visit: None,
                segment: Segment::NeverVisited,
            }),
            None => None,
        }
    }
}
