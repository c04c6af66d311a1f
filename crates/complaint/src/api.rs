//! The complaint gRPC service: requests validated into ticket commands, decided
//! by the ticket aggregate, read back from the ticket read model.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ComplaintDealers;
use aftercare_eventstore::{DealerId, EventStore, Metadata};
use aftercare_proto::common::v1::Position;
use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::privacy::{PrivacyError, Vault};
use aftercare_runtime::projection::{ProgressHandle, wait_for_consistency};
use aftercare_runtime::request_id;
use aftercare_runtime::{Database, PersonalData, Principal, Role, ServiceError, telemetry};
use jiff::Timestamp;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::Satisfaction;
use crate::domain::ticket::{Command, EscalationReason, Rejection, Terms, Ticket};
use crate::events::{TicketCodec, satisfaction_from, stream};

pub(crate) const FILERS: &[Role] = &[
    Role::CareManager,
    Role::Manager,
    Role::ServiceAdvisor,
    Role::CallbackAgent,
    Role::Oem,
];
const HANDLERS: &[Role] = &[Role::CareManager, Role::Manager, Role::ServiceAdvisor];
const CLOSERS: &[Role] = &[Role::CareManager, Role::Manager, Role::CallbackAgent];
pub const READERS: &[Role] = &[
    Role::CareManager,
    Role::Manager,
    Role::ServiceAdvisor,
    Role::Viewer,
    Role::Oem,
];

pub struct ComplaintApi {
    pub store: Arc<dyn EventStore>,
    pub db: Database,
    pub tickets: Option<ProgressHandle>,
    pub vault: Vault,
    pub warnings: Option<ProgressHandle>,
    pub workshop: Option<ProgressHandle>,
    pub dealers: Arc<ComplaintDealers>,
    pub read_timeout: Duration,
    /// `server.allow_future_sweeps`: a future `as_of` for tests only.
    pub allow_future_sweeps: bool,
}

fn ticket_id(value: &str) -> Result<String, ServiceError> {
    Uuid::parse_str(value.trim())
        .map(|u| u.simple().to_string())
        .map_err(|_| ServiceError::invalid("ticket_id", "is not a ticket id"))
}

fn rejection(r: Rejection, ticket: &str) -> ServiceError {
    match r {
        Rejection::NotFiled => ServiceError::NotFound(format!("complaint {ticket}")),
        Rejection::Invalid { field, reason } => ServiceError::invalid(field, reason),
        other => ServiceError::Rejected(other.to_string()),
    }
}

impl ComplaintApi {
    pub(crate) async fn seal(&self, subject: &str, text: &str) -> Result<String, ServiceError> {
        self.vault.seal(subject, text).await.map_err(|e| match e {
            PrivacyError::Erased(_) => ServiceError::Rejected(
                "the complaint's records are past their retention and erased".to_owned(),
            ),
            PrivacyError::Database(e) => ServiceError::from(e),
            PrivacyError::Random => ServiceError::Internal(e.to_string()),
        })
    }

    pub(crate) fn terms(&self, dealer: &DealerId) -> Terms {
        let rules = self.dealers.rules(dealer.as_str());
        Terms {
            rules: rules.rules.complaint.clone(),
            zone: rules.time_zone.clone(),
        }
    }

    pub(crate) async fn run(
        &self,
        dealer: &DealerId,
        ticket: &str,
        command: Command,
        principal: &Principal,
    ) -> Result<pb::ComplaintCommandResponse, ServiceError> {
        let metadata = Metadata {
            actor: principal.name.clone(),
            traceparent: telemetry::current_traceparent(),
            ..Metadata::default()
        };
        let stream = stream(dealer, ticket)?;
        let codec = TicketCodec {
            ticket_id: ticket.to_owned(),
        };
        match execute::<Ticket>(self.store.as_ref(), &stream, &codec, command, |e| {
            e.with_metadata(metadata.clone())
        })
        .await
        {
            Ok(done) => Ok(pb::ComplaintCommandResponse {
                ticket_id: ticket.to_owned(),
                position: Some(Position {
                    value: done.position.0,
                }),
                changed: !done.events.is_empty(),
                already_filed: false,
            }),
            Err(CommandError::Rejected(Rejection::AlreadyFiled)) => {
                // A repeated OEM ticket number or client request id: the
                // ticket the first request filed, where it was filed.
                let filed = request_id::original_position(self.store.as_ref(), &stream).await?;
                Ok(pb::ComplaintCommandResponse {
                    ticket_id: ticket.to_owned(),
                    position: Some(Position { value: filed.0 }),
                    changed: false,
                    already_filed: true,
                })
            }
            Err(e) => Err(e.into_service_error(|r| rejection(r, ticket))),
        }
    }
}

use crate::watch::FeedbackStream;

#[tonic::async_trait]
impl pb::complaint_service_server::ComplaintService for ComplaintApi {
    type WatchComplaintsStream = FeedbackStream;

    async fn complaint_rate(
        &self,
        request: Request<pb::ComplaintRateRequest>,
    ) -> Result<Response<pb::ComplaintRateResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.complaint_rate(&principal, request.get_ref()).await?,
        ))
    }

    async fn watch_complaints(
        &self,
        request: Request<pb::WatchComplaintsRequest>,
    ) -> Result<Response<Self::WatchComplaintsStream>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.watch(&principal, request.get_ref()).await?,
        ))
    }

    async fn list_warnings(
        &self,
        request: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.list_warnings(&principal, request.get_ref()).await?,
        ))
    }

    async fn file_complaint(
        &self,
        request: Request<pb::FileComplaintRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.file(&principal, request.get_ref()).await?,
        ))
    }

    async fn acknowledge_complaint(
        &self,
        request: Request<pb::TicketRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, HANDLERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        let command = Command::Acknowledge {
            by: principal.name.clone(),
            at: Timestamp::now(),
        };
        Ok(Response::new(
            self.run(&dealer, &ticket, command, &principal).await?,
        ))
    }

    async fn assign_complaint(
        &self,
        request: Request<pb::AssignComplaintRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, HANDLERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        let command = Command::Assign {
            to: body.to.trim().to_owned(),
            by: principal.name.clone(),
            at: Timestamp::now(),
        };
        Ok(Response::new(
            self.run(&dealer, &ticket, command, &principal).await?,
        ))
    }

    async fn escalate_complaint(
        &self,
        request: Request<pb::EscalateComplaintRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, FILERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        let text = body.reason.trim().to_owned();
        let reason = if body.complained_again {
            EscalationReason::ComplainedAgain(text)
        } else {
            EscalationReason::ByHand(text)
        };
        let command = Command::Escalate {
            reason,
            by: principal.name.clone(),
            at: Timestamp::now(),
            terms: self.terms(&dealer),
        };
        Ok(Response::new(
            self.run(&dealer, &ticket, command, &principal).await?,
        ))
    }

    async fn resolve_complaint(
        &self,
        request: Request<pb::ResolveComplaintRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, HANDLERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        let subject = crate::events::subject(&ticket);
        let command = Command::Resolve {
            resolution: self.seal(&subject, body.resolution.trim()).await?,
            compensation_fen: body.compensation.map_or(0, |m| m.fen),
            by: principal.name.clone(),
            at: Timestamp::now(),
        };
        Ok(Response::new(
            self.run(&dealer, &ticket, command, &principal).await?,
        ))
    }

    async fn close_complaint(
        &self,
        request: Request<pb::CloseComplaintRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, CLOSERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        let satisfaction: Satisfaction = satisfaction_from(body.satisfaction).ok_or_else(|| {
            ServiceError::invalid(
                "satisfaction",
                "is required: satisfied, neutral or dissatisfied",
            )
        })?;
        let command = Command::Close {
            satisfaction,
            at: Timestamp::now(),
        };
        Ok(Response::new(
            self.run(&dealer, &ticket, command, &principal).await?,
        ))
    }

    async fn reopen_complaint(
        &self,
        request: Request<pb::ReopenComplaintRequest>,
    ) -> Result<Response<pb::ComplaintCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, FILERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        let command = Command::Reopen {
            reason: body.reason.trim().to_owned(),
            by: principal.name.clone(),
            at: Timestamp::now(),
            terms: self.terms(&dealer),
        };
        Ok(Response::new(
            self.run(&dealer, &ticket, command, &principal).await?,
        ))
    }

    async fn get_complaint(
        &self,
        request: Request<pb::GetComplaintRequest>,
    ) -> Result<Response<pb::ComplaintTicket>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let ticket = ticket_id(&body.ticket_id)?;
        wait_for_consistency(
            self.tickets.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let personal = PersonalData::for_principal(&principal);
        Ok(Response::new(self.read(&dealer, &ticket, personal).await?))
    }

    async fn sweep_deadlines(
        &self,
        request: Request<pb::SweepDeadlinesRequest>,
    ) -> Result<Response<pb::SweepDeadlinesResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Admin])?;
        let body = request.get_ref();
        for handle in [&self.tickets, &self.workshop, &self.warnings] {
            wait_for_consistency(
                handle.as_ref(),
                body.consistency.as_ref(),
                self.read_timeout,
            )
            .await?;
        }
        let now = Timestamp::now();
        let as_of = match &body.as_of {
            None => now,
            Some(t) => aftercare_proto::calendar::instant(t)
                .map_err(|e| ServiceError::invalid("as_of", e))?,
        };
        if as_of > now + jiff::SignedDuration::from_mins(10) && !self.allow_future_sweeps {
            return Err(ServiceError::invalid(
                "as_of",
                format!(
                    "{as_of} is in the future: the sweep judges deadlines as of now or earlier (server.allow_future_sweeps is for tests)"
                ),
            )
            .into());
        }
        let swept = crate::sweep::sweep(
            self.store.as_ref(),
            &self.db,
            &self.vault,
            &self.dealers,
            as_of,
        )
        .await?;
        Ok(Response::new(pb::SweepDeadlinesResponse {
            examined: swept.examined,
            escalated: swept.escalated,
            warnings: swept.warnings,
            expired: swept.expired,
            position: Some(Position {
                value: swept.position.0,
            }),
        }))
    }

    async fn list_complaints(
        &self,
        request: Request<pb::ListComplaintsRequest>,
    ) -> Result<Response<pb::ListComplaintsResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.list(&principal, request.get_ref()).await?,
        ))
    }
}
