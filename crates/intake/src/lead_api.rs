//! The lead calls of the intake service.

use aftercare_eventstore::{DealerId, EventStore, Metadata, StreamId};
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::execute;
use aftercare_runtime::{
    ClientRequestId, Database, FieldViolation, PersonalData, ServiceError, reference, request_id,
};
use sqlx::Row;
use uuid::Uuid;

use crate::domain::lead::{Lead, LeadCommand, LeadInput, LeadRejection, LeadSource};
use crate::events::timestamp;
use crate::lead_events::{LeadCodec, source_from};

fn stream(dealer: &DealerId, id: Uuid) -> Result<StreamId, ServiceError> {
    StreamId::new(
        dealer.clone(),
        aftercare_proto::aggregates::LEAD,
        id.simple().to_string(),
    )
    .map_err(ServiceError::from)
}

fn lead_id(text: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text).map_err(|_| ServiceError::invalid("lead_id", "is not a lead id"))
}

async fn run(
    store: &dyn EventStore,
    stream: &StreamId,
    id: Uuid,
    command: LeadCommand,
    metadata: Metadata,
) -> Result<pb::LeadCommandResponse, ServiceError> {
    let executed = execute::<Lead>(store, stream, &LeadCodec, command, |e| {
        e.with_metadata(metadata.clone())
    })
    .await
    .map_err(|err| {
        err.into_service_error(|r| match r {
            LeadRejection::NotCaptured => ServiceError::NotFound(format!("lead {id}")),
            LeadRejection::AlreadyCaptured => ServiceError::Rejected("the lead exists".into()),
            LeadRejection::Closed(status) => {
                ServiceError::Rejected(format!("the lead is already {}", status.word()))
            }
            LeadRejection::ReasonRequired => {
                ServiceError::invalid("reason", "a lost lead needs the reason it was lost")
            }
        })
    })?;
    Ok(pb::LeadCommandResponse {
        lead_id: id.to_string(),
        position: Some(common::Position {
            value: executed.position.0,
        }),
        changed: !executed.events.is_empty(),
    })
}

/// Captures a lead. Its id is derived from the OEM's reference for an OEM lead,
/// else from the client request id when there is one, so a repeat is answered
/// with the lead the first capture made (`changed` false) instead of a second one.
pub async fn capture(
    store: &dyn EventStore,
    dealer: &DealerId,
    body: &pb::CaptureLeadRequest,
    metadata: Metadata,
) -> Result<pb::LeadCommandResponse, ServiceError> {
    let request = ClientRequestId::parse(&body.client_request_id)?;
    let source = source_from(body.source);
    let id = match (source, &request) {
        (Some(LeadSource::Oem), _) if !body.oem_reference.trim().is_empty() => Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("lead/{dealer}/{}", body.oem_reference.trim()).as_bytes(),
        ),
        (_, Some(request)) => request.aggregate_id(dealer, aftercare_proto::aggregates::LEAD),
        _ => Uuid::now_v7(),
    };
    let mut input = LeadInput {
        source,
        name: body.name.clone(),
        phone: body.phone.clone(),
        model_of_interest: body.model_of_interest.clone(),
        oem_reference: body.oem_reference.clone(),
        referrer: body.referrer_customer_id.clone(),
    };
    let invalid = |errors: Vec<crate::domain::FieldError>| {
        ServiceError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldViolation::new(e.field, e.reason))
                .collect(),
        )
    };
    let now = jiff::Timestamp::now();
    input.validate(id.to_string(), now).map_err(invalid)?;
    if let Some(referrer) = reference::require_optional(
        store,
        dealer,
        "customer",
        "referrer_customer_id",
        &input.referrer,
    )
    .await?
    {
        input.referrer = referrer.to_string();
    }
    let captured = input.validate(id.to_string(), now).map_err(invalid)?;
    let stream = stream(dealer, id)?;
    let derived = source == Some(LeadSource::Oem) || request.is_some();
    match run(store, &stream, id, LeadCommand::Capture(captured), metadata).await {
        Err(ServiceError::Rejected(_)) if derived => {
            let position = request_id::original_position(store, &stream).await?;
            Ok(pb::LeadCommandResponse {
                lead_id: id.to_string(),
                position: Some(common::Position { value: position.0 }),
                changed: false,
            })
        }
        other => other,
    }
}

/// Converts a lead into the customer (and vehicle) it became, both of the
/// lead's dealer.
pub async fn convert(
    store: &dyn EventStore,
    dealer: &DealerId,
    body: &pb::ConvertLeadRequest,
    metadata: Metadata,
) -> Result<pb::LeadCommandResponse, ServiceError> {
    let id = lead_id(&body.lead_id)?;
    if body.customer_id.trim().is_empty() {
        return Err(ServiceError::invalid(
            "customer_id",
            "a converted lead names its customer",
        ));
    }
    let customer = reference::require(
        store,
        dealer,
        aftercare_proto::aggregates::CUSTOMER,
        "customer_id",
        &body.customer_id,
    )
    .await?;
    let vehicle = reference::require_optional(
        store,
        dealer,
        aftercare_proto::aggregates::VEHICLE,
        "vehicle_id",
        &body.vehicle_id,
    )
    .await?;
    let command = LeadCommand::Convert {
        customer_id: customer.to_string(),
        vehicle_id: vehicle.map(|v| v.to_string()).unwrap_or_default(),
    };
    run(store, &stream(dealer, id)?, id, command, metadata).await
}

pub async fn command(
    store: &dyn EventStore,
    dealer: &DealerId,
    lead: &str,
    command: LeadCommand,
    metadata: Metadata,
) -> Result<pb::LeadCommandResponse, ServiceError> {
    let id = lead_id(lead)?;
    run(store, &stream(dealer, id)?, id, command, metadata).await
}

pub async fn list(
    db: &Database,
    personal: PersonalData,
    dealer: &DealerId,
    body: &pb::ListLeadsRequest,
) -> Result<pb::ListLeadsResponse, ServiceError> {
    let page = aftercare_runtime::paging::Page::of(body.page.as_ref(), 50, 200)?;
    const WHERE: &str = "WHERE dealer = $1 AND ($2 = 0 OR status = $2) AND ($3 = 0 OR source = $3)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM intake_leads {WHERE}"))
        .bind(dealer.as_str())
        .bind(body.status)
        .bind(body.source)
        .fetch_one(&db.pool)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT lead_id, source, status, name, phone, model_of_interest, first_contact_due, oem_reference, \
         oem_report_due, customer_id, lost_reason FROM intake_leads {WHERE} \
         ORDER BY position DESC LIMIT $4 OFFSET $5"
    ))
    .bind(dealer.as_str())
    .bind(body.status)
    .bind(body.source)
    .bind(page.fetch())
    .bind(page.offset)
    .fetch_all(&db.pool)
    .await?;
    let at = |micros: Option<i64>| {
        micros
            .and_then(|m| jiff::Timestamp::from_microsecond(m).ok())
            .map(timestamp)
    };
    let mut leads = Vec::new();
    for r in rows.iter().take(page.size as usize) {
        leads.push(pb::LeadSummary {
            lead_id: r.try_get("lead_id")?,
            source: r.try_get("source")?,
            status: r.try_get("status")?,
            name: personal.name(&r.try_get::<String, _>("name")?),
            phone: personal.phone(&r.try_get::<String, _>("phone")?),
            model_of_interest: r.try_get("model_of_interest")?,
            first_contact_due_at: at(r.try_get("first_contact_due")?),
            oem_reference: r
                .try_get::<Option<String>, _>("oem_reference")?
                .unwrap_or_default(),
            oem_report_due_at: at(r.try_get("oem_report_due")?),
            customer_id: r
                .try_get::<Option<String>, _>("customer_id")?
                .unwrap_or_default(),
            lost_reason: personal.text(
                &r.try_get::<Option<String>, _>("lost_reason")?
                    .unwrap_or_default(),
            ),
        });
    }
    Ok(pb::ListLeadsResponse {
        leads,
        page: Some(page.response(rows.len(), total.max(0) as u64)),
    })
}
