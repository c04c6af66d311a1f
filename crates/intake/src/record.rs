//! Recording a DMS repair order: validate, derive the ids, append "must not
//! exist". The same dealer and repair order are recorded once, for ever.

use aftercare_eventstore::{
    DealerId, EventData, EventStore, Expected, Metadata, Position, StoreError, StreamId,
};
use jiff::Timestamp;
use prost::Message;
use uuid::Uuid;

use crate::domain::FieldError;
use crate::domain::visit::{OpenedOrder, RepairOrder, vehicle_id, visit_id};
use crate::events;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub visit_id: Uuid,
    pub position: Position,
    pub already_recorded: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("repair order rejected: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn visit_stream(dealer: &DealerId, visit_id: Uuid) -> Result<StreamId, StoreError> {
    StreamId::new(
        dealer.clone(),
        aftercare_proto::aggregates::VISIT,
        visit_id.simple().to_string(),
    )
}

pub async fn record_visit(
    store: &dyn EventStore,
    dealer: &DealerId,
    order: &RepairOrder,
    now: Timestamp,
    metadata: Metadata,
) -> Result<Recorded, RecordError> {
    let visit = order.validate(now).map_err(RecordError::Invalid)?;
    let visit_id = visit_id(dealer.as_str(), &visit.repair_order);
    let vehicle_id = vehicle_id(dealer.as_str(), &visit.vin);
    let payload = events::visit_recorded(&visit, visit_id, vehicle_id).encode_to_vec();
    // A fresh event id: a repeat (a retry after a lost acknowledgement, or the
    // same repair order sent again years later) meets "must not exist" and is
    // answered "already recorded" with the original position.
    let event = EventData::new(events::VISIT_RECORDED, payload)
        .occurred_at(visit.closed_at)
        .with_metadata(metadata);
    let stream = visit_stream(dealer, visit_id)?;
    let mut expected = Expected::NoStream;
    // The fast path is one "must not exist" append. When the stream exists it
    // either holds this visit already, or only its opening (RepairOrderOpened):
    // then the visit is appended after the opening.
    for _ in 0..ATTEMPTS {
        match store.append(&stream, expected, vec![event.clone()]).await {
            Ok(appended) => {
                return Ok(Recorded {
                    visit_id,
                    position: appended.position,
                    already_recorded: false,
                });
            }
            Err(StoreError::Conflict { .. }) => {
                let existing = store.read_stream(&stream).await?;
                if let Some(recorded) = existing
                    .iter()
                    .find(|e| e.data.event_type == events::VISIT_RECORDED)
                {
                    return Ok(Recorded {
                        visit_id,
                        position: recorded.position,
                        already_recorded: true,
                    });
                }
                expected = existing.expected();
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(StoreError::Unavailable(format!(
        "visit {visit_id} kept changing under {ATTEMPTS} attempts"
    ))
    .into())
}

const ATTEMPTS: usize = 5;

/// Records that a repair order was opened (the car is in the workshop). Once per
/// repair order; after the visit is recorded, a late opening is "already recorded".
pub async fn open_repair_order(
    store: &dyn EventStore,
    dealer: &DealerId,
    order: &OpenedOrder,
    now: Timestamp,
    metadata: Metadata,
) -> Result<Recorded, RecordError> {
    let opening = order.validate(now).map_err(RecordError::Invalid)?;
    let visit_id = visit_id(dealer.as_str(), &opening.repair_order);
    let vehicle_id = vehicle_id(dealer.as_str(), &opening.vin);
    let payload = events::repair_order_opened(&opening, visit_id, vehicle_id).encode_to_vec();
    let event = EventData::new(events::REPAIR_ORDER_OPENED, payload)
        .occurred_at(opening.opened_at)
        .with_metadata(metadata);
    match store
        .append(
            &visit_stream(dealer, visit_id)?,
            Expected::NoStream,
            vec![event],
        )
        .await
    {
        Ok(appended) => Ok(Recorded {
            visit_id,
            position: appended.position,
            already_recorded: false,
        }),
        Err(StoreError::Conflict { current, .. }) => Ok(Recorded {
            visit_id,
            position: current,
            already_recorded: true,
        }),
        Err(err) => Err(err.into()),
    }
}
