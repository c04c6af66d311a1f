//! The vehicle file's events as stored (`aftercare.intake.v1` messages).

use aftercare_eventstore::{EventData, RecordedEvent};
use aftercare_proto::common::v1::{Date, Money};
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::EventCodec;
use prost::Message;

use crate::domain::vehicle::{Sale, VehicleEvent};
use crate::domain::vin::Vin;

pub use aftercare_proto::event_types::intake::{
    VEHICLE_OWNERSHIP_TRANSFERRED as OWNERSHIP_TRANSFERRED, VEHICLE_REGISTERED, VEHICLE_SOLD,
    VEHICLE_UPDATED,
};

pub struct VehicleCodec;

pub use aftercare_proto::calendar::to_date as date_to;

pub fn date_from(d: Option<&Date>) -> Result<Option<jiff::civil::Date>, String> {
    d.map(|d| aftercare_proto::calendar::date(d).map_err(|e| format!("date: {e}")))
        .transpose()
}

fn vin(text: &str) -> Result<Vin, String> {
    Vin::parse(text).map_err(|e| format!("stored vin: {e}"))
}

impl EventCodec<VehicleEvent> for VehicleCodec {
    fn encode(&self, event: &VehicleEvent) -> EventData {
        match event {
            VehicleEvent::Registered {
                vehicle_id,
                vin,
                plate,
                model,
                owner,
                purchase_date,
                selling_dealer,
                insurance_expiry,
            } => EventData::new(
                VEHICLE_REGISTERED,
                pb::VehicleRegistered {
                    vehicle_id: vehicle_id.clone(),
                    vin: vin.to_string(),
                    plate: plate.clone().unwrap_or_default(),
                    model: model.clone(),
                    owner_customer_id: owner.clone().unwrap_or_default(),
                    purchase_date: purchase_date.map(date_to),
                    selling_dealer: selling_dealer.clone().unwrap_or_default(),
                    insurance_expiry: insurance_expiry.map(date_to),
                }
                .encode_to_vec(),
            ),
            VehicleEvent::Updated {
                vehicle_id,
                plate,
                model,
                insurance_expiry,
            } => EventData::new(
                VEHICLE_UPDATED,
                pb::VehicleUpdated {
                    vehicle_id: vehicle_id.clone(),
                    plate: plate.clone().unwrap_or_default(),
                    model: model.clone(),
                    insurance_expiry: insurance_expiry.map(date_to),
                }
                .encode_to_vec(),
            ),
            VehicleEvent::Sold {
                vehicle_id,
                vin,
                sale,
            } => EventData::new(
                VEHICLE_SOLD,
                pb::VehicleSold {
                    sale_id: sale.sale_id.clone(),
                    vehicle_id: vehicle_id.clone(),
                    vin: vin.to_string(),
                    buyer_customer_id: sale.buyer.clone(),
                    sales_consultant: sale.consultant.clone(),
                    sold_on: Some(date_to(sale.sold_on)),
                    price: Some(Money {
                        fen: sale.price_fen,
                    }),
                    referrer_customer_id: sale.referrer.clone().unwrap_or_default(),
                    model: sale.model.clone(),
                }
                .encode_to_vec(),
            ),
            VehicleEvent::OwnershipTransferred {
                vehicle_id,
                from,
                to,
                on,
            } => EventData::new(
                OWNERSHIP_TRANSFERRED,
                pb::VehicleOwnershipTransferred {
                    vehicle_id: vehicle_id.clone(),
                    from_customer_id: from.clone().unwrap_or_default(),
                    to_customer_id: to.clone(),
                    transferred_on: Some(date_to(*on)),
                }
                .encode_to_vec(),
            ),
        }
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<VehicleEvent, String> {
        let bytes = recorded.data.payload.as_ref();
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        match recorded.data.event_type.as_str() {
            VEHICLE_REGISTERED => {
                let e = pb::VehicleRegistered::decode(bytes).map_err(|e| e.to_string())?;
                Ok(VehicleEvent::Registered {
                    vehicle_id: e.vehicle_id,
                    vin: vin(&e.vin)?,
                    plate: some(e.plate),
                    model: e.model,
                    owner: some(e.owner_customer_id),
                    purchase_date: date_from(e.purchase_date.as_ref())?,
                    selling_dealer: some(e.selling_dealer),
                    insurance_expiry: date_from(e.insurance_expiry.as_ref())?,
                })
            }
            VEHICLE_SOLD => {
                let e = pb::VehicleSold::decode(bytes).map_err(|e| e.to_string())?;
                Ok(VehicleEvent::Sold {
                    vehicle_id: e.vehicle_id,
                    vin: vin(&e.vin)?,
                    sale: Sale {
                        sale_id: e.sale_id,
                        buyer: e.buyer_customer_id,
                        consultant: e.sales_consultant,
                        sold_on: date_from(e.sold_on.as_ref())?.ok_or("sale without a date")?,
                        price_fen: e.price.map_or(0, |m| m.fen),
                        referrer: some(e.referrer_customer_id),
                        model: e.model,
                    },
                })
            }
            VEHICLE_UPDATED => {
                let e = pb::VehicleUpdated::decode(bytes).map_err(|e| e.to_string())?;
                Ok(VehicleEvent::Updated {
                    vehicle_id: e.vehicle_id,
                    plate: some(e.plate),
                    model: e.model,
                    insurance_expiry: date_from(e.insurance_expiry.as_ref())?,
                })
            }
            OWNERSHIP_TRANSFERRED => {
                let e =
                    pb::VehicleOwnershipTransferred::decode(bytes).map_err(|e| e.to_string())?;
                Ok(VehicleEvent::OwnershipTransferred {
                    vehicle_id: e.vehicle_id,
                    from: some(e.from_customer_id),
                    to: e.to_customer_id,
                    on: date_from(e.transferred_on.as_ref())?.ok_or("transfer without a date")?,
                })
            }
            other => Err(format!("{other} is not a vehicle event")),
        }
    }
}
