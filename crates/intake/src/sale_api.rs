//! Recording a sale through the vehicle aggregate.

use aftercare_eventstore::{DealerId, EventStore, Metadata, StreamId};
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::{FieldViolation, ServiceError, reference};

use crate::domain::vehicle::{SaleInput, Vehicle, VehicleCommand, VehicleRejection};
use crate::domain::visit::vehicle_id;
use crate::vehicle_events::{VehicleCodec, date_from};

pub fn vehicle_stream(dealer: &DealerId, id: uuid::Uuid) -> Result<StreamId, ServiceError> {
    StreamId::new(
        dealer.clone(),
        aftercare_proto::aggregates::VEHICLE,
        id.simple().to_string(),
    )
    .map_err(ServiceError::from)
}

pub async fn record(
    store: &dyn EventStore,
    dealer: &DealerId,
    today: jiff::civil::Date,
    body: &pb::RecordSaleRequest,
    metadata: Metadata,
) -> Result<pb::RecordSaleResponse, ServiceError> {
    let mut input = SaleInput {
        vin: body.vin.clone(),
        buyer: body.buyer_customer_id.clone(),
        consultant: body.sales_consultant.clone(),
        sold_on: date_from(body.sold_on.as_ref())
            .map_err(|e| ServiceError::invalid("sold_on", e))?,
        price_fen: body.price.map_or(0, |m| m.fen),
        referrer: body.referrer_customer_id.clone(),
        model: body.model.clone(),
    };
    let invalid = |errors: Vec<crate::domain::FieldError>| {
        ServiceError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldViolation::new(e.field, e.reason))
                .collect(),
        )
    };
    // Every malformed field first, then the buyer and the referrer, who must be
    // customers of this dealer; their ids are kept in one canonical form.
    input.validate(today).map_err(invalid)?;
    input.buyer = customer(store, dealer, "buyer_customer_id", &input.buyer).await?;
    if !input.referrer.trim().is_empty() {
        input.referrer = customer(store, dealer, "referrer_customer_id", &input.referrer).await?;
    }
    let (vin, sale) = input.validate(today).map_err(invalid)?;
    let id = vehicle_id(dealer.as_str(), &vin);
    let stream = vehicle_stream(dealer, id)?;
    let sale_id = sale.sale_id.clone();
    let command = VehicleCommand::RecordSale {
        vehicle_id: id.to_string(),
        dealer: dealer.to_string(),
        vin,
        sale,
    };
    let executed = execute::<Vehicle>(store, &stream, &VehicleCodec, command, |e| {
        e.with_metadata(metadata.clone())
    })
    .await
    .map_err(|err| vehicle_error(err, id))?;
    Ok(pb::RecordSaleResponse {
        sale_id,
        vehicle_id: id.to_string(),
        position: Some(common::Position {
            value: executed.position.0,
        }),
        already_recorded: executed.events.is_empty(),
    })
}

pub async fn transfer(
    store: &dyn EventStore,
    dealer: &DealerId,
    today: jiff::civil::Date,
    body: &pb::TransferOwnershipRequest,
    metadata: Metadata,
) -> Result<pb::RecordSaleResponse, ServiceError> {
    let vin = crate::domain::vin::Vin::parse(&body.vin)
        .map_err(|e| ServiceError::invalid("vin", e.to_string()))?;
    if body.to_customer_id.trim().is_empty() {
        return Err(ServiceError::invalid("to_customer_id", "is required"));
    }
    let on = date_from(body.transferred_on.as_ref())
        .map_err(|e| ServiceError::invalid("transferred_on", e))?
        .ok_or_else(|| ServiceError::invalid("transferred_on", "is required"))?;
    if on > today {
        return Err(ServiceError::invalid(
            "transferred_on",
            format!("{on} is in the future"),
        ));
    }
    let to = customer(store, dealer, "to_customer_id", &body.to_customer_id).await?;
    let id = vehicle_id(dealer.as_str(), &vin);
    let stream = vehicle_stream(dealer, id)?;
    let executed = execute::<Vehicle>(
        store,
        &stream,
        &VehicleCodec,
        VehicleCommand::TransferOwnership { to, on },
        |e| e.with_metadata(metadata.clone()),
    )
    .await
    .map_err(|err| vehicle_error(err, id))?;
    Ok(pb::RecordSaleResponse {
        sale_id: String::new(),
        vehicle_id: id.to_string(),
        position: Some(common::Position {
            value: executed.position.0,
        }),
        already_recorded: false,
    })
}

/// The customer `id` names in `field`, which must be one of `dealer`'s: the
/// id in its canonical form.
async fn customer(
    store: &dyn EventStore,
    dealer: &DealerId,
    field: &str,
    id: &str,
) -> Result<String, ServiceError> {
    reference::require(
        store,
        dealer,
        aftercare_proto::aggregates::CUSTOMER,
        field,
        id,
    )
    .await
    .map(|id| id.to_string())
}

/// A vehicle command's failure, as the one mapping both calls use.
fn vehicle_error(err: CommandError<VehicleRejection>, id: uuid::Uuid) -> ServiceError {
    err.into_service_error(|r| match r {
        VehicleRejection::NotRegistered => ServiceError::NotFound(format!("vehicle {id}")),
        VehicleRejection::AlreadyRegistered => {
            ServiceError::Rejected(format!("vehicle {id} is already on file"))
        }
        VehicleRejection::SameOwner => {
            ServiceError::Rejected("the customer already owns this vehicle".into())
        }
    })
}

pub async fn register(
    store: &dyn EventStore,
    dealer: &DealerId,
    today: jiff::civil::Date,
    body: &pb::RegisterVehicleRequest,
    metadata: Metadata,
) -> Result<pb::RecordSaleResponse, ServiceError> {
    let mut violations = Vec::new();
    let (vin, plate) = vin_and_plate(&body.vin, &body.plate, &mut violations);
    let purchase_date = date_field(
        "purchase_date",
        body.purchase_date.as_ref(),
        &mut violations,
    );
    if purchase_date.is_some_and(|d| d > today) {
        violations.push(FieldViolation::new("purchase_date", "is in the future"));
    }
    let insurance_expiry = date_field(
        "insurance_expiry",
        body.insurance_expiry.as_ref(),
        &mut violations,
    );
    let Some(vin) = vin.filter(|_| violations.is_empty()) else {
        return Err(ServiceError::Invalid(violations));
    };
    let owner = match body.owner_customer_id.trim() {
        "" => None,
        owner => Some(customer(store, dealer, "owner_customer_id", owner).await?),
    };
    let id = vehicle_id(dealer.as_str(), &vin);
    let stream = vehicle_stream(dealer, id)?;
    let command = VehicleCommand::Register {
        vehicle_id: id.to_string(),
        vin,
        plate,
        model: body.model.trim().to_owned(),
        owner,
        purchase_date,
        insurance_expiry,
    };
    let executed = execute::<Vehicle>(store, &stream, &VehicleCodec, command, |e| {
        e.with_metadata(metadata.clone())
    })
    .await
    .map_err(|err| vehicle_error(err, id))?;
    Ok(pb::RecordSaleResponse {
        sale_id: String::new(),
        vehicle_id: id.to_string(),
        position: Some(common::Position {
            value: executed.position.0,
        }),
        already_recorded: executed.events.is_empty(),
    })
}

pub async fn update(
    store: &dyn EventStore,
    dealer: &DealerId,
    body: &pb::UpdateVehicleRequest,
    metadata: Metadata,
) -> Result<pb::RecordSaleResponse, ServiceError> {
    let mut violations = Vec::new();
    let (vin, plate) = vin_and_plate(&body.vin, &body.plate, &mut violations);
    let insurance_expiry = date_field(
        "insurance_expiry",
        body.insurance_expiry.as_ref(),
        &mut violations,
    );
    let Some(vin) = vin.filter(|_| violations.is_empty()) else {
        return Err(ServiceError::Invalid(violations));
    };
    let id = vehicle_id(dealer.as_str(), &vin);
    let command = VehicleCommand::Update {
        plate,
        model: body.model.trim().to_owned(),
        insurance_expiry,
    };
    let executed = execute::<Vehicle>(
        store,
        &vehicle_stream(dealer, id)?,
        &VehicleCodec,
        command,
        |e| e.with_metadata(metadata.clone()),
    )
    .await
    .map_err(|err| vehicle_error(err, id))?;
    Ok(pb::RecordSaleResponse {
        sale_id: String::new(),
        vehicle_id: id.to_string(),
        position: Some(common::Position {
            value: executed.position.0,
        }),
        already_recorded: executed.events.is_empty(),
    })
}

/// The VIN and the (optional) plate of a vehicle request, each bad one named.
fn vin_and_plate(
    vin: &str,
    plate: &str,
    violations: &mut Vec<FieldViolation>,
) -> (Option<crate::domain::vin::Vin>, Option<String>) {
    let vin = crate::domain::vin::Vin::parse(vin)
        .map_err(|e| violations.push(FieldViolation::new("vin", e.to_string())))
        .ok();
    let plate = if plate.trim().is_empty() {
        None
    } else {
        crate::domain::plate::normalise(plate)
            .map_err(|e| violations.push(FieldViolation::new("plate", e)))
            .ok()
    };
    (vin, plate)
}

fn date_field(
    field: &str,
    date: Option<&aftercare_proto::common::v1::Date>,
    violations: &mut Vec<FieldViolation>,
) -> Option<jiff::civil::Date> {
    date_from(date)
        .map_err(|e| violations.push(FieldViolation::new(field, e)))
        .ok()
        .flatten()
}
