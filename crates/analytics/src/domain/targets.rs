//! Annual targets broken down to months, and the variance of the actuals:
//! the dealers' decomposition tables (the same level every month, seasonal
//! weights, or a value given per month). Every metric is a level (a rate or a
//! score), so a quarter's and the year-to-date target is the average of its
//! months' targets, and a rate's actual over several months is its numerators
//! over its denominators. Pure.

use super::Month;

/// What a dealer is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// 销售 CSS, points from the OEM's survey (e.g. 930).
    SalesCss,
    /// 售后 CSS.
    ServiceCss,
    /// Satisfied / reached on post-sale calls.
    SalesSatisfaction,
    /// Satisfied / reached on post-service calls.
    ServiceSatisfaction,
    /// Complaints filed / service visits.
    ComplaintRate,
    /// The monthly churn rate (rule A at the dealer's threshold).
    ChurnRate,
    /// Post-sale and post-service calls made in their window / due.
    CallbackRate,
    /// Winback calls ending with an appointment / winback calls made.
    WinbackAppointmentRate,
    /// The OEM's mystery-shopper score (points).
    MysteryShopper,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::SalesCss,
        Metric::ServiceCss,
        Metric::SalesSatisfaction,
        Metric::ServiceSatisfaction,
        Metric::ComplaintRate,
        Metric::ChurnRate,
        Metric::CallbackRate,
        Metric::WinbackAppointmentRate,
        Metric::MysteryShopper,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Metric::SalesCss => "sales-css",
            Metric::ServiceCss => "service-css",
            Metric::SalesSatisfaction => "sales-satisfaction",
            Metric::ServiceSatisfaction => "service-satisfaction",
            Metric::ComplaintRate => "complaint-rate",
            Metric::ChurnRate => "churn-rate",
            Metric::CallbackRate => "callback-rate",
            Metric::WinbackAppointmentRate => "winback-appointment-rate",
            Metric::MysteryShopper => "mystery-shopper",
        }
    }

    pub fn parse(code: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }

    /// Lower is better for complaints and churn; higher for the rest.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Metric::ComplaintRate | Metric::ChurnRate)
    }

    /// Scores entered each month from the OEM's reports, not computed here.
    pub fn entered(self) -> bool {
        matches!(
            self,
            Metric::SalesCss | Metric::ServiceCss | Metric::MysteryShopper
        )
    }

    /// The values a target or a result may take: points up to 1,000 for the
    /// scores, a share from 0 to 1 for the rates.
    pub fn check(self, value: f64) -> Result<(), String> {
        let (low, high) = if self.entered() {
            (0.0, 1_000.0)
        } else {
            (0.0, 1.0)
        };
        if value.is_finite() && (low..=high).contains(&value) {
            Ok(())
        } else if self.entered() {
            Err(format!("{value} is not a score from 0 to 1000"))
        } else {
            Err(format!(
                "{value} is not a rate from 0 to 1 (3.38% is 0.0338)"
            ))
        }
    }
}

/// How an annual target is broken down to months.
#[derive(Clone, Debug, PartialEq)]
pub enum Breakdown {
    /// The annual level every month.
    Even,
    /// The annual level shaped by a weight per month (100 is an average
    /// month); the months average to the annual level.
    Seasonal([u32; 12]),
    /// A value given for each month; the annual level is their average.
    Monthly([f64; 12]),
}

/// The twelve monthly targets of an annual level.
pub fn monthly_targets(annual: f64, breakdown: &Breakdown) -> Result<[f64; 12], String> {
    match breakdown {
        Breakdown::Even => Ok([annual; 12]),
        Breakdown::Seasonal(weights) => {
            let sum: u32 = weights.iter().sum();
            if sum == 0 {
                return Err("the seasonal weights add up to nothing".to_owned());
            }
            Ok(std::array::from_fn(|m| {
                annual * f64::from(weights[m]) * 12.0 / f64::from(sum)
            }))
        }
        Breakdown::Monthly(values) => Ok(*values),
    }
}

/// The annual level of a breakdown: given, or the months' average.
pub fn annual_level(annual: f64, breakdown: &Breakdown) -> f64 {
    match breakdown {
        Breakdown::Monthly(values) => values.iter().sum::<f64>() / 12.0,
        _ => annual,
    }
}

/// The average of the targets of the months `from..=to` (1–12).
pub fn period_target(months: &[f64; 12], from: u8, to: u8) -> f64 {
    let picked = &months[usize::from(from - 1)..usize::from(to)];
    picked.iter().sum::<f64>() / picked.len() as f64
}

/// A month's actual: a computed rate's numerator and denominator, or an
/// entered score (numerator the score, denominator 1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Actual {
    pub numerator: f64,
    pub denominator: f64,
}

impl Actual {
    pub fn value(&self) -> Option<f64> {
        (self.denominator > 0.0).then(|| self.numerator / self.denominator)
    }

    /// Several months as one: a rate over all their contacts, a score as
    /// the average of the months that have one.
    pub fn over(months: &[Actual]) -> Actual {
        months.iter().fold(Actual::default(), |sum, m| Actual {
            numerator: sum.numerator + m.numerator,
            denominator: sum.denominator + m.denominator,
        })
    }
}

/// Whether an actual met its target: at or below it for complaints and
/// churn, at or above it for the rest.
pub fn met(metric: Metric, target: f64, actual: f64) -> bool {
    if metric.lower_is_better() {
        actual <= target
    } else {
        actual >= target
    }
}

/// The quarter (1–4) a month is in.
pub fn quarter_of(month: Month) -> u8 {
    (month.month() as u8 - 1) / 3 + 1
}

/// A metric's target for a year.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub annual: f64,
    pub months: [f64; 12],
    pub breakdown: Breakdown,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Set (or change) a metric's target for the year.
    Set {
        metric: Metric,
        year: i16,
        annual: f64,
        breakdown: Breakdown,
        by: String,
        at: jiff::Timestamp,
    },
    /// A month's score from the OEM's report (CSS, mystery shopper).
    Record {
        metric: Metric,
        month: Month,
        value: f64,
        by: String,
        at: jiff::Timestamp,
        /// The month at the dealer when it was entered: no result ahead of it.
        now: Month,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    TargetSet {
        metric: Metric,
        year: i16,
        plan: Plan,
        by: String,
        at: jiff::Timestamp,
    },
    ResultRecorded {
        metric: Metric,
        month: Month,
        value: f64,
        by: String,
        at: jiff::Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} is computed from the records, not entered")]
    Computed(&'static str),
    #[error("the targets of {year} take months of {year}, not {month}")]
    OutsideYear { year: i16, month: String },
    #[error("{month} has not begun at the dealer")]
    Ahead { month: String },
}

/// A dealer's targets and entered results of one year.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Targets {
    pub year: Option<i16>,
    pub plans: std::collections::BTreeMap<Metric, Plan>,
    pub results: std::collections::BTreeMap<(Metric, Month), f64>,
}

impl aftercare_kernel::Aggregate for Targets {
    type Command = Command;
    type Event = Event;
    type Rejection = Rejection;

    fn decide(&self, command: Command) -> Result<Vec<Event>, Rejection> {
        match command {
            Command::Set {
                metric,
                year,
                annual,
                breakdown,
                by,
                at,
            } => {
                let months =
                    monthly_targets(annual, &breakdown).map_err(|reason| Rejection::Invalid {
                        field: "breakdown",
                        reason,
                    })?;
                for value in months.iter().chain([annual].iter()) {
                    metric.check(*value).map_err(|reason| Rejection::Invalid {
                        field: "value",
                        reason,
                    })?;
                }
                let plan = Plan {
                    annual: annual_level(annual, &breakdown),
                    months,
                    breakdown,
                };
                if self.plans.get(&metric) == Some(&plan) {
                    return Ok(Vec::new());
                }
                Ok(vec![Event::TargetSet {
                    metric,
                    year,
                    plan,
                    by,
                    at,
                }])
            }
            Command::Record {
                metric,
                month,
                value,
                by,
                at,
                now,
            } => {
                if !metric.entered() {
                    return Err(Rejection::Computed(metric.code()));
                }
                metric.check(value).map_err(|reason| Rejection::Invalid {
                    field: "value",
                    reason,
                })?;
                if let Some(year) = self.year
                    && i32::from(year) != month.year()
                {
                    return Err(Rejection::OutsideYear {
                        year,
                        month: month.to_string(),
                    });
                }
                if month > now {
                    return Err(Rejection::Ahead {
                        month: month.to_string(),
                    });
                }
                if self.results.get(&(metric, month)) == Some(&value) {
                    return Ok(Vec::new());
                }
                Ok(vec![Event::ResultRecorded {
                    metric,
                    month,
                    value,
                    by,
                    at,
                }])
            }
        }
    }

    fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::TargetSet {
                metric, year, plan, ..
            } => {
                self.year = Some(*year);
                self.plans.insert(*metric, plan.clone());
            }
            Event::ResultRecorded {
                metric,
                month,
                value,
                ..
            } => {
                self.year.get_or_insert(month.year() as i16);
                self.results.insert((*metric, *month), *value);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_kernel::aggregate::given;

    fn at() -> jiff::Timestamp {
        "2026-03-02T02:00:00Z".parse().expect("instant")
    }

    #[test]
    fn a_target_is_set_once_and_changed_by_setting_it_again() {
        let set = |annual: f64| Command::Set {
            metric: Metric::ChurnRate,
            year: 2026,
            annual,
            breakdown: Breakdown::Even,
            by: "经理".into(),
            at: at(),
        };
        let first = given::<Targets>(&[]).when(set(0.0338)).expect("set");
        assert_eq!(first.len(), 1);
        assert_eq!(
            given::<Targets>(&first).when(set(0.0338)),
            Ok(vec![]),
            "the same again"
        );
        let changed = given::<Targets>(&first).when(set(0.035)).expect("changed");
        assert!(matches!(&changed[0], Event::TargetSet { plan, .. } if plan.annual == 0.035));
        assert!(matches!(
            given::<Targets>(&[]).when(set(3.38)),
            Err(Rejection::Invalid { field: "value", .. })
        ));
    }

    #[test]
    fn only_the_oems_scores_are_entered_within_the_year_and_not_ahead() {
        let record = |metric: Metric, month: Month, value: f64| Command::Record {
            metric,
            month,
            value,
            by: "经理".into(),
            at: at(),
            now: Month::new(2026, 3),
        };
        let css = given::<Targets>(&[])
            .when(record(Metric::ServiceCss, Month::new(2026, 2), 928.0))
            .expect("recorded");
        assert_eq!(
            given::<Targets>(&css).when(record(Metric::ServiceCss, Month::new(2026, 2), 928.0)),
            Ok(vec![])
        );
        assert_eq!(
            given::<Targets>(&css).when(record(Metric::ChurnRate, Month::new(2026, 2), 0.03)),
            Err(Rejection::Computed("churn-rate"))
        );
        assert!(matches!(
            given::<Targets>(&css).when(record(Metric::SalesCss, Month::new(2025, 12), 930.0)),
            Err(Rejection::OutsideYear { .. })
        ));
        assert!(matches!(
            given::<Targets>(&css).when(record(Metric::SalesCss, Month::new(2026, 4), 930.0)),
            Err(Rejection::Ahead { .. })
        ));
    }

    #[test]
    fn an_even_target_is_the_same_every_month() {
        let months = monthly_targets(0.0338, &Breakdown::Even).expect("months");
        assert!(months.iter().all(|m| *m == 0.0338));
        assert_eq!(period_target(&months, 4, 6), 0.0338);
    }

    #[test]
    fn seasonal_weights_shape_the_months_around_the_annual_level() {
        // A dealer expecting more complaints in the summer rush.
        let mut weights = [100; 12];
        weights[6] = 130;
        weights[7] = 130;
        weights[0] = 40;
        let months = monthly_targets(0.011, &Breakdown::Seasonal(weights)).expect("months");
        let average = months.iter().sum::<f64>() / 12.0;
        assert!(
            (average - 0.011).abs() < 1e-12,
            "the months average the year"
        );
        assert!(months[6] > months[1] && months[0] < months[1]);
        assert!((months[6] / months[1] - 1.3).abs() < 1e-12);
        assert!(monthly_targets(0.011, &Breakdown::Seasonal([0; 12])).is_err());
    }

    #[test]
    fn a_monthly_path_gives_its_own_annual_level_and_quarters() {
        // One dealer's churn plan: 3.9% in January falling to 2.9% in December.
        let path: [f64; 12] = std::array::from_fn(|m| 0.039 - 0.001 * m as f64 * 10.0 / 11.0);
        let months = monthly_targets(0.0, &Breakdown::Monthly(path)).expect("months");
        assert_eq!(months, path);
        assert!((months[11] - 0.029).abs() < 1e-12);
        assert!((annual_level(0.0, &Breakdown::Monthly(path)) - 0.034).abs() < 1e-12);
        let q1 = period_target(&months, 1, 3);
        assert!((q1 - (path[0] + path[1] + path[2]) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn actuals_over_months_are_ratios_of_the_sums() {
        // 4 of 100 in January and 1 of 50 in February: 5 of 150, not the
        // average of 4% and 2%.
        let january = Actual {
            numerator: 4.0,
            denominator: 100.0,
        };
        let february = Actual {
            numerator: 1.0,
            denominator: 50.0,
        };
        let both = Actual::over(&[january, february]);
        assert!((both.value().expect("a base") - 5.0 / 150.0).abs() < 1e-12);
        assert_eq!(Actual::default().value(), None);
    }

    #[test]
    fn lower_is_better_for_complaints_and_churn_only() {
        assert!(met(Metric::ChurnRate, 0.0338, 0.03));
        assert!(!met(Metric::ChurnRate, 0.0338, 0.04));
        assert!(
            met(Metric::ServiceSatisfaction, 0.93, 0.93),
            "equal meets it"
        );
        assert!(!met(Metric::SalesCss, 930.0, 925.0));
        assert!(Metric::SalesCss.check(930.0).is_ok());
        assert!(Metric::ChurnRate.check(3.38).is_err(), "a rate is a share");
        assert!(Metric::ChurnRate.check(f64::NAN).is_err());
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.code()), Some(m));
        }
        assert_eq!(quarter_of(Month::new(2026, 5)), 2);
    }
}
