//! The runner's side of a dead letter's retry: find the requested ones, read
//! each event from the log again, apply it (or react to it) and record how it
//! went.

use std::time::Duration;

use aftercare_eventstore::{Filter, Position, RecordedEvent};
use futures::StreamExt as _;

use super::{Runner, Work, transient};
use crate::projection::retry::{self, RetryState};
use crate::projection::{ApplyError, ReactError};

/// How long reading one event of the log again may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How one retry went.
enum Outcome {
    Applied,
    /// The event still does not apply, or is not in the log.
    Failed(String),
    /// The database or the log is unavailable: left requested for the next look.
    Later,
}

impl Runner {
    /// Attempts every retry requested for this runner. Failures of the
    /// database leave a retry requested; anything else is recorded.
    pub(super) async fn retry_requested(&self) {
        let positions = match retry::requested(&self.db.pool, self.name).await {
            Ok(positions) => positions,
            Err(err) => {
                tracing::warn!(runner = self.name, error = %err, "cannot read requested retries");
                return;
            }
        };
        for position in positions {
            let outcome = match self.event_at(position).await {
                Ok(event) => self.retry_event(position, event).await,
                Err(outcome) => outcome,
            };
            let (state, reason) = match outcome {
                Outcome::Applied => {
                    tracing::info!(runner = self.name, %position, "dead letter applied on retry");
                    continue;
                }
                Outcome::Later => continue,
                Outcome::Failed(reason) => (RetryState::Failed, reason),
            };
            tracing::warn!(runner = self.name, %position, %reason, "dead letter failed again");
            let recorded = async {
                let mut tx = self.db.pool.begin().await?;
                retry::finish(&mut tx, self.name, position, state, &reason).await?;
                tx.commit().await
            };
            if let Err(err) = recorded.await {
                tracing::warn!(runner = self.name, error = %err, "cannot record a failed retry");
            }
        }
    }

    /// The event at `position`, read from the log again.
    async fn event_at(&self, position: Position) -> Result<RecordedEvent, Outcome> {
        let unavailable = |err: &dyn std::fmt::Display| {
            tracing::warn!(runner = self.name, %position, error = %err, "cannot read a retried event");
            Outcome::Later
        };
        let head = self.store.head().await.map_err(|e| unavailable(&e))?;
        if position > head || position == Position::ZERO {
            return Err(Outcome::Failed(format!(
                "there is no event at position {position}: the log ends at {head}"
            )));
        }
        let mut events = self
            .store
            .subscribe(&Filter::all(), position)
            .await
            .map_err(|e| unavailable(&e))?;
        let first = tokio::time::timeout(READ_TIMEOUT, events.next())
            .await
            .map_err(|_| unavailable(&"reading the event timed out"))?;
        match first {
            Some(Ok(event)) if event.position == position => {
                if self.filter.matches(&event.stream) {
                    Ok(event)
                } else {
                    Err(Outcome::Failed(format!(
                        "the event at position {position} ({}) is not one {} reads",
                        event.stream, self.name
                    )))
                }
            }
            Some(Ok(event)) => Err(Outcome::Failed(format!(
                "the event at position {position} is no longer in the log (the next is at {})",
                event.position
            ))),
            Some(Err(aftercare_eventstore::StoreError::Corrupt { reason, .. })) => Err(
                Outcome::Failed(format!("the log cannot decode it: {reason}")),
            ),
            Some(Err(err)) => Err(unavailable(&err)),
            None => Err(unavailable(&"the log ended")),
        }
    }

    async fn retry_event(&self, position: Position, event: RecordedEvent) -> Outcome {
        match &self.work {
            Work::Projection(p) => {
                let attempt = async {
                    let mut tx = self.db.pool.begin().await?;
                    if !retry::finish(&mut tx, self.name, position, RetryState::Applied, "").await?
                    {
                        tx.rollback().await?;
                        return Ok(());
                    }
                    p.apply(&mut tx, std::slice::from_ref(&event)).await?;
                    tx.commit().await?;
                    Ok::<(), ApplyError>(())
                };
                match attempt.await {
                    Ok(()) => Outcome::Applied,
                    Err(ApplyError::Database(err)) if transient(&err) => {
                        tracing::warn!(runner = self.name, %position, error = %err, "database unavailable, retry left for later");
                        Outcome::Later
                    }
                    Err(err) => Outcome::Failed(err.to_string()),
                }
            }
            // A policy's commands are idempotent: reacting twice (two
            // replicas picking up one request) issues each command once.
            Work::Policy(p) => match p.react(&event).await {
                Ok(()) => {
                    let marked = async {
                        let mut tx = self.db.pool.begin().await?;
                        retry::finish(&mut tx, self.name, position, RetryState::Applied, "")
                            .await?;
                        tx.commit().await
                    };
                    match marked.await {
                        Ok(()) => Outcome::Applied,
                        Err(err) => {
                            tracing::warn!(runner = self.name, error = %err, "cannot record an applied retry");
                            Outcome::Later
                        }
                    }
                }
                Err(ReactError::Transient(reason)) => {
                    tracing::warn!(runner = self.name, %position, %reason, "retry left for later");
                    Outcome::Later
                }
                Err(ReactError::Poison(reason)) => Outcome::Failed(reason),
            },
        }
    }
}
