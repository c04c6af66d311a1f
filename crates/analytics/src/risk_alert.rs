//! A vehicle's churn-risk warning: raised once when its risk reaches the
//! dealer's level, cleared when it falls below again, so each crossing is
//! announced once however often the scoring runs (the aggregate decides
//! against its own events).

use aftercare_eventstore::{DealerId, EventData, RecordedEvent, StoreError, StreamId};
use aftercare_kernel::Aggregate;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1::YearMonth;
use aftercare_runtime::command::EventCodec;
use prost::Message;

use crate::domain::Month;

pub use aftercare_proto::aggregates::VEHICLE_RISK as AGGREGATE;
pub use aftercare_proto::event_types::analytics::{CHURN_RISK_CLEARED, CHURN_RISK_RAISED};

pub fn stream(dealer: &DealerId, vehicle_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), AGGREGATE, vehicle_id)
}

/// What the scoring saw for one vehicle.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub vehicle_id: String,
    pub vin: String,
    pub risk: f64,
    pub months_since_last_visit: i32,
    pub as_of: Month,
    /// The dealer's warning level.
    pub level: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AlertEvent {
    Raised(Scored),
    Cleared(Scored),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alert {
    pub raised: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoRejection {}

impl Aggregate for Alert {
    type Command = Scored;
    type Event = AlertEvent;
    type Rejection = NoRejection;

    fn decide(&self, scored: Scored) -> Result<Vec<AlertEvent>, NoRejection> {
        let high = scored.risk >= scored.level;
        Ok(match (self.raised, high) {
            (false, true) => vec![AlertEvent::Raised(scored)],
            (true, false) => vec![AlertEvent::Cleared(scored)],
            _ => Vec::new(),
        })
    }

    fn evolve(self, event: &AlertEvent) -> Self {
        Alert {
            raised: matches!(event, AlertEvent::Raised(_)),
        }
    }
}

fn year_month(m: Month) -> Option<YearMonth> {
    Some(YearMonth {
        year: m.year(),
        month: m.month() as u32,
    })
}

fn month_of(m: Option<&YearMonth>) -> Month {
    m.map_or(Month::from_index(0), |m| {
        Month::new(m.year as i16, m.month as i8)
    })
}

pub struct AlertCodec;

impl EventCodec<AlertEvent> for AlertCodec {
    fn encode(&self, event: &AlertEvent) -> EventData {
        match event {
            AlertEvent::Raised(s) => EventData::new(
                CHURN_RISK_RAISED,
                pb::ChurnRiskRaised {
                    vehicle_id: s.vehicle_id.clone(),
                    vin: s.vin.clone(),
                    risk: s.risk,
                    months_since_last_visit: s.months_since_last_visit,
                    as_of: year_month(s.as_of),
                }
                .encode_to_vec(),
            ),
            AlertEvent::Cleared(s) => EventData::new(
                CHURN_RISK_CLEARED,
                pb::ChurnRiskCleared {
                    vehicle_id: s.vehicle_id.clone(),
                    risk: s.risk,
                    as_of: year_month(s.as_of),
                }
                .encode_to_vec(),
            ),
        }
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<AlertEvent, String> {
        let bytes = recorded.data.payload.as_ref();
        match recorded.data.event_type.as_str() {
            CHURN_RISK_RAISED => {
                let e = pb::ChurnRiskRaised::decode(bytes).map_err(|e| e.to_string())?;
                Ok(AlertEvent::Raised(Scored {
                    vehicle_id: e.vehicle_id,
                    vin: e.vin,
                    risk: e.risk,
                    months_since_last_visit: e.months_since_last_visit,
                    as_of: month_of(e.as_of.as_ref()),
                    level: 0.0,
                }))
            }
            CHURN_RISK_CLEARED => {
                let e = pb::ChurnRiskCleared::decode(bytes).map_err(|e| e.to_string())?;
                Ok(AlertEvent::Cleared(Scored {
                    vehicle_id: e.vehicle_id,
                    vin: String::new(),
                    risk: e.risk,
                    months_since_last_visit: 0,
                    as_of: month_of(e.as_of.as_ref()),
                    level: 0.0,
                }))
            }
            other => Err(format!("{other} is not a churn-risk event")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_kernel::aggregate::given;

    fn scored(risk: f64) -> Scored {
        Scored {
            vehicle_id: "v1".into(),
            vin: "LSVAG2186E2100001".into(),
            risk,
            months_since_last_visit: 8,
            as_of: Month::new(2026, 11),
            level: 0.6,
        }
    }

    #[test]
    fn a_crossing_is_announced_once_and_a_fall_clears_it() {
        let raised = given::<Alert>(&[]).when(scored(0.7)).expect("decides");
        assert_eq!(raised, [AlertEvent::Raised(scored(0.7))]);
        // Still high a day later: nothing new.
        assert_eq!(given::<Alert>(&raised).when(scored(0.8)), Ok(vec![]));
        // Below the level (it came back): cleared; high again: raised again.
        let cleared = given::<Alert>(&raised).when(scored(0.2)).expect("decides");
        assert_eq!(cleared, [AlertEvent::Cleared(scored(0.2))]);
        let history = [raised, cleared].concat();
        assert_eq!(
            given::<Alert>(&history)
                .when(scored(0.6))
                .expect("decides")
                .len(),
            1,
            "exactly at the level counts"
        );
        // Low from the start: nothing to say.
        assert_eq!(given::<Alert>(&[]).when(scored(0.1)), Ok(vec![]));
    }
}
