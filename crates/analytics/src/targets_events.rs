//! A dealer's targets of a year as stored (`TargetSet`, `ResultRecorded`),
//! one stream per dealer and year.

use aftercare_eventstore::{DealerId, EventData, RecordedEvent, StoreError, StreamId};
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::calendar::{read_instant, timestamp};
use aftercare_proto::common::v1::YearMonth;
use aftercare_runtime::command::EventCodec;
use prost::Message;

use crate::domain::Month;
use crate::domain::targets::{Breakdown, Event, Metric, Plan};

pub use aftercare_proto::aggregates::TARGETS as AGGREGATE;
pub use aftercare_proto::event_types::analytics::{RESULT_RECORDED, TARGET_SET};

pub fn stream(dealer: &DealerId, year: i16) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), AGGREGATE, year.to_string())
}

pub fn breakdown_name(b: &Breakdown) -> &'static str {
    match b {
        Breakdown::Even => "even",
        Breakdown::Seasonal(_) => "seasonal",
        Breakdown::Monthly(_) => "monthly",
    }
}

pub struct TargetsCodec;

fn metric(code: &str) -> Result<Metric, String> {
    Metric::parse(code).ok_or_else(|| format!("{code} is not a metric"))
}

impl EventCodec<Event> for TargetsCodec {
    fn encode(&self, event: &Event) -> EventData {
        match event {
            Event::TargetSet {
                metric,
                year,
                plan,
                by,
                at,
            } => EventData::new(
                TARGET_SET,
                pb::TargetSet {
                    metric: metric.code().to_owned(),
                    year: i32::from(*year),
                    annual: plan.annual,
                    months: plan.months.to_vec(),
                    breakdown: breakdown_name(&plan.breakdown).to_owned(),
                    weights: match &plan.breakdown {
                        Breakdown::Seasonal(w) => w.to_vec(),
                        _ => Vec::new(),
                    },
                    by: by.clone(),
                    at: Some(timestamp(*at)),
                }
                .encode_to_vec(),
            )
            .occurred_at(*at),
            Event::ResultRecorded {
                metric,
                month,
                value,
                by,
                at,
            } => EventData::new(
                RESULT_RECORDED,
                pb::ResultRecorded {
                    metric: metric.code().to_owned(),
                    month: Some(YearMonth {
                        year: month.year(),
                        month: month.month() as u32,
                    }),
                    value: *value,
                    by: by.clone(),
                    at: Some(timestamp(*at)),
                }
                .encode_to_vec(),
            )
            .occurred_at(*at),
        }
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<Event, String> {
        let bytes = recorded.data.payload.as_ref();
        let at = |t: Option<&prost_types::Timestamp>| {
            t.and_then(read_instant)
                .unwrap_or(recorded.data.occurred_at)
        };
        match recorded.data.event_type.as_str() {
            TARGET_SET => {
                let e = pb::TargetSet::decode(bytes).map_err(|e| e.to_string())?;
                let months: [f64; 12] = e
                    .months
                    .as_slice()
                    .try_into()
                    .map_err(|_| format!("{} months, not 12", e.months.len()))?;
                let breakdown = match e.breakdown.as_str() {
                    "seasonal" => Breakdown::Seasonal(
                        e.weights
                            .as_slice()
                            .try_into()
                            .map_err(|_| format!("{} weights, not 12", e.weights.len()))?,
                    ),
                    "monthly" => Breakdown::Monthly(months),
                    _ => Breakdown::Even,
                };
                Ok(Event::TargetSet {
                    metric: metric(&e.metric)?,
                    year: i16::try_from(e.year).map_err(|_| format!("year {}", e.year))?,
                    plan: Plan {
                        annual: e.annual,
                        months,
                        breakdown,
                    },
                    by: e.by,
                    at: at(e.at.as_ref()),
                })
            }
            RESULT_RECORDED => {
                let e = pb::ResultRecorded::decode(bytes).map_err(|e| e.to_string())?;
                let month = e.month.ok_or("no month")?;
                let (year, m) = aftercare_proto::calendar::year_month(&month)?;
                Ok(Event::ResultRecorded {
                    metric: metric(&e.metric)?,
                    month: Month::new(year, m),
                    value: e.value,
                    by: e.by,
                    at: at(e.at.as_ref()),
                })
            }
            other => Err(format!("{other} is not a targets event")),
        }
    }
}
