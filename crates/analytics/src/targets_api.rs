//! Targets: set by managers, broken down to months, and read against the
//! actuals by month, quarter, year to date and year. The churn rate's actuals
//! come from the churn counters, the complaint rate's from the complaints
//! filed over the visits, the callback rates' from the months the callback
//! context published, the OEM's scores from what was entered.

use std::collections::BTreeMap;

use aftercare_eventstore::{DealerId, Metadata};
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::{Principal, Role, ServiceError, telemetry};
use jiff::Timestamp;
use sqlx::Row;

use crate::api::{AnalyticsApi, REPORT_READERS};
use crate::domain::Month;
use crate::domain::history::Rule;
use crate::domain::targets::{
    Actual, Breakdown, Command, Metric, Rejection, Targets, met, period_target,
};
use crate::queries;
use crate::targets_events::{TargetsCodec, stream};

/// Who sets targets and enters the OEM's scores.
const MANAGERS: &[Role] = &[Role::CareManager, Role::Manager];

fn metric(value: &str) -> Result<Metric, ServiceError> {
    Metric::parse(value.trim()).ok_or_else(|| {
        let known: Vec<&str> = Metric::ALL.iter().map(|m| m.code()).collect();
        ServiceError::invalid(
            "metric",
            format!("{value:?} is not a metric ({})", known.join(", ")),
        )
    })
}

fn year(value: i32) -> Result<i16, ServiceError> {
    if !(2000..=2100).contains(&value) {
        return Err(ServiceError::invalid(
            "year",
            format!("{value} is not a year from 2000 to 2100"),
        ));
    }
    Ok(value as i16)
}

fn rejection(r: Rejection) -> ServiceError {
    match r {
        Rejection::Invalid { field, reason } => ServiceError::invalid(field, reason),
        other => ServiceError::Rejected(other.to_string()),
    }
}

/// A metric's target of the year as the read model has it.
#[derive(Default)]
struct Stored {
    months: [Option<f64>; 12],
    annual: f64,
    breakdown: String,
    by: String,
    at: i64,
}

fn from_millionths(value: i64) -> f64 {
    value as f64 / 1_000_000.0
}

impl AnalyticsApi {
    async fn run_targets(
        &self,
        dealer: &DealerId,
        year: i16,
        command: Command,
        principal: &Principal,
    ) -> Result<pb::TargetsCommandResponse, ServiceError> {
        let metadata = Metadata {
            actor: principal.name.clone(),
            traceparent: telemetry::current_traceparent(),
            ..Metadata::default()
        };
        let done = execute::<Targets>(
            self.store()?.as_ref(),
            &stream(dealer, year)?,
            &TargetsCodec,
            command,
            |e| e.with_metadata(metadata.clone()),
        )
        .await
        .map_err(|e: CommandError<Rejection>| e.into_service_error(rejection))?;
        Ok(pb::TargetsCommandResponse {
            position: Some(common::Position {
                value: done.position.0,
            }),
            changed: !done.events.is_empty(),
        })
    }

    pub(crate) async fn set_target(
        &self,
        principal: &Principal,
        body: &pb::SetTargetRequest,
    ) -> Result<pb::TargetsCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, MANAGERS)?;
        let metric = metric(&body.metric)?;
        let year = year(body.year)?;
        let breakdown = match (body.seasonal_weights.len(), body.monthly.len()) {
            (0, 0) => Breakdown::Even,
            (12, 0) => Breakdown::Seasonal(
                body.seasonal_weights
                    .as_slice()
                    .try_into()
                    .map_err(|_| ServiceError::invalid("seasonal_weights", "needs 12 weights"))?,
            ),
            (0, 12) => Breakdown::Monthly(
                body.monthly
                    .as_slice()
                    .try_into()
                    .map_err(|_| ServiceError::invalid("monthly", "needs 12 values"))?,
            ),
            (w, 0) => {
                return Err(ServiceError::invalid(
                    "seasonal_weights",
                    format!("{w} weights given; a weight for each of the 12 months"),
                ));
            }
            (0, m) => {
                return Err(ServiceError::invalid(
                    "monthly",
                    format!("{m} values given; a value for each of the 12 months"),
                ));
            }
            _ => {
                return Err(ServiceError::invalid(
                    "monthly",
                    "give seasonal weights or monthly values, not both",
                ));
            }
        };
        let command = Command::Set {
            metric,
            year,
            annual: body.annual,
            breakdown,
            by: principal.name.clone(),
            at: Timestamp::now(),
        };
        self.run_targets(&dealer, year, command, principal).await
    }

    pub(crate) async fn record_result(
        &self,
        principal: &Principal,
        body: &pb::RecordResultRequest,
    ) -> Result<pb::TargetsCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, MANAGERS)?;
        let metric = metric(&body.metric)?;
        let month = body
            .month
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("month", "is required"))?;
        let (y, m) = aftercare_proto::calendar::year_month(month)
            .map_err(|reason| ServiceError::invalid("month", reason))?;
        let month = Month::new(y, m);
        let zone = &self.dealers.rules(dealer.as_str()).time_zone;
        let command = Command::Record {
            metric,
            month,
            value: body.value,
            by: principal.name.clone(),
            at: Timestamp::now(),
            now: Month::of_instant(Timestamp::now(), zone),
        };
        self.run_targets(&dealer, y, command, principal).await
    }

    /// A month's actual of a metric, where it is derived or entered.
    async fn actual(
        &self,
        dealer: &DealerId,
        metric: Metric,
        month: Month,
        entered: &BTreeMap<(String, i32), f64>,
    ) -> Result<Option<Actual>, ServiceError> {
        if metric.entered() {
            return Ok(entered
                .get(&(metric.code().to_owned(), month.index()))
                .map(|v| Actual {
                    numerator: *v,
                    denominator: 1.0,
                }));
        }
        match metric {
            Metric::ChurnRate => {
                let k = self.dealers.rules(dealer.as_str()).churn_months;
                let line =
                    queries::total(&self.db, std::slice::from_ref(dealer), Rule::A, month, k)
                        .await?;
                Ok((line.base > 0).then_some(Actual {
                    numerator: line.churned as f64,
                    denominator: line.base as f64,
                }))
            }
            Metric::ComplaintRate => {
                let zone = &self.dealers.rules(dealer.as_str()).time_zone;
                let count = queries::complaints(&self.db, dealer, month, zone)
                    .await?
                    .dealer;
                Ok((count.visits > 0).then_some(Actual {
                    numerator: count.complaints as f64,
                    denominator: count.visits as f64,
                }))
            }
            Metric::CallbackRate
            | Metric::SalesSatisfaction
            | Metric::ServiceSatisfaction
            | Metric::WinbackAppointmentRate => {
                let (numerator, denominator) = match metric {
                    Metric::CallbackRate => ("callbacks_in_window", "callbacks_due"),
                    Metric::SalesSatisfaction => ("sales_satisfied", "sales_rated"),
                    Metric::ServiceSatisfaction => ("service_satisfied", "service_rated"),
                    _ => ("winback_appointments", "winback_called"),
                };
                let row = sqlx::query(&format!(
                    "SELECT {numerator} AS n, {denominator} AS d FROM analytics_callback_months \
                     WHERE dealer = $1 AND month = $2 AND scope = 'dealer'"
                ))
                .bind(dealer.as_str())
                .bind(i64::from(month.index()))
                .fetch_optional(&self.db.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let (n, d): (i64, i64) = (row.try_get("n")?, row.try_get("d")?);
                Ok((d > 0).then_some(Actual {
                    numerator: n as f64,
                    denominator: d as f64,
                }))
            }
            // Entered, answered above.
            Metric::SalesCss | Metric::ServiceCss | Metric::MysteryShopper => Ok(None),
        }
    }

    pub(crate) async fn targets_report(
        &self,
        principal: &Principal,
        body: &pb::TargetsReportRequest,
    ) -> Result<pb::TargetsReportResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, REPORT_READERS)?;
        let year = year(body.year)?;
        self.ready_for_value(body.consistency.as_ref()).await?;
        let zone = &self.dealers.rules(dealer.as_str()).time_zone;
        let now = Month::of_instant(Timestamp::now(), zone);
        let mut targets: BTreeMap<String, Stored> = BTreeMap::new();
        for row in sqlx::query(
            "SELECT metric, month, target, annual, breakdown, set_by, set_at FROM analytics_targets \
             WHERE dealer = $1 AND year = $2",
        )
        .bind(dealer.as_str())
        .bind(i64::from(year))
        .fetch_all(&self.db.pool)
        .await?
        {
            let metric: String = row.try_get("metric")?;
            let entry = targets.entry(metric).or_default();
            let month: i64 = row.try_get("month")?;
            if (1..=12).contains(&month) {
                entry.months[month as usize - 1] = Some(from_millionths(row.try_get("target")?));
            }
            entry.annual = from_millionths(row.try_get("annual")?);
            entry.breakdown = row.try_get("breakdown")?;
            entry.by = row.try_get("set_by")?;
            entry.at = row.try_get("set_at")?;
        }
        let first = Month::new(year, 1);
        let mut entered: BTreeMap<(String, i32), f64> = BTreeMap::new();
        for row in sqlx::query(
            "SELECT metric, month, value FROM analytics_results \
             WHERE dealer = $1 AND month >= $2 AND month <= $3",
        )
        .bind(dealer.as_str())
        .bind(i64::from(first.index()))
        .bind(i64::from(first.plus(11).index()))
        .fetch_all(&self.db.pool)
        .await?
        {
            entered.insert(
                (
                    row.try_get("metric")?,
                    row.try_get::<i64, _>("month")? as i32,
                ),
                from_millionths(row.try_get("value")?),
            );
        }
        let mut lines = Vec::new();
        for metric in Metric::ALL {
            let set = targets.get(metric.code());
            let mut months = Vec::new();
            let mut actuals: Vec<Option<Actual>> = Vec::new();
            for m in 0..12u32 {
                let month = first.plus(m);
                let actual = if month <= now {
                    self.actual(&dealer, metric, month, &entered).await?
                } else {
                    None
                };
                let target = set.and_then(|t| t.months[m as usize]);
                let value = actual.and_then(|a| a.value());
                months.push(pb::MetricMonth {
                    month: Some(common::YearMonth {
                        year: month.year(),
                        month: month.month() as u32,
                    }),
                    target,
                    actual: value,
                    numerator: actual.map_or(0.0, |a| a.numerator),
                    denominator: actual.map_or(0.0, |a| a.denominator),
                    met: target.zip(value).map(|(t, v)| met(metric, t, v)),
                });
                actuals.push(actual);
            }
            let plan: Option<[f64; 12]> = set.and_then(|t| {
                t.months
                    .iter()
                    .copied()
                    .collect::<Option<Vec<f64>>>()
                    .and_then(|v| v.try_into().ok())
            });
            let begun = if now.year() > i32::from(year) {
                12
            } else if now.year() < i32::from(year) {
                0
            } else {
                now.month() as u8
            };
            let mut periods = Vec::new();
            let mut period = |name: String, from: u8, to: u8| {
                let target = plan.map(|p| period_target(&p, from, to));
                let over: Vec<Actual> = actuals[usize::from(from - 1)..usize::from(to)]
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                let value = Actual::over(&over).value();
                periods.push(pb::MetricPeriod {
                    period: name,
                    target,
                    actual: value,
                    met: target.zip(value).map(|(t, v)| met(metric, t, v)),
                });
            };
            for q in 1..=4u8 {
                let (from, to) = (3 * q - 2, 3 * q);
                if from <= begun {
                    period(format!("Q{q}"), from, to.min(begun));
                }
            }
            if begun > 0 {
                period("YTD".to_owned(), 1, begun);
            }
            period("YEAR".to_owned(), 1, 12);
            lines.push(pb::MetricLine {
                metric: metric.code().to_owned(),
                lower_is_better: metric.lower_is_better(),
                annual: set.map(|t| t.annual),
                breakdown: set.map(|t| t.breakdown.clone()).unwrap_or_default(),
                set_by: set.map(|t| t.by.clone()).unwrap_or_default(),
                set_at: set
                    .and_then(|t| Timestamp::from_microsecond(t.at).ok())
                    .map(aftercare_proto::calendar::timestamp),
                months,
                periods,
            });
        }
        Ok(pb::TargetsReportResponse {
            dealer: dealer.to_string(),
            year: i32::from(year),
            metrics: lines,
        })
    }
}
