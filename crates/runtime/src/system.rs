//! The `SystemService`: who am I, may I act for this dealer, how far are the read models.

use std::sync::Arc;

use aftercare_eventstore::{DealerId, EventStore, Position};
use aftercare_proto::common::v1 as common;
use aftercare_proto::system::v1 as pb;
use tonic::{Request, Response, Status};

use crate::db::Database;
use crate::projection::{ProgressHandle, read_checkpoints};
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
        let letters = self.store.dead_letters(None).await?;
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
            let kind = format!("projection-{name}");
            let dead = letters
                .iter()
                .filter(|l| l.kind == kind && dealers.contains(&l.dealer))
                .count() as u64;
            projections.push(pb::ProjectionProgress {
                name,
                checkpoint: Some(common::Position {
                    value: position.min(own.last).0,
                }),
                lag: behind.after,
                dead_lettered: dead,
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
                });
            }
        }
        Ok(Response::new(pb::ProjectionStatusResponse {
            head: Some(common::Position { value: head.0 }),
            projections,
        }))
    }
}
