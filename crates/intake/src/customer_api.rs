//! The customer-file calls of the intake service: commands through the
//! aggregate, reads from the customer read model, personal data masked for roles
//! that may not see it.

use aftercare_eventstore::{DealerId, EventStore, Metadata, Position, StreamId};
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::request_id;
use aftercare_runtime::{
    ClientRequestId, Database, FieldViolation, PersonalData, Role, ServiceError,
};
use sqlx::Row;
use uuid::Uuid;

use crate::customer_events::{CustomerCodec, channel_of};
use crate::domain::customer::{
    Customer, CustomerCommand, CustomerRejection, CustomerType, Profile, ProfileInput,
};
use crate::domain::phone::Phone;

pub const WRITERS: &[Role] = &[Role::CareManager, Role::CallbackAgent, Role::ServiceAdvisor];

pub fn stream(dealer: &DealerId, id: &str) -> Result<StreamId, ServiceError> {
    let id = Uuid::parse_str(id)
        .map_err(|_| ServiceError::invalid("customer_id", "is not a customer id"))?;
    StreamId::new(
        dealer.clone(),
        aftercare_proto::aggregates::CUSTOMER,
        id.simple().to_string(),
    )
    .map_err(ServiceError::from)
}

/// The profile of a request, checked against `today` at the dealer.
pub fn profile(
    input: Option<&pb::CustomerInput>,
    today: jiff::civil::Date,
) -> Result<Profile, ServiceError> {
    let input = input.ok_or_else(|| ServiceError::invalid("profile", "is required"))?;
    let birthday = match &input.birthday {
        None => None,
        Some(d) => Some(
            aftercare_proto::calendar::date(d)
                .map_err(|e| ServiceError::invalid("profile.birthday", e))?,
        ),
    };
    let customer_type = match pb::CustomerType::try_from(input.customer_type) {
        Ok(pb::CustomerType::Corporate) => CustomerType::Corporate,
        Ok(pb::CustomerType::Government) => CustomerType::Government,
        _ => CustomerType::Private,
    };
    ProfileInput {
        name: input.name.clone(),
        phones: input.phones.clone(),
        district: input.district.clone(),
        customer_type,
        birthday,
    }
    .validate(today)
    .map_err(|errors| {
        ServiceError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldViolation::new(format!("profile.{}", e.field), e.reason))
                .collect(),
        )
    })
}

pub async fn run(
    store: &dyn EventStore,
    stream: &StreamId,
    command: CustomerCommand,
    metadata: Metadata,
) -> Result<pb::CustomerCommandResponse, ServiceError> {
    let executed = execute::<Customer>(store, stream, &CustomerCodec, command, |e| {
        e.with_metadata(metadata.clone())
    })
    .await
    .map_err(|err| refusal(err, stream))?;
    Ok(answer(
        stream,
        executed.position,
        !executed.events.is_empty(),
    ))
}

/// Opens a customer file. With a client request id the customer's id is derived
/// from it, so a retry finds the file its first attempt opened and is answered
/// with that file and its original position (`changed` false), not a second file.
pub async fn register(
    store: &dyn EventStore,
    dealer: &DealerId,
    today: jiff::civil::Date,
    body: &pb::RegisterCustomerRequest,
    metadata: Metadata,
) -> Result<pb::CustomerCommandResponse, ServiceError> {
    let request = ClientRequestId::parse(&body.client_request_id)?;
    let profile = profile(body.profile.as_ref(), today)?;
    let consents = consents(&body.consents)?;
    let id = request.as_ref().map_or_else(Uuid::now_v7, |r| {
        r.aggregate_id(dealer, aftercare_proto::aggregates::CUSTOMER)
    });
    let stream = stream(dealer, &id.to_string())?;
    let command = CustomerCommand::Register {
        customer_id: id.to_string(),
        profile,
        consents,
    };
    match execute::<Customer>(store, &stream, &CustomerCodec, command, |e| {
        e.with_metadata(metadata.clone())
    })
    .await
    {
        Ok(executed) => Ok(answer(&stream, executed.position, true)),
        // Only a repeated request id derives the id of a file that exists.
        Err(CommandError::Rejected(CustomerRejection::AlreadyRegistered)) if request.is_some() => {
            let position = request_id::original_position(store, &stream).await?;
            Ok(answer(&stream, position, false))
        }
        Err(err) => Err(refusal(err, &stream)),
    }
}

fn answer(stream: &StreamId, position: Position, changed: bool) -> pb::CustomerCommandResponse {
    pb::CustomerCommandResponse {
        customer_id: Uuid::parse_str(stream.id())
            .map(|u| u.to_string())
            .unwrap_or_default(),
        position: Some(common::Position { value: position.0 }),
        changed,
    }
}

fn refusal(err: CommandError<CustomerRejection>, stream: &StreamId) -> ServiceError {
    err.into_service_error(|r| match r {
        CustomerRejection::AlreadyRegistered => {
            ServiceError::Rejected("the customer is already registered".into())
        }
        CustomerRejection::NotRegistered => {
            ServiceError::NotFound(format!("customer {}", stream.id()))
        }
    })
}

pub fn consents(
    consents: &[pb::Consent],
) -> Result<Vec<(crate::domain::customer::Channel, bool)>, ServiceError> {
    consents
        .iter()
        .enumerate()
        .map(|(i, c)| {
            channel_of(c.channel)
                .map(|channel| (channel, c.granted))
                .ok_or_else(|| {
                    ServiceError::invalid(
                        format!("consents[{i}].channel"),
                        "must be phone, sms or wechat",
                    )
                })
        })
        .collect()
}

pub use aftercare_runtime::projection::wait_for_consistency as wait;

/// The customer files of `dealer` with these ids, in the order given, as
/// `personal` lets the caller see them. An id of another dealer is not found.
pub async fn files(
    db: &Database,
    dealer: &DealerId,
    personal: PersonalData,
    ids: &[String],
) -> Result<Vec<pb::CustomerFile>, ServiceError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(row) = sqlx::query(
            "SELECT name, district, customer_type, consents, wrong_numbers FROM intake_customers \
             WHERE dealer = $1 AND customer_id = $2",
        )
        .bind(dealer.as_str())
        .bind(id.as_str())
        .fetch_optional(&db.pool)
        .await?
        else {
            continue;
        };
        let phones = sqlx::query(
            "SELECT phone, kind FROM intake_customer_phones WHERE dealer = $1 AND customer_id = $2 \
             ORDER BY phone",
        )
        .bind(dealer.as_str())
        .bind(id.as_str())
        .fetch_all(&db.pool)
        .await?;
        let vehicles = sqlx::query(
            "SELECT vin, model, plate FROM intake_vehicle_files WHERE dealer = $1 AND owner = $2 \
             ORDER BY vin",
        )
        .bind(dealer.as_str())
        .bind(id.as_str())
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|v| -> Result<pb::OwnedVehicle, sqlx::Error> {
            Ok(pb::OwnedVehicle {
                vin: personal.vin(&v.try_get::<String, _>("vin")?),
                model: v.try_get("model")?,
                plate: personal.text(&v.try_get::<Option<String>, _>("plate")?.unwrap_or_default()),
            })
        })
        .collect::<Result<_, _>>()?;
        let name: String = row.try_get("name")?;
        let consents: String = row.try_get("consents")?;
        let wrong: String = row.try_get("wrong_numbers")?;
        out.push(pb::CustomerFile {
            customer_id: id.clone(),
            name: personal.name(&name),
            phones: phones
                .iter()
                .map(|p| -> Result<pb::Phone, sqlx::Error> {
                    Ok(pb::Phone {
                        number: personal.phone(&p.try_get::<String, _>("phone")?),
                        kind: p.try_get::<i32, _>("kind")?,
                    })
                })
                .collect::<Result<_, _>>()?,
            district: row.try_get("district")?,
            customer_type: row.try_get::<i32, _>("customer_type")?,
            consents: consents
                .split(',')
                .filter_map(|c| match c {
                    "phone" => Some(pb::ContactChannel::Phone),
                    "sms" => Some(pb::ContactChannel::Sms),
                    "wechat" => Some(pb::ContactChannel::Wechat),
                    _ => None,
                })
                .map(|channel| pb::Consent {
                    channel: channel as i32,
                    granted: true,
                })
                .collect(),
            masked: personal.is_masked(),
            vehicles,
            wrong_numbers: wrong
                .split(',')
                .filter(|n| !n.is_empty())
                .map(|n| personal.phone(n))
                .collect(),
        });
    }
    Ok(out)
}

/// Customer ids matching a phone number (any typed form) or a name fragment.
/// The customers `query` finds at `dealer` (a VIN, a plate, a phone number or
/// part of a name), a page of them, and how many there are in all.
pub async fn search(
    db: &Database,
    dealer: &DealerId,
    query: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<String>, u64), ServiceError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(ServiceError::invalid(
            "query",
            "is empty: give a phone number or part of a name",
        ));
    }
    if let Ok(vin) = crate::domain::vin::Vin::parse(query) {
        let owner: Option<Option<String>> = sqlx::query_scalar(
            "SELECT owner FROM intake_vehicle_files WHERE dealer = $1 AND vin = $2",
        )
        .bind(dealer.as_str())
        .bind(vin.as_str())
        .fetch_optional(&db.pool)
        .await?;
        let owner: Vec<String> = owner.flatten().into_iter().collect();
        let total = owner.len() as u64;
        return Ok((owner.into_iter().filter(|_| offset == 0).collect(), total));
    }
    // (the condition, its bound value) of the one list the query names.
    let (from, value) = if let Ok(plate) = crate::domain::plate::normalise(query) {
        (
            "FROM intake_vehicle_files WHERE dealer = $1 AND plate = $2 AND owner IS NOT NULL",
            plate.as_str().to_owned(),
        )
    } else if let Ok(phone) = Phone::parse(query) {
        (
            "FROM intake_customer_phones WHERE dealer = $1 AND phone = $2",
            phone.as_str().to_owned(),
        )
    } else {
        (
            "FROM intake_customers WHERE dealer = $1 AND name LIKE $2",
            format!("%{}%", query.replace(['%', '_'], "")),
        )
    };
    let (column, order) = if from.starts_with("FROM intake_vehicle_files") {
        ("owner", "vehicle_id")
    } else if from.starts_with("FROM intake_customer_phones") {
        ("DISTINCT customer_id", "customer_id")
    } else {
        ("customer_id", "name, customer_id")
    };
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT({column}) {from}"))
        .bind(dealer.as_str())
        .bind(value.as_str())
        .fetch_one(&db.pool)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT {column} {from} ORDER BY {order} LIMIT $3 OFFSET $4"
    ))
    .bind(dealer.as_str())
    .bind(value.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0).map_err(ServiceError::from))
        .collect::<Result<_, _>>()?;
    Ok((ids, total.max(0) as u64))
}
