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
use sqlx::Row;
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
pub(crate) const READERS: &[Role] = &[
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
}

fn dealer(principal: &Principal, value: &str, roles: &[Role]) -> Result<DealerId, ServiceError> {
    principal.dealer_for("dealer", value, roles)
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

/// The instants a calendar month at the dealer starts and ends, in microseconds.
fn month_bounds(
    month: &aftercare_proto::common::v1::YearMonth,
    zone: &jiff::tz::TimeZone,
) -> Result<(i64, i64), ServiceError> {
    let bad = || {
        ServiceError::invalid(
            "month",
            format!("{}-{} is not a calendar month", month.year, month.month),
        )
    };
    let year = i16::try_from(month.year).map_err(|_| bad())?;
    let m = i8::try_from(month.month)
        .ok()
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(bad)?;
    let first = jiff::civil::date(year, m, 1);
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .map_err(|_| bad())?;
    let start = first.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp();
    let end = next.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp();
    Ok((start.as_microsecond(), end.as_microsecond()))
}

type FeedbackStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::ComplaintFeedback, Status>> + Send>>;

#[tonic::async_trait]
impl pb::complaint_service_server::ComplaintService for ComplaintApi {
    type WatchComplaintsStream = FeedbackStream;

    async fn complaint_rate(
        &self,
        request: Request<pb::ComplaintRateRequest>,
    ) -> Result<Response<pb::ComplaintRateResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = dealer(&principal, &body.dealer, READERS)?;
        let month = body
            .month
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("month", "is required"))?;
        let rules = self.dealers.rules(dealer.as_str());
        let (start, end) = month_bounds(month, &rules.time_zone)?;
        for handle in [&self.tickets, &self.workshop] {
            wait_for_consistency(
                handle.as_ref(),
                body.consistency.as_ref(),
                self.read_timeout,
            )
            .await?;
        }
        let count = |sql: &'static str| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(dealer.as_str())
                .bind(start)
                .bind(end)
                .fetch_one(&self.db.pool)
        };
        let complaints = count(
            "SELECT COUNT(*) FROM complaint_tickets WHERE dealer = $1 AND filed_at >= $2 AND filed_at < $3",
        )
        .await
        .map_err(ServiceError::from)? as u64;
        let visits = count(
            "SELECT COUNT(*) FROM complaint_repair_orders WHERE dealer = $1 AND closed_at >= $2 AND closed_at < $3",
        )
        .await
        .map_err(ServiceError::from)? as u64;
        let target_bp = u64::from(rules.rules.complaint.target_rate_basis_points);
        Ok(Response::new(pb::ComplaintRateResponse {
            complaints,
            visits,
            rate: if visits == 0 {
                0.0
            } else {
                complaints as f64 / visits as f64
            },
            target: target_bp as f64 / 10_000.0,
            met: crate::domain::warning::rate_met(
                complaints,
                visits,
                rules.rules.complaint.target_rate_basis_points,
            ),
        }))
    }

    async fn watch_complaints(
        &self,
        request: Request<pb::WatchComplaintsRequest>,
    ) -> Result<Response<Self::WatchComplaintsStream>, Status> {
        use futures::StreamExt;
        let principal = Principal::of(&request)?;
        principal.require_role(READERS)?;
        let body = request.get_ref();
        let mut filter = aftercare_eventstore::Filter::default();
        let dealers: Vec<DealerId> = if body.dealers.is_empty() {
            match &principal.scope {
                aftercare_runtime::DealerScope::All => Vec::new(),
                aftercare_runtime::DealerScope::Dealer(d) => vec![d.clone()],
                aftercare_runtime::DealerScope::Group { dealers, .. } => {
                    dealers.iter().cloned().collect()
                }
            }
        } else {
            body.dealers
                .iter()
                .map(|d| dealer(&principal, d, READERS))
                .collect::<Result<_, _>>()?
        };
        if dealers.is_empty() && !matches!(principal.scope, aftercare_runtime::DealerScope::All) {
            return Err(
                ServiceError::invalid("dealers", "the caller's scope has no dealers").into(),
            );
        }
        for d in &dealers {
            filter = filter.or(aftercare_eventstore::StreamPattern {
                dealer: Some(d.clone()),
                aggregate: Some(crate::events::AGGREGATE.to_owned()),
            });
        }
        if dealers.is_empty() {
            filter = filter.or_aggregate(crate::events::AGGREGATE);
        }
        let from = aftercare_eventstore::Position(body.from_position.max(1));
        let events = self
            .store
            .subscribe(&filter, from)
            .await
            .map_err(ServiceError::from)?;
        let (store, vault) = (self.store.clone(), self.vault.clone());
        let personal = PersonalData::for_principal(&principal);
        let stream = events.filter_map(move |event| {
            let (store, vault) = (store.clone(), vault.clone());
            async move {
                match event {
                    Ok(event) => {
                        let form = crate::feedback::feedback_form(
                            store.as_ref(),
                            &vault,
                            &event,
                            personal,
                        );
                        match form.await {
                            Ok(form) => form.map(Ok),
                            Err(e) => Some(Err(Status::unavailable(e.to_string()))),
                        }
                    }
                    Err(e) => Some(Err(Status::from(ServiceError::from(e)))),
                }
            }
        });
        Ok(Response::new(Box::pin(stream)))
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
        let dealer = dealer(&principal, &body.dealer, HANDLERS)?;
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
        let dealer = dealer(&principal, &body.dealer, HANDLERS)?;
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
        let dealer = dealer(&principal, &body.dealer, FILERS)?;
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
        let dealer = dealer(&principal, &body.dealer, HANDLERS)?;
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
        let dealer = dealer(&principal, &body.dealer, CLOSERS)?;
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
        let dealer = dealer(&principal, &body.dealer, FILERS)?;
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
        let dealer = dealer(&principal, &body.dealer, READERS)?;
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
        let as_of = match &body.as_of {
            None => Timestamp::now(),
            Some(t) => aftercare_proto::calendar::instant(t)
                .map_err(|e| ServiceError::invalid("as_of", e))?,
        };
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

    async fn list_warnings(
        &self,
        request: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = dealer(&principal, &body.dealer, READERS)?;
        let personal = PersonalData::for_principal(&principal);
        wait_for_consistency(
            self.warnings.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let rows = sqlx::query(
            "SELECT warning_id, cause, kind, vin, vehicle_id, visit_id, repair_order, fault_code, \
             ticket_id, grade, detail, raised_at FROM complaint_warnings WHERE dealer = $1 \
             ORDER BY raised_at DESC, warning_id LIMIT 500",
        )
        .bind(dealer.as_str())
        .fetch_all(&self.db.pool)
        .await
        .map_err(ServiceError::from)?;
        let warnings = rows
            .iter()
            .map(|r| {
                Ok(pb::EarlyWarningRaised {
                    warning_id: r.try_get("warning_id")?,
                    cause: r.try_get("cause")?,
                    kind: r.try_get::<i64, _>("kind")? as i32,
                    vin: personal.vin(&r.try_get::<String, _>("vin")?),
                    vehicle_id: r.try_get("vehicle_id")?,
                    visit_id: r.try_get("visit_id")?,
                    repair_order: r.try_get("repair_order")?,
                    fault_code: r.try_get("fault_code")?,
                    ticket_id: r.try_get("ticket_id")?,
                    grade: r.try_get::<i64, _>("grade")? as u32,
                    detail: r.try_get("detail")?,
                    raised_at: aftercare_proto::calendar::timestamp_from_micros(
                        r.try_get("raised_at")?,
                    ),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(ServiceError::from)?;
        Ok(Response::new(pb::ListWarningsResponse { warnings }))
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
