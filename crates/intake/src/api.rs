//! The intake gRPC service: request → validated command → one use-case call →
//! response. No business rules here.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{EventStore, Metadata};
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::projection::ProgressHandle;
use aftercare_runtime::{
    Database, FieldViolation, PersonalData, Principal, Role, ServiceError, telemetry,
};
use sqlx::Row;
use tonic::{Request, Response, Status};

use crate::domain::customer::CustomerCommand;
use crate::domain::lead::LeadCommand;
use crate::domain::vin::Vin;
use crate::domain::visit::vehicle_id;
use crate::events;
use crate::record::{RecordError, open_repair_order, record_visit};
use crate::{customer_api, lead_api};

pub struct IntakeApi {
    pub store: Arc<dyn EventStore>,
    pub db: Database,
    pub visits: Option<ProgressHandle>,
    pub customers: Option<ProgressHandle>,
    pub vehicles: Option<ProgressHandle>,
    pub leads: Option<ProgressHandle>,
    pub read_timeout: Duration,
    /// Each dealer's rules: dates are checked against today in its time zone.
    pub dealers: std::sync::Arc<aftercare_runtime::config::DealersConfig>,
}

fn metadata(principal: &Principal) -> Metadata {
    Metadata {
        actor: principal.name.clone(),
        traceparent: telemetry::current_traceparent(),
        ..Metadata::default()
    }
}

impl IntakeApi {
    fn today(&self, dealer: &aftercare_eventstore::DealerId) -> jiff::civil::Date {
        crate::calendar::today(&self.dealers, dealer.as_str())
    }

    fn lead_writer<T>(
        &self,
        request: &Request<T>,
        dealer: Option<&common::DealerId>,
    ) -> Result<(std::sync::Arc<Principal>, aftercare_eventstore::DealerId), ServiceError> {
        let principal = Principal::of(request)
            .map_err(|s| ServiceError::PermissionDenied(s.message().to_owned()))?;
        principal.require_role(&[Role::CareManager, Role::CallbackAgent])?;
        let dealer = principal.dealer("dealer", dealer)?;
        Ok((principal, dealer))
    }
}

/// A refused repair order, its fields named as in the request.
fn rejected_order(err: RecordError) -> ServiceError {
    match err {
        RecordError::Invalid(errors) => ServiceError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldViolation::new(format!("repair_order.{}", e.field), e.reason))
                .collect(),
        ),
        RecordError::Store(err) => ServiceError::from(err),
    }
}

fn visit_answer(recorded: crate::record::Recorded) -> pb::RecordVisitResponse {
    pb::RecordVisitResponse {
        visit_id: recorded.visit_id.to_string(),
        position: Some(common::Position {
            value: recorded.position.0,
        }),
        already_recorded: recorded.already_recorded,
    }
}

#[tonic::async_trait]
impl pb::intake_service_server::IntakeService for IntakeApi {
    async fn record_visit(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<Response<pb::RecordVisitResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Dms, Role::ServiceAdvisor, Role::CareManager])?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        let order = body
            .repair_order
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("repair_order", "is required"))?;
        let recorded = record_visit(
            self.store.as_ref(),
            &dealer,
            &events::repair_order(order),
            jiff::Timestamp::now(),
            metadata(&principal),
        )
        .await
        .map_err(rejected_order)?;
        Ok(Response::new(visit_answer(recorded)))
    }

    async fn open_repair_order(
        &self,
        request: Request<pb::OpenRepairOrderRequest>,
    ) -> Result<Response<pb::RecordVisitResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Dms, Role::ServiceAdvisor, Role::CareManager])?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        let order = body
            .repair_order
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("repair_order", "is required"))?;
        let opened = open_repair_order(
            self.store.as_ref(),
            &dealer,
            &events::opened_order(order),
            jiff::Timestamp::now(),
            metadata(&principal),
        )
        .await
        .map_err(rejected_order)?;
        Ok(Response::new(visit_answer(opened)))
    }

    async fn record_visits(
        &self,
        request: Request<tonic::Streaming<pb::RecordVisitsRequest>>,
    ) -> Result<Response<pb::RecordVisitsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Dms, Role::ServiceAdvisor, Role::CareManager])?;
        let meta = metadata(&principal);
        let summary =
            crate::bulk::record_visits(self.store.as_ref(), &principal, meta, request.into_inner())
                .await?;
        Ok(Response::new(summary))
    }

    async fn register_customer(
        &self,
        request: Request<pb::RegisterCustomerRequest>,
    ) -> Result<Response<pb::CustomerCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(customer_api::WRITERS)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            customer_api::register(
                self.store.as_ref(),
                &dealer,
                self.today(&dealer),
                body,
                metadata(&principal),
            )
            .await?,
        ))
    }

    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> Result<Response<pb::CustomerCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(customer_api::WRITERS)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        let stream = customer_api::stream(&dealer, &body.customer_id)?;
        let command = CustomerCommand::Update {
            profile: customer_api::profile(body.profile.as_ref(), self.today(&dealer))?,
        };
        Ok(Response::new(
            customer_api::run(self.store.as_ref(), &stream, command, metadata(&principal)).await?,
        ))
    }

    async fn set_contact_consent(
        &self,
        request: Request<pb::SetContactConsentRequest>,
    ) -> Result<Response<pb::CustomerCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(customer_api::WRITERS)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        let stream = customer_api::stream(&dealer, &body.customer_id)?;
        let consent = body
            .consent
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("consent", "is required"))?;
        let (channel, granted) = customer_api::consents(std::slice::from_ref(consent))?[0];
        let command = CustomerCommand::SetConsent { channel, granted };
        Ok(Response::new(
            customer_api::run(self.store.as_ref(), &stream, command, metadata(&principal)).await?,
        ))
    }

    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> Result<Response<pb::CustomerFile>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            crate::customer_queries::get(self, &principal, &dealer, body).await?,
        ))
    }

    async fn search_customers(
        &self,
        request: Request<pb::SearchCustomersRequest>,
    ) -> Result<Response<pb::SearchCustomersResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            crate::customer_queries::search(self, &principal, &dealer, body).await?,
        ))
    }

    async fn record_sale(
        &self,
        request: Request<pb::RecordSaleRequest>,
    ) -> Result<Response<pb::RecordSaleResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::CareManager, Role::Manager])?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            crate::sale_api::record(
                self.store.as_ref(),
                &dealer,
                self.today(&dealer),
                body,
                metadata(&principal),
            )
            .await?,
        ))
    }

    async fn capture_lead(
        &self,
        request: Request<pb::CaptureLeadRequest>,
    ) -> Result<Response<pb::LeadCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::CareManager, Role::CallbackAgent, Role::Oem])?;
        let dealer = principal.dealer("dealer", request.get_ref().dealer.as_ref())?;
        Ok(Response::new(
            lead_api::capture(
                self.store.as_ref(),
                &dealer,
                request.get_ref(),
                metadata(&principal),
            )
            .await?,
        ))
    }

    async fn verify_lead(
        &self,
        request: Request<pb::LeadRequest>,
    ) -> Result<Response<pb::LeadCommandResponse>, Status> {
        let (principal, dealer) = self.lead_writer(&request, request.get_ref().dealer.as_ref())?;
        let body = request.get_ref();
        let answer = lead_api::command(
            self.store.as_ref(),
            &dealer,
            &body.lead_id,
            LeadCommand::Verify,
            metadata(&principal),
        );
        Ok(Response::new(answer.await?))
    }

    async fn convert_lead(
        &self,
        request: Request<pb::ConvertLeadRequest>,
    ) -> Result<Response<pb::LeadCommandResponse>, Status> {
        let (principal, dealer) = self.lead_writer(&request, request.get_ref().dealer.as_ref())?;
        let body = request.get_ref();
        Ok(Response::new(
            lead_api::convert(self.store.as_ref(), &dealer, body, metadata(&principal)).await?,
        ))
    }

    async fn lose_lead(
        &self,
        request: Request<pb::LoseLeadRequest>,
    ) -> Result<Response<pb::LeadCommandResponse>, Status> {
        let (principal, dealer) = self.lead_writer(&request, request.get_ref().dealer.as_ref())?;
        let body = request.get_ref();
        let command = LeadCommand::Lose {
            reason: body.reason.clone(),
        };
        Ok(Response::new(
            lead_api::command(
                self.store.as_ref(),
                &dealer,
                &body.lead_id,
                command,
                metadata(&principal),
            )
            .await?,
        ))
    }

    async fn list_leads(
        &self,
        request: Request<pb::ListLeadsRequest>,
    ) -> Result<Response<pb::ListLeadsResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        customer_api::wait(
            self.leads.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        Ok(Response::new(
            lead_api::list(
                &self.db,
                PersonalData::for_principal(&principal),
                &dealer,
                body,
            )
            .await?,
        ))
    }

    async fn register_vehicle(
        &self,
        request: Request<pb::RegisterVehicleRequest>,
    ) -> Result<Response<pb::RecordSaleResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::CareManager, Role::ServiceAdvisor])?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            crate::sale_api::register(
                self.store.as_ref(),
                &dealer,
                self.today(&dealer),
                body,
                metadata(&principal),
            )
            .await?,
        ))
    }

    async fn update_vehicle(
        &self,
        request: Request<pb::UpdateVehicleRequest>,
    ) -> Result<Response<pb::RecordSaleResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::CareManager, Role::ServiceAdvisor])?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            crate::sale_api::update(self.store.as_ref(), &dealer, body, metadata(&principal))
                .await?,
        ))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::RecordSaleResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::CareManager, Role::ServiceAdvisor])?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        Ok(Response::new(
            crate::sale_api::transfer(
                self.store.as_ref(),
                &dealer,
                self.today(&dealer),
                body,
                metadata(&principal),
            )
            .await?,
        ))
    }

    async fn get_vehicle_history(
        &self,
        request: Request<pb::GetVehicleHistoryRequest>,
    ) -> Result<Response<pb::GetVehicleHistoryResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer("dealer", body.dealer.as_ref())?;
        let vin = Vin::parse(&body.vin).map_err(|e| ServiceError::invalid("vin", e.to_string()))?;
        customer_api::wait(
            self.visits.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        crate::customer_api::wait(
            self.vehicles.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let rows = sqlx::query(
            "SELECT visit_id, repair_order, opened_at, closed_at, mileage_km, kind, labour_fen, parts_fen, \
             service_advisor, advisor_group, fault_codes FROM intake_visits \
             WHERE dealer = $1 AND vin = $2 ORDER BY closed_at DESC",
        )
        .bind(dealer.as_str())
        .bind(vin.as_str())
        .fetch_all(&self.db.pool)
        .await
        .map_err(ServiceError::from)?;
        let at = |micros: i64| {
            jiff::Timestamp::from_microsecond(micros)
                .ok()
                .map(events::timestamp)
        };
        let visits = rows
            .iter()
            .map(|r| -> Result<pb::VisitSummary, sqlx::Error> {
                let codes: String = r.try_get("fault_codes")?;
                Ok(pb::VisitSummary {
                    visit_id: r.try_get("visit_id")?,
                    repair_order: r.try_get("repair_order")?,
                    opened_at: at(r.try_get("opened_at")?),
                    closed_at: at(r.try_get("closed_at")?),
                    mileage_km: r.try_get::<i64, _>("mileage_km")? as u32,
                    kind: r.try_get::<i32, _>("kind")?,
                    labour: Some(common::Money {
                        fen: r.try_get("labour_fen")?,
                    }),
                    parts: Some(common::Money {
                        fen: r.try_get("parts_fen")?,
                    }),
                    service_advisor: r.try_get("service_advisor")?,
                    advisor_group: r.try_get("advisor_group")?,
                    fault_codes: codes
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(ServiceError::from)?;
        let file = crate::vehicle_history::file(&self.db, &dealer, &vin).await?;
        if visits.is_empty() && file.is_none() {
            return Err(ServiceError::NotFound(format!("vehicle {vin} at dealer {dealer}")).into());
        }
        let (model, owner, sales) = file.unwrap_or_default();
        Ok(Response::new(pb::GetVehicleHistoryResponse {
            vehicle_id: vehicle_id(dealer.as_str(), &vin).to_string(),
            vin: vin.to_string(),
            visits,
            sales,
            owner_customer_id: owner,
            model,
        }))
    }
}
