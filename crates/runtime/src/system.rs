//! The `SystemService`: who am I, may I act for this dealer, how far are the read models.

use std::sync::Arc;

use aftercare_eventstore::{DealerId, EventStore, Position};
use aftercare_proto::common::v1 as common;
use aftercare_proto::system::v1 as pb;
use tonic::{Request, Response, Status};

use crate::db::Database;
use crate::dead_letters::{self, Letter};
use crate::projection::{ProgressHandle, read_checkpoints, request_retry, retries};
use crate::{DealerScope, Principal, Role, ServiceError};

pub struct SystemApi {
    store: Arc<dyn EventStore>,
    db: Database,
    runners: Vec<ProgressHandle>,
}

impl SystemApi {
    pub fn new(store: Arc<dyn EventStore>, db: Database, runners: Vec<ProgressHandle>) -> Self {
        Self { store, db, runners }
    }
}

pub fn dealer_scope(scope: &DealerScope) -> pb::DealerScope {
    let scope = match scope {
        DealerScope::All => pb::dealer_scope::Scope::All(true),
        DealerScope::Dealer(d) => pb::dealer_scope::Scope::Dealer(common::DealerId {
            value: d.to_string(),
        }),
        DealerScope::Group { name, dealers } => pb::dealer_scope::Scope::Group(pb::DealerGroup {
            name: name.clone(),
            dealers: dealers
                .iter()
                .map(|d| common::DealerId {
                    value: d.to_string(),
                })
                .collect(),
        }),
    };
    pb::DealerScope { scope: Some(scope) }
}

/// Reads a dealer id field of a request, naming the field when it is bad.
pub fn parse_dealer(
    field: &str,
    dealer: Option<&common::DealerId>,
) -> Result<DealerId, ServiceError> {
    let value = dealer.map(|d| d.value.as_str()).unwrap_or_default();
    DealerId::parse(value).map_err(|e| match e {
        aftercare_eventstore::StoreError::InvalidInput { reason, .. } => {
            ServiceError::invalid(field, reason)
        }
        other => ServiceError::invalid(field, other.to_string()),
    })
}

impl SystemApi {
    /// Every dead letter, named, with its retry.
    async fn letters(&self) -> Result<Vec<Letter>, ServiceError> {
        let letters = self.store.dead_letters(None).await?;
        let retries = retries(&self.db.pool).await?;
        Ok(dead_letters::book(letters, retries))
    }

    /// Each projection's progress through the events of `dealers` only: where
    /// their last event is, how many of their events a projection has still to
    /// apply, and the dead letters among their events. Nothing in it moves with
    /// another dealer's activity.
    async fn own_progress(
        &self,
        dealers: &[DealerId],
    ) -> Result<pb::ProjectionStatusResponse, ServiceError> {
        let own = self.store.dealer_progress(dealers, Position::ZERO).await?;
        let saved = read_checkpoints(&self.db.pool).await?;
        let letters = self.letters().await?;
        let mut names: Vec<String> = saved.iter().map(|cp| cp.name.clone()).collect();
        for runner in &self.runners {
            if !names.iter().any(|n| n == runner.name()) {
                names.push(runner.name().to_owned());
            }
        }
        let mut projections = Vec::with_capacity(names.len());
        for name in names {
            let saved = saved
                .iter()
                .find(|cp| cp.name == name)
                .map(|cp| cp.position);
            let live = self
                .runners
                .iter()
                .find(|r| r.name() == name)
                .map(|r| r.current().position);
            let position = saved.into_iter().chain(live).max().unwrap_or_default();
            let behind = self.store.dealer_progress(dealers, position).await?;
            let own_letters = letters
                .iter()
                .filter(|l| l.retryable && l.runner == name && dealers.contains(&l.letter.dealer));
            let dead = own_letters.clone().count() as u64;
            let open = own_letters.filter(|l| l.is_open()).count() as u64;
            projections.push(pb::ProjectionProgress {
                name,
                checkpoint: Some(common::Position {
                    value: position.min(own.last).0,
                }),
                lag: behind.after,
                dead_lettered: dead,
                open_dead_letters: open,
            });
        }
        Ok(pb::ProjectionStatusResponse {
            head: Some(common::Position { value: own.last.0 }),
            projections,
        })
    }
}

#[tonic::async_trait]
impl pb::system_service_server::SystemService for SystemApi {
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(pb::WhoAmIResponse {
            principal: principal.name.clone(),
            roles: principal
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            scope: Some(dealer_scope(&principal.scope)),
        }))
    }

    async fn check_dealer_access(
        &self,
        request: Request<pb::CheckDealerAccessRequest>,
    ) -> Result<Response<pb::CheckDealerAccessResponse>, Status> {
        let principal = Principal::of(&request)?;
        let dealer = parse_dealer("dealer", request.get_ref().dealer.as_ref())?;
        principal.authorize_dealer(&dealer)?;
        Ok(Response::new(pb::CheckDealerAccessResponse {
            dealer: Some(common::DealerId {
                value: dealer.to_string(),
            }),
        }))
    }

    async fn projection_status(
        &self,
        request: Request<pb::ProjectionStatusRequest>,
    ) -> Result<Response<pb::ProjectionStatusResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Admin, Role::CareManager])?;
        let dealers: Vec<DealerId> = match &principal.scope {
            DealerScope::All => Vec::new(),
            DealerScope::Dealer(d) => vec![d.clone()],
            DealerScope::Group { dealers, .. } => dealers.iter().cloned().collect(),
        };
        if !dealers.is_empty() {
            return Ok(Response::new(self.own_progress(&dealers).await?));
        }
        let head = self.store.head().await.map_err(ServiceError::from)?;
        let letters = self.letters().await?;
        let open = |name: &str| {
            letters
                .iter()
                .filter(|l| l.retryable && l.runner == name && l.is_open())
                .count() as u64
        };
        let saved = read_checkpoints(&self.db.pool)
            .await
            .map_err(ServiceError::from)?;
        let mut projections: Vec<pb::ProjectionProgress> = saved
            .into_iter()
            .map(|cp| {
                // A running runner knows better than its last saved checkpoint.
                let live = self
                    .runners
                    .iter()
                    .find(|r| r.name() == cp.name)
                    .map(|r| r.current());
                // A runner that has not yet read its checkpoint reports 0: never
                // show less than what is saved.
                let (position, dead) = live.map_or((cp.position, cp.dead_lettered), |p| {
                    (
                        p.position.max(cp.position),
                        p.dead_lettered.max(cp.dead_lettered),
                    )
                });
                pb::ProjectionProgress {
                    open_dead_letters: open(&cp.name),
                    name: cp.name,
                    checkpoint: Some(common::Position { value: position.0 }),
                    lag: head.0.saturating_sub(position.0),
                    dead_lettered: dead,
                }
            })
            .collect();
        for runner in &self.runners {
            if !projections.iter().any(|p| p.name == runner.name()) {
                let p = runner.current();
                projections.push(pb::ProjectionProgress {
                    name: runner.name().to_owned(),
                    checkpoint: Some(common::Position {
                        value: p.position.0,
                    }),
                    lag: head.0.saturating_sub(p.position.0),
                    dead_lettered: p.dead_lettered,
                    open_dead_letters: open(runner.name()),
                });
            }
        }
        Ok(Response::new(pb::ProjectionStatusResponse {
            head: Some(common::Position { value: head.0 }),
            projections,
        }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Admin])?;
        let req = request.into_inner();
        let letters: Vec<pb::DeadLetter> = self
            .letters()
            .await?
            .into_iter()
            .filter(|l| principal.scope.allows(&l.letter.dealer))
            .filter(|l| req.runner.is_empty() || l.runner == req.runner)
            .filter(|l| req.id.is_empty() || l.id == req.id)
            .filter(|l| req.include_applied || !req.id.is_empty() || l.is_open())
            .map(|l| letter_message(&l))
            .collect();
        if !req.id.is_empty() && letters.is_empty() {
            return Err(ServiceError::NotFound(format!("dead letter {}", req.id)).into());
        }
        Ok(Response::new(pb::ListDeadLettersResponse { letters }))
    }

    async fn retry_dead_letters(
        &self,
        request: Request<pb::RetryDeadLettersRequest>,
    ) -> Result<Response<pb::RetryDeadLettersResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(&[Role::Admin])?;
        let req = request.into_inner();
        let chosen: Vec<Letter> = match (req.id.is_empty(), req.runner.is_empty()) {
            (false, true) => {
                if dead_letters::parse_id(&req.id).is_none() {
                    return Err(ServiceError::invalid(
                        "id",
                        format!(
                            "{:?} is not a retryable letter's id: it is <projection or policy>@<position>, \
                             as `aftercare dlq list` shows; refused input is sent again by its sender",
                            req.id
                        ),
                    )
                    .into());
                }
                let letter = self
                    .letters()
                    .await?
                    .into_iter()
                    .find(|l| l.id == req.id)
                    .ok_or_else(|| ServiceError::NotFound(format!("dead letter {}", req.id)))?;
                principal.authorize_dealer(&letter.letter.dealer)?;
                vec![letter]
            }
            (true, false) => self
                .letters()
                .await?
                .into_iter()
                .filter(|l| l.retryable && l.runner == req.runner && l.is_open())
                .filter(|l| principal.scope.allows(&l.letter.dealer))
                .collect(),
            _ => {
                return Err(ServiceError::invalid(
                    "id",
                    "name one letter (id) or one projection or policy (runner), not both",
                )
                .into());
            }
        };
        let mut answer = pb::RetryDeadLettersResponse::default();
        for letter in chosen {
            let Some(position) = letter.position() else {
                continue;
            };
            if request_retry(&self.db.pool, &letter.runner, position, &principal.name)
                .await
                .map_err(ServiceError::from)?
            {
                answer.requested.push(letter.id);
            } else {
                answer
                    .skipped
                    .push(format!("{}: already applied", letter.id));
            }
        }
        Ok(Response::new(answer))
    }
}

fn millis(at: i64) -> Option<prost_types::Timestamp> {
    jiff::Timestamp::from_millisecond(at)
        .ok()
        .map(aftercare_proto::calendar::timestamp)
}

fn letter_message(l: &Letter) -> pb::DeadLetter {
    let retry = l.retry.as_ref();
    pb::DeadLetter {
        id: l.id.clone(),
        runner: l.runner.clone(),
        dealer: Some(common::DealerId {
            value: l.letter.dealer.to_string(),
        }),
        reason: l.letter.reason.clone(),
        position: l.position().map(|p| common::Position { value: p.0 }),
        event_id: l
            .letter
            .source_event_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        recorded_at: Some(aftercare_proto::calendar::timestamp(l.letter.recorded_at)),
        payload_bytes: l.letter.payload.len() as u64,
        retryable: l.retryable,
        state: l.state().to_owned(),
        retry_reason: retry.map(|r| r.reason.clone()).unwrap_or_default(),
        retry_requested_by: retry.map(|r| r.requested_by.clone()).unwrap_or_default(),
        retry_requested_at: retry.and_then(|r| millis(r.requested_at)),
        retried_at: retry.and_then(|r| r.finished_at).and_then(millis),
    }
}
