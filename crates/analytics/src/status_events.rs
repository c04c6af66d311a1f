//! `VehicleChurnStatusChanged` to and from protobuf, and the stream it lives on.

use aftercare_eventstore::{DealerId, EventData, RecordedEvent, StoreError, StreamId};
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1::YearMonth;
use aftercare_runtime::command::EventCodec;
use jiff::Timestamp;
use prost::Message;

use crate::domain::history::VisitMark;
use crate::domain::status::{Observation, StatusChanged};
use crate::domain::{Month, Segment};

pub use aftercare_proto::event_types::analytics::VEHICLE_CHURN_STATUS_CHANGED;

/// Aggregate type of a vehicle's announced churn status.
pub use aftercare_proto::aggregates::VEHICLE_CHURN as AGGREGATE;

pub fn stream(dealer: &DealerId, vehicle_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), AGGREGATE, vehicle_id)
}

pub fn segment_to(s: Segment) -> pb::Segment {
    match s {
        Segment::Active => pb::Segment::Active,
        Segment::Wavering => pb::Segment::Wavering,
        Segment::Churned => pb::Segment::Churned,
        Segment::Drifting => pb::Segment::Drifting,
        Segment::FullyChurned => pb::Segment::FullyChurned,
        Segment::NeverVisited => pb::Segment::NeverVisited,
    }
}

pub fn segment_from(value: i32) -> Option<Segment> {
    Some(match pb::Segment::try_from(value).ok()? {
        pb::Segment::Unspecified => return None,
        pb::Segment::Active => Segment::Active,
        pb::Segment::Wavering => Segment::Wavering,
        pb::Segment::Churned => Segment::Churned,
        pb::Segment::Drifting => Segment::Drifting,
        pb::Segment::FullyChurned => Segment::FullyChurned,
        pb::Segment::NeverVisited => Segment::NeverVisited,
    })
}

pub struct StatusCodec;

impl EventCodec<StatusChanged> for StatusCodec {
    fn encode(&self, event: &StatusChanged) -> EventData {
        let o = &event.observation;
        let last = o.last_visit.as_ref();
        let message = pb::VehicleChurnStatusChanged {
            vehicle_id: o.vehicle_id.clone(),
            vin: o.vin.clone(),
            from: event.from.map_or(pb::Segment::Unspecified, segment_to) as i32,
            to: segment_to(o.segment) as i32,
            as_of: Some(YearMonth {
                year: o.as_of.year(),
                month: o.as_of.month() as u32,
            }),
            last_visit_closed_at: last
                .and_then(|v| Timestamp::from_microsecond(v.closed_at).ok())
                .map(aftercare_proto::calendar::timestamp),
            service_advisor: last.map(|v| v.advisor.clone()).unwrap_or_default(),
            advisor_group: last.map(|v| v.group.clone()).unwrap_or_default(),
            months_since_last_visit: o.months_since_last_visit.unwrap_or(0),
        };
        EventData::new(VEHICLE_CHURN_STATUS_CHANGED, message.encode_to_vec())
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<StatusChanged, String> {
        decode(recorded)
    }
}

pub fn decode(recorded: &RecordedEvent) -> Result<StatusChanged, String> {
    let e = pb::VehicleChurnStatusChanged::decode(recorded.data.payload.as_ref())
        .map_err(|e| format!("VehicleChurnStatusChanged: {e}"))?;
    let to = segment_from(e.to).ok_or("VehicleChurnStatusChanged without a segment")?;
    let as_of = e
        .as_of
        .and_then(|m| aftercare_proto::calendar::year_month(&m).ok())
        .map(|(year, month)| Month::new(year, month))
        .ok_or("VehicleChurnStatusChanged without its month")?;
    let last_visit = e
        .last_visit_closed_at
        .as_ref()
        .and_then(aftercare_proto::calendar::read_instant)
        .map(|t| VisitMark {
            closed_at: t.as_microsecond(),
            group: e.advisor_group.clone(),
            advisor: e.service_advisor.clone(),
        });
    Ok(StatusChanged {
        from: segment_from(e.from),
        observation: Observation {
            vehicle_id: e.vehicle_id,
            vin: e.vin,
            segment: to,
            as_of,
            months_since_last_visit: last_visit.as_ref().map(|_| e.months_since_last_visit),
            last_visit,
        },
    })
}
