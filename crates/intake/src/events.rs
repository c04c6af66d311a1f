//! Intake's events as stored: protobuf messages of `aftercare.intake.v1`, with
//! their type names, and the conversions from the domain.

use aftercare_proto::common::v1::Money;
use aftercare_proto::intake::v1 as pb;
use prost::Message;

use crate::domain::visit::{ValidVisit, VisitKind};

pub use aftercare_proto::event_types::intake::{REPAIR_ORDER_OPENED, VISIT_RECORDED};

pub use aftercare_proto::calendar::{read_instant as instant, timestamp};

impl From<VisitKind> for pb::VisitKind {
    fn from(kind: VisitKind) -> Self {
        match kind {
            VisitKind::Maintenance => pb::VisitKind::Maintenance,
            VisitKind::Repair => pb::VisitKind::Repair,
            VisitKind::Warranty => pb::VisitKind::Warranty,
            VisitKind::Accident => pb::VisitKind::Accident,
            VisitKind::Other => pb::VisitKind::Other,
        }
    }
}

pub fn visit_kind(kind: pb::VisitKind) -> Option<VisitKind> {
    match kind {
        pb::VisitKind::Unspecified => None,
        pb::VisitKind::Maintenance => Some(VisitKind::Maintenance),
        pb::VisitKind::Repair => Some(VisitKind::Repair),
        pb::VisitKind::Warranty => Some(VisitKind::Warranty),
        pb::VisitKind::Accident => Some(VisitKind::Accident),
        pb::VisitKind::Other => Some(VisitKind::Other),
    }
}

pub fn visit_recorded(
    visit: &ValidVisit,
    visit_id: uuid::Uuid,
    vehicle_id: uuid::Uuid,
) -> pb::VisitRecorded {
    pb::VisitRecorded {
        visit_id: visit_id.to_string(),
        repair_order: visit.repair_order.clone(),
        vehicle_id: vehicle_id.to_string(),
        vin: visit.vin.to_string(),
        customer_id: visit.customer_id.clone().unwrap_or_default(),
        opened_at: Some(timestamp(visit.opened_at)),
        closed_at: Some(timestamp(visit.closed_at)),
        mileage_km: visit.mileage_km,
        kind: pb::VisitKind::from(visit.kind) as i32,
        labour: Some(Money {
            fen: visit.labour_fen,
        }),
        parts: Some(Money {
            fen: visit.parts_fen,
        }),
        service_advisor: visit.service_advisor.clone(),
        advisor_group: visit.advisor_group.clone(),
        fault_codes: visit.fault_codes.clone(),
    }
}

/// Decodes a stored `VisitRecorded`, naming what is wrong when it cannot.
pub fn decode_visit(payload: &[u8]) -> Result<pb::VisitRecorded, String> {
    let visit = pb::VisitRecorded::decode(payload).map_err(|e| format!("VisitRecorded: {e}"))?;
    if visit.visit_id.is_empty() || visit.vin.is_empty() {
        return Err("VisitRecorded without visit_id or vin".to_owned());
    }
    if visit.opened_at.as_ref().and_then(instant).is_none()
        || visit.closed_at.as_ref().and_then(instant).is_none()
    {
        return Err("VisitRecorded without valid opened_at and closed_at".to_owned());
    }
    Ok(visit)
}

/// A repair order as sent over gRPC or the NATS ingest subject in protobuf.
pub fn repair_order(order: &pb::RepairOrder) -> crate::domain::visit::RepairOrder {
    crate::domain::visit::RepairOrder {
        repair_order: order.repair_order.clone(),
        vin: order.vin.clone(),
        customer_id: order.customer_id.clone(),
        opened_at: order.opened_at.as_ref().and_then(instant),
        closed_at: order.closed_at.as_ref().and_then(instant),
        mileage_km: order.mileage_km,
        kind: pb::VisitKind::try_from(order.kind)
            .ok()
            .and_then(visit_kind),
        labour_fen: order.labour.map_or(0, |m| m.fen),
        parts_fen: order.parts.map_or(0, |m| m.fen),
        service_advisor: order.service_advisor.clone(),
        advisor_group: order.advisor_group.clone(),
        fault_codes: order.fault_codes.clone(),
    }
}

pub fn repair_order_opened(
    opening: &crate::domain::visit::ValidOpening,
    visit_id: uuid::Uuid,
    vehicle_id: uuid::Uuid,
) -> pb::RepairOrderOpened {
    pb::RepairOrderOpened {
        visit_id: visit_id.to_string(),
        repair_order: opening.repair_order.clone(),
        vehicle_id: vehicle_id.to_string(),
        vin: opening.vin.to_string(),
        customer_id: opening.customer_id.clone().unwrap_or_default(),
        opened_at: Some(timestamp(opening.opened_at)),
        promised_at: opening.promised_at.map(timestamp),
        service_advisor: opening.service_advisor.clone(),
        advisor_group: opening.advisor_group.clone(),
        kind: opening
            .kind
            .map_or(pb::VisitKind::Unspecified, pb::VisitKind::from) as i32,
    }
}

/// An opened repair order as sent over gRPC or the ingest subject in protobuf.
pub fn opened_order(order: &pb::OpenedRepairOrder) -> crate::domain::visit::OpenedOrder {
    crate::domain::visit::OpenedOrder {
        repair_order: order.repair_order.clone(),
        vin: order.vin.clone(),
        customer_id: order.customer_id.clone(),
        opened_at: order.opened_at.as_ref().and_then(instant),
        promised_at: order.promised_at.as_ref().and_then(instant),
        kind: pb::VisitKind::try_from(order.kind)
            .ok()
            .and_then(visit_kind),
        service_advisor: order.service_advisor.clone(),
        advisor_group: order.advisor_group.clone(),
    }
}
