//! The callback gRPC service: requests validated into task commands, decided by
//! the task aggregate, read back from the task read model.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EventStore, Metadata};
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::common::v1::Position;
use aftercare_runtime::command::{CommandError, execute, replay};
use aftercare_runtime::privacy::{PrivacyError, Vault};
use aftercare_runtime::projection::ProgressHandle;
use aftercare_runtime::{Database, Principal, Role, ServiceError, telemetry};
use jiff::{Span, Timestamp};
use sqlx::Row;
use tonic::{Request, Response, Status};

use crate::config::CallbackDealers;
use crate::domain::appointments::{self, Book, Day};
use crate::domain::schedule::retry_at;
use crate::domain::task::{CallComplaint, Command, Outcome, Rejection, Task};
use crate::events::{DayCodec, TaskCodec, day_stream, result_from, stream, subject};

/// How far ahead a full day's refusal looks for a free slot.
const DAYS_AHEAD: i64 = 14;

/// What a command needs of a task from the read model.
pub(crate) struct TaskRow {
    customer_id: String,
    vehicle_id: String,
    vin: String,
    phone: String,
    lead_id: String,
}

/// Who works the worklist.
pub(crate) const CALLERS: &[Role] = &[Role::CallbackAgent, Role::ServiceAdvisor, Role::CareManager];
/// Who hands tasks on.
const DISPATCHERS: &[Role] = &[Role::CareManager, Role::Manager];
/// Who runs the timer by hand.
const SWEEPERS: &[Role] = &[Role::CareManager, Role::Manager, Role::Admin];
pub const READERS: &[Role] = &[
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
    /// Seals what is said on a call (a complaint's words) for the task.
    pub vault: Vault,
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
    /// The task, when it is this dealer's: another dealer's task is simply
    /// not found.
    async fn task_row(&self, dealer: &DealerId, task: &str) -> Result<TaskRow, ServiceError> {
        let row = sqlx::query(
            "SELECT t.status, t.customer_id, t.vehicle_id, t.vin, t.contact_phone, t.lead_id, \
             COALESCE(c.phone, '') AS customer_phone FROM callback_tasks t \
             LEFT JOIN callback_customers c ON c.customer_id = t.customer_id \
             WHERE t.task_id = $1 AND t.dealer = $2",
        )
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
        let lead_phone: String = row.try_get("contact_phone")?;
        Ok(TaskRow {
            customer_id: row.try_get("customer_id")?,
            vehicle_id: row.try_get("vehicle_id")?,
            vin: row.try_get("vin")?,
            lead_id: row.try_get("lead_id")?,
            phone: if lead_phone.is_empty() {
                row.try_get("customer_phone")?
            } else {
                lead_phone
            },
        })
    }

    fn metadata(principal: &Principal) -> Metadata {
        Metadata {
            actor: principal.name.clone(),
            traceparent: telemetry::current_traceparent(),
            ..Metadata::default()
        }
    }

    /// Takes `slot` of `day` for the task, or says which slot is free next.
    async fn book(
        &self,
        dealer: &DealerId,
        task: &str,
        vehicle_id: &str,
        (day, slot): (jiff::civil::Date, u32),
        principal: &Principal,
    ) -> Result<(), ServiceError> {
        let rules = &self.dealers.rules(dealer.as_str()).callback;
        let metadata = Self::metadata(principal);
        let book = Book {
            task_id: task.to_owned(),
            slot,
            vehicle_id: vehicle_id.to_owned(),
            at: Timestamp::now(),
            bays: rules.bays,
            slots: rules.slots_per_day,
        };
        let done = execute::<Day>(
            self.store.as_ref(),
            &day_stream(dealer, day)?,
            &DayCodec { day },
            book,
            |e| e.with_metadata(metadata.clone()),
        )
        .await;
        let next = match done {
            Ok(_) => return Ok(()),
            Err(CommandError::Rejected(appointments::Rejection::Full { next_free })) => {
                match next_free {
                    Some(free) => Some((day, free)),
                    None => self.next_free_day(dealer, day).await?,
                }
            }
            Err(CommandError::Rejected(appointments::Rejection::NoSuchSlot { slots })) => {
                return Err(ServiceError::invalid(
                    "appointment.slot",
                    format!("is {slot}; a day has slots 1 to {slots}"),
                ));
            }
            Err(e) => {
                return Err(e.into_service_error(|r| ServiceError::Rejected(r.to_string())));
            }
        };
        Err(ServiceError::Rejected(match next {
            Some((d, s)) => {
                format!("slot {slot} on {day} is full; the next free slot is {s} on {d}")
            }
            None => format!(
                "slot {slot} on {day} is full and no slot is free in the {DAYS_AHEAD} days after"
            ),
        }))
    }

    /// The first free slot of the days after `day`.
    async fn next_free_day(
        &self,
        dealer: &DealerId,
        day: jiff::civil::Date,
    ) -> Result<Option<(jiff::civil::Date, u32)>, ServiceError> {
        let rules = &self.dealers.rules(dealer.as_str()).callback;
        for ahead in 1..=DAYS_AHEAD {
            let Ok(next) = day.checked_add(Span::new().days(ahead)) else {
                break;
            };
            let state = self.day(dealer, next).await?;
            if let Some(slot) = state.free_from(1, rules.bays, rules.slots_per_day) {
                return Ok(Some((next, slot)));
            }
        }
        Ok(None)
    }

    /// A dealer's appointments of `day`, from its stream.
    async fn day(&self, dealer: &DealerId, day: jiff::civil::Date) -> Result<Day, ServiceError> {
        let codec = DayCodec { day };
        let recorded = self.store.read_stream(&day_stream(dealer, day)?).await?;
        let mut booked = Vec::new();
        for event in &recorded.events {
            booked.push(
                aftercare_runtime::command::EventCodec::decode(&codec, event)
                    .map_err(ServiceError::Internal)?,
            );
        }
        Ok(replay(&booked))
    }

    /// Each slot of a day with its bays and the appointments it has.
    pub(crate) async fn day_slots(
        &self,
        principal: &Principal,
        body: &pb::DaySlotsRequest,
    ) -> Result<pb::DaySlotsResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let date = body
            .date
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("date", "is required"))?;
        let day = aftercare_proto::calendar::date(date)
            .map_err(|reason| ServiceError::invalid("date", reason))?;
        let rules = &self.dealers.rules(dealer.as_str()).callback;
        let state = self.day(&dealer, day).await?;
        Ok(pb::DaySlotsResponse {
            date: Some(*date),
            slots: (1..=rules.slots_per_day)
                .map(|slot| pb::SlotLoad {
                    slot,
                    bays: rules.bays,
                    taken: state.taken(slot),
                })
                .collect(),
        })
    }

    async fn seal(&self, task: &str, text: &str) -> Result<String, ServiceError> {
        self.vault
            .seal(&subject(task), text)
            .await
            .map_err(|e| match e {
                PrivacyError::Erased(_) => {
                    ServiceError::Rejected("the task's records are erased".to_owned())
                }
                PrivacyError::Database(e) => ServiceError::from(e),
                PrivacyError::Random => ServiceError::Internal(e.to_string()),
            })
    }

    async fn run(
        &self,
        dealer: &DealerId,
        task: &str,
        command: Command,
        principal: &Principal,
    ) -> Result<pb::TaskCommandResponse, ServiceError> {
        let metadata = Self::metadata(principal);
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
        self.task_row(&dealer, &task).await?;
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
        let to = person("to_agent", &body.to_agent)?;
        self.task_row(&dealer, &task).await?;
        let command = Command::Reassign {
            to,
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
        let row = self.task_row(&dealer, &task).await?;
        let rules = self.dealers.rules(dealer.as_str());
        let command = Command::Attempt {
            agent: principal.name.clone(),
            result,
            at,
            note: body.note.trim().to_owned(),
            max_attempts: rules.callback.attempts,
            retry_at: retry_at(at, rules.callback.retry_working_days, &rules.time_zone),
            customer_id: row.customer_id,
            phone: row.phone,
            lead_id: row.lead_id,
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
        let row = self.task_row(&dealer, &task).await?;
        if let Some(appointment) = appointment {
            self.book(&dealer, &task, &row.vehicle_id, appointment, principal)
                .await?;
        }
        let complaint = match body.complaint.trim() {
            "" => None,
            words => Some(CallComplaint {
                description: self.seal(&task, words).await?,
                customer_id: row.customer_id.clone(),
                vin: self.seal(&task, &row.vin).await?,
            }),
        };
        let command = Command::Outcome(Outcome {
            agent: principal.name.clone(),
            at: Timestamp::now(),
            satisfaction,
            appointment,
            churn_reason,
            note: body.note.trim().to_owned(),
            complaint,
        });
        self.run(&dealer, &task, command, principal).await
    }
}

impl CallbackApi {
    pub(crate) async fn sweep(
        &self,
        principal: &Principal,
        body: &pb::SweepTasksRequest,
    ) -> Result<pb::SweepTasksResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, SWEEPERS)?;
        let as_of = self.as_of(body.as_of.as_ref())?;
        aftercare_runtime::projection::wait_for_consistency(
            self.tasks.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let swept =
            crate::sweep::sweep(self.store.as_ref(), &self.db, &self.dealers, &dealer, as_of)
                .await?;
        Ok(pb::SweepTasksResponse {
            scheduled: swept.scheduled,
            lead_reports_flagged: swept.flagged,
            position: Some(Position {
                value: swept.position.0,
            }),
        })
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

    async fn sweep_tasks(
        &self,
        request: Request<pb::SweepTasksRequest>,
    ) -> Result<Response<pb::SweepTasksResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.sweep(&principal, request.get_ref()).await?,
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

    async fn day_slots(
        &self,
        request: Request<pb::DaySlotsRequest>,
    ) -> Result<Response<pb::DaySlotsResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.day_slots(&principal, request.get_ref()).await?,
        ))
    }
}
