//! The callback gRPC service: requests validated into task commands, decided by
//! the task aggregate, read back from the task read model.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EventStore, Metadata};
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::common::v1::Position;
use aftercare_runtime::command::execute;
use aftercare_runtime::projection::ProgressHandle;
use aftercare_runtime::{Database, Principal, Role, ServiceError, telemetry};
use jiff::{Span, Timestamp};
use sqlx::Row;
use tonic::{Request, Response, Status};

use crate::config::CallbackDealers;
use crate::domain::schedule::retry_at;
use crate::domain::task::{Command, Outcome, Rejection, Task};
use crate::events::{TaskCodec, result_from, stream};

/// Who works the worklist.
pub(crate) const CALLERS: &[Role] = &[Role::CallbackAgent, Role::ServiceAdvisor, Role::CareManager];
/// Who hands tasks on.
const DISPATCHERS: &[Role] = &[Role::CareManager, Role::Manager];
pub(crate) const READERS: &[Role] = &[
    Role::CallbackAgent,
    Role::ServiceAdvisor,
    Role::CareManager,
    Role::Manager,
    Role::Viewer,
];

/// How far ahead of the server's clock a client's time may be.
const CLOCK_SKEW_MINUTES: i64 = 5;

pub struct CallbackApi {
    pub store: Arc<dyn EventStore>,
    pub db: Database,
    pub tasks: Option<ProgressHandle>,
    pub dealers: Arc<CallbackDealers>,
    pub read_timeout: Duration,
    /// `server.allow_future_sweeps`: an `as_of` in the future, for tests only.
    pub allow_future_as_of: bool,
}

pub(crate) fn task_id(value: &str) -> Result<String, ServiceError> {
    uuid::Uuid::parse_str(value.trim())
        .map(|u| u.to_string())
        .map_err(|_| ServiceError::invalid("task_id", "is not a task id"))
}

/// An agent or advisor name as staff type it.
fn person(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 64 {
        return Err(ServiceError::invalid(field, "must be 1–64 characters"));
    }
    Ok(value.to_owned())
}

fn rejection(r: Rejection) -> ServiceError {
    ServiceError::Rejected(r.to_string())
}

/// A time a client gives, or now: never ahead of the server's clock by more
/// than a few minutes.
pub(crate) fn given_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
) -> Result<Timestamp, ServiceError> {
    let now = Timestamp::now();
    let Some(value) = value else {
        return Ok(now);
    };
    let at = aftercare_proto::calendar::instant(value)
        .map_err(|reason| ServiceError::invalid(field, reason))?;
    if at
        > now
            .checked_add(Span::new().minutes(CLOCK_SKEW_MINUTES))
            .unwrap_or(now)
    {
        return Err(ServiceError::invalid(field, "is in the future"));
    }
    Ok(at)
}

impl CallbackApi {
    /// The task's status, when it is this dealer's: another dealer's task is
    /// simply not found.
    async fn status_of(&self, dealer: &DealerId, task: &str) -> Result<String, ServiceError> {
        let row =
            sqlx::query("SELECT status FROM callback_tasks WHERE task_id = $1 AND dealer = $2")
                .bind(task)
                .bind(dealer.as_str())
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("task {task} at dealer {dealer}")))?;
        let status: String = row.try_get("status")?;
        if status == "superseded" {
            return Err(ServiceError::Rejected(
                "the task was superseded by a later visit".to_owned(),
            ));
        }
        Ok(status)
    }

    async fn run(
        &self,
        dealer: &DealerId,
        task: &str,
        command: Command,
        principal: &Principal,
    ) -> Result<pb::TaskCommandResponse, ServiceError> {
        self.status_of(dealer, task).await?;
        let metadata = Metadata {
            actor: principal.name.clone(),
            traceparent: telemetry::current_traceparent(),
            ..Metadata::default()
        };
        let stream = stream(dealer, task)?;
        let codec = TaskCodec {
            task_id: task.to_owned(),
        };
        let done = execute::<Task>(self.store.as_ref(), &stream, &codec, command, |e| {
            e.with_metadata(metadata.clone())
        })
        .await
        .map_err(|e| e.into_service_error(rejection))?;
        Ok(pb::TaskCommandResponse {
            task_id: task.to_owned(),
            position: Some(Position {
                value: done.position.0,
            }),
            changed: !done.events.is_empty(),
        })
    }

    pub(crate) async fn claim(
        &self,
        principal: &Principal,
        body: &pb::ClaimTaskRequest,
    ) -> Result<pb::TaskCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, CALLERS)?;
        let task = task_id(&body.task_id)?;
        let agent = if body.agent.trim().is_empty() || body.agent.trim() == principal.name {
            principal.name.clone()
        } else {
            // Claiming for someone else is handing the task on.
            principal.require_role(DISPATCHERS)?;
            person("agent", &body.agent)?
        };
        let command = Command::Claim {
            agent,
            at: Timestamp::now(),
        };
        self.run(&dealer, &task, command, principal).await
    }

    pub(crate) async fn reassign(
        &self,
        principal: &Principal,
        body: &pb::ReassignTaskRequest,
    ) -> Result<pb::TaskCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, DISPATCHERS)?;
        let task = task_id(&body.task_id)?;
        let command = Command::Reassign {
            to: person("to_agent", &body.to_agent)?,
            by: principal.name.clone(),
            at: Timestamp::now(),
        };
        self.run(&dealer, &task, command, principal).await
    }

    pub(crate) async fn attempt(
        &self,
        principal: &Principal,
        body: &pb::RecordAttemptRequest,
    ) -> Result<pb::TaskCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, CALLERS)?;
        let task = task_id(&body.task_id)?;
        let result = result_from(body.result).ok_or_else(|| {
            ServiceError::invalid(
                "result",
                "is required: no-answer, busy, wrong-number, refused or reached",
            )
        })?;
        let at = given_time("at", body.at.as_ref())?;
        let rules = self.dealers.rules(dealer.as_str());
        let command = Command::Attempt {
            agent: principal.name.clone(),
            result,
            at,
            note: body.note.trim().to_owned(),
            max_attempts: rules.callback.attempts,
            retry_at: retry_at(at, rules.callback.retry_working_days, &rules.time_zone),
        };
        self.run(&dealer, &task, command, principal).await
    }

    pub(crate) async fn outcome(
        &self,
        principal: &Principal,
        body: &pb::RecordOutcomeRequest,
    ) -> Result<pb::TaskCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, CALLERS)?;
        let task = task_id(&body.task_id)?;
        let mut violations = Vec::new();
        let satisfaction = match body.satisfaction {
            0 => None,
            s @ 1..=5 => Some(s as u8),
            other => {
                violations.push(aftercare_runtime::FieldViolation::new(
                    "satisfaction",
                    format!("{other} is not 1-5"),
                ));
                None
            }
        };
        let churn_reason = match pb::ChurnReason::try_from(body.churn_reason) {
            Ok(pb::ChurnReason::Unspecified) => None,
            Ok(reason) => Some(reason as u32),
            Err(_) => {
                violations.push(aftercare_runtime::FieldViolation::new(
                    "churn_reason",
                    format!("{} is not a churn reason", body.churn_reason),
                ));
                None
            }
        };
        let appointment = match &body.appointment {
            None => None,
            Some(a) => {
                let rules = self.dealers.rules(dealer.as_str());
                let today = Timestamp::now().to_zoned(rules.time_zone.clone()).date();
                match a.date.as_ref().map(aftercare_proto::calendar::date) {
                    None => {
                        violations.push(aftercare_runtime::FieldViolation::new(
                            "appointment.date",
                            "is required",
                        ));
                        None
                    }
                    Some(Err(reason)) => {
                        violations.push(aftercare_runtime::FieldViolation::new(
                            "appointment.date",
                            reason,
                        ));
                        None
                    }
                    Some(Ok(day)) if day < today => {
                        violations.push(aftercare_runtime::FieldViolation::new(
                            "appointment.date",
                            format!("{day} is in the past"),
                        ));
                        None
                    }
                    Some(Ok(day)) => {
                        if a.slot == 0 {
                            violations.push(aftercare_runtime::FieldViolation::new(
                                "appointment.slot",
                                "is required",
                            ));
                        }
                        Some((day, a.slot))
                    }
                }
            }
        };
        if !violations.is_empty() {
            return Err(ServiceError::Invalid(violations));
        }
        let command = Command::Outcome(Outcome {
            agent: principal.name.clone(),
            at: Timestamp::now(),
            satisfaction,
            appointment,
            churn_reason,
            note: body.note.trim().to_owned(),
        });
        self.run(&dealer, &task, command, principal).await
    }
}

#[tonic::async_trait]
impl pb::callback_service_server::CallbackService for CallbackApi {
    async fn worklist(
        &self,
        request: Request<pb::WorklistRequest>,
    ) -> Result<Response<pb::WorklistResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.worklist(&principal, request.get_ref()).await?,
        ))
    }

    async fn claim_task(
        &self,
        request: Request<pb::ClaimTaskRequest>,
    ) -> Result<Response<pb::TaskCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.claim(&principal, request.get_ref()).await?,
        ))
    }

    async fn reassign_task(
        &self,
        request: Request<pb::ReassignTaskRequest>,
    ) -> Result<Response<pb::TaskCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.reassign(&principal, request.get_ref()).await?,
        ))
    }

    async fn record_attempt(
        &self,
        request: Request<pb::RecordAttemptRequest>,
    ) -> Result<Response<pb::TaskCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.attempt(&principal, request.get_ref()).await?,
        ))
    }

    async fn record_outcome(
        &self,
        request: Request<pb::RecordOutcomeRequest>,
    ) -> Result<Response<pb::TaskCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.outcome(&principal, request.get_ref()).await?,
        ))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.get(&principal, request.get_ref()).await?,
        ))
    }

    async fn measures(
        &self,
        request: Request<pb::MeasuresRequest>,
    ) -> Result<Response<pb::MeasuresResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.measures(&principal, request.get_ref()).await?,
        ))
    }
}
