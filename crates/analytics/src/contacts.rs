//! Intake's events as churn reads them: what each one changes about a customer's
//! district or a vehicle's attributes and contacts.

use crate::config::ChurnDealers;
use aftercare_eventstore::RecordedEvent;
use aftercare_proto::common::v1::Date;
use aftercare_proto::event_types::intake::{
    CUSTOMER_REGISTERED, CUSTOMER_UPDATED, VEHICLE_OWNERSHIP_TRANSFERRED as OWNERSHIP_TRANSFERRED,
    VEHICLE_REGISTERED, VEHICLE_SOLD, VEHICLE_UPDATED, VISIT_RECORDED,
};
use aftercare_proto::intake::v1 as pb;
use prost::Message;

use crate::domain::history::VisitMark;
use crate::domain::{Month, Segment};

/// One change, in log order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    District {
        customer: String,
        district: String,
    },
    Vehicle(VehicleFacts),
    Visit {
        vehicle: String,
        vin: String,
        customer: String,
        month: Month,
        mark: VisitMark,
    },
    Sale {
        vehicle: String,
        vin: String,
        buyer: String,
        model: String,
        month: Month,
    },
    /// The churn segment announced for the vehicle (analytics' own event).
    Status {
        vehicle: String,
        segment: Segment,
        month: Month,
    },
}

/// What a vehicle event says about the vehicle; empty fields say nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VehicleFacts {
    pub vehicle: String,
    pub vin: String,
    pub model: String,
    pub purchased: Option<Month>,
    pub owner: String,
}

impl Change {
    pub fn vehicle(&self) -> Option<&str> {
        match self {
            Change::District { .. } => None,
            Change::Vehicle(f) => Some(&f.vehicle),
            Change::Visit { vehicle, .. }
            | Change::Sale { vehicle, .. }
            | Change::Status { vehicle, .. } => Some(vehicle),
        }
    }
}

fn decode<M: Message + Default>(event: &RecordedEvent) -> Result<M, String> {
    M::decode(event.data.payload.as_ref()).map_err(|e| format!("{}: {e}", event.data.event_type))
}

fn month_of(date: Option<&Date>) -> Option<Month> {
    let d = date?;
    let month = i8::try_from(d.month)
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    Some(Month::new(i16::try_from(d.year).ok()?, month))
}

/// The change an event makes, none for events churn does not read. An event
/// that cannot be decoded is an error (the projection dead-letters it).
pub fn change(event: &RecordedEvent, dealers: &ChurnDealers) -> Result<Option<Change>, String> {
    let change = match event.data.event_type.as_str() {
        CUSTOMER_REGISTERED => {
            let e: pb::CustomerRegistered = decode(event)?;
            Change::District {
                customer: e.customer_id,
                district: e.profile.map(|p| p.district).unwrap_or_default(),
            }
        }
        CUSTOMER_UPDATED => {
            let e: pb::CustomerUpdated = decode(event)?;
            Change::District {
                customer: e.customer_id,
                district: e.profile.map(|p| p.district).unwrap_or_default(),
            }
        }
        VEHICLE_REGISTERED => {
            let e: pb::VehicleRegistered = decode(event)?;
            Change::Vehicle(VehicleFacts {
                vehicle: e.vehicle_id,
                vin: e.vin,
                model: e.model,
                purchased: month_of(e.purchase_date.as_ref()),
                owner: e.owner_customer_id,
            })
        }
        VEHICLE_UPDATED => {
            let e: pb::VehicleUpdated = decode(event)?;
            Change::Vehicle(VehicleFacts {
                vehicle: e.vehicle_id,
                model: e.model,
                ..VehicleFacts::default()
            })
        }
        OWNERSHIP_TRANSFERRED => {
            let e: pb::VehicleOwnershipTransferred = decode(event)?;
            Change::Vehicle(VehicleFacts {
                vehicle: e.vehicle_id,
                owner: e.to_customer_id,
                ..VehicleFacts::default()
            })
        }
        VEHICLE_SOLD => {
            let e: pb::VehicleSold = decode(event)?;
            let month = month_of(e.sold_on.as_ref())
                .ok_or_else(|| format!("sale {} has no valid sold_on", e.sale_id))?;
            Change::Sale {
                vehicle: e.vehicle_id,
                vin: e.vin,
                buyer: e.buyer_customer_id,
                model: e.model,
                month,
            }
        }
        VISIT_RECORDED => {
            let e: pb::VisitRecorded = decode(event)?;
            let closed = e
                .closed_at
                .as_ref()
                .and_then(aftercare_proto::calendar::read_instant)
                .ok_or_else(|| format!("visit {} has no valid closed_at", e.visit_id))?;
            let zone = &dealers.rules(event.dealer().as_str()).time_zone;
            Change::Visit {
                vehicle: e.vehicle_id,
                vin: e.vin,
                customer: e.customer_id,
                month: Month::of_instant(closed, zone),
                mark: VisitMark {
                    closed_at: closed.as_microsecond(),
                    group: e.advisor_group,
                    advisor: e.service_advisor,
                },
            }
        }
        crate::status_events::VEHICLE_CHURN_STATUS_CHANGED => {
            let e = crate::status_events::decode(event)?;
            Change::Status {
                vehicle: e.observation.vehicle_id,
                segment: e.observation.segment,
                month: e.observation.as_of,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(change))
}
