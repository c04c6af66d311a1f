//! What the runner does when an event will not apply: retry a bounded number of
//! times, then keep it as a dead letter and move the checkpoint past it.

use aftercare_eventstore::{DeadLetter, DealerId, Position, RecordedEvent};

use super::{Flow, Runner, transient};
use crate::projection::checkpoint::{self, Checkpoint};
use crate::projection::{ApplyError, Policy, Projection, ReactError};

impl Runner {
    pub(super) async fn apply_one(
        &self,
        p: &dyn Projection,
        cp: &mut Checkpoint,
        event: RecordedEvent,
    ) -> Flow {
        if event.position <= cp.position {
            return Flow::Next;
        }
        let position = event.position;
        let events = if self.filter.matches(&event.stream) {
            vec![event]
        } else {
            Vec::new()
        };
        let mut attempts = 0;
        let mut failures = 0;
        loop {
            match self.try_apply(p, cp, &events, position, 0).await {
                Ok(flow) => return flow,
                Err(ApplyError::Database(err)) if transient(&err) => {
                    tracing::warn!(projection = self.name, %position, error = %err, "database unavailable, retrying event");
                    self.pause(&mut failures).await
                }
                Err(err) => {
                    attempts += 1;
                    if attempts >= self.options.max_attempts {
                        let event = &events[0];
                        self.dead_letter(Some(event), event.position, err.to_string())
                            .await;
                        return self.commit_checkpoint(cp, position, 1).await;
                    }
                    self.pause(&mut failures).await;
                }
            }
        }
    }

    /// Reacts to one event; the number of dead letters it cost (0 or 1).
    pub(super) async fn react(&self, p: &dyn Policy, event: &RecordedEvent) -> u64 {
        let mut attempts = 0;
        let mut failures = 0;
        let span = crate::telemetry::event_span("policy.react", self.name, event)
            .unwrap_or_else(tracing::Span::none);
        loop {
            match tracing::Instrument::instrument(p.react(event), span.clone()).await {
                Ok(()) => return 0,
                Err(ReactError::Transient(reason)) => {
                    tracing::warn!(policy = self.name, position = %event.position, %reason, "retrying");
                    self.pause(&mut failures).await;
                }
                Err(ReactError::Poison(reason)) => {
                    attempts += 1;
                    if attempts >= self.options.max_attempts {
                        self.dead_letter(Some(event), event.position, reason).await;
                        return 1;
                    }
                    self.pause(&mut failures).await;
                }
            }
        }
    }

    /// An event the store itself cannot decode: kept as a dead letter, skipped.
    pub(super) async fn skip_unreadable(
        &self,
        cp: &mut Checkpoint,
        position: Position,
        reason: String,
    ) -> Flow {
        if position <= cp.position {
            return Flow::Next;
        }
        self.dead_letter(None, position, reason).await;
        self.commit_checkpoint(cp, position, 1).await
    }

    /// Moves the checkpoint past events applied outside a transaction (a
    /// policy's commands, a dead letter), conditionally like every move.
    pub(super) async fn commit_checkpoint(
        &self,
        cp: &mut Checkpoint,
        position: Position,
        dead: u64,
    ) -> Flow {
        let mut failures = 0;
        let next = Checkpoint {
            name: cp.name.clone(),
            position: position.max(cp.position),
            dead_lettered: cp.dead_lettered + dead,
            fence: self.fence(),
        };
        loop {
            let attempt = async {
                let mut tx = self.db.pool.begin().await?;
                if !checkpoint::advance(&mut tx, cp, &next).await? {
                    tx.rollback().await?;
                    return Ok(Flow::Reload);
                }
                tx.commit().await.map(|()| Flow::Next)
            };
            match attempt.await {
                Ok(Flow::Reload) => return Flow::Reload,
                Ok(Flow::Next) => {
                    *cp = next;
                    self.publish(cp);
                    return Flow::Next;
                }
                Err(err) => {
                    tracing::warn!(runner = self.name, error = %err, "cannot save checkpoint");
                    self.pause(&mut failures).await;
                }
            }
        }
    }

    /// Dead letters are written before the checkpoint passes the event, so a crash
    /// in between can repeat a dead letter but never lose one.
    pub(super) async fn dead_letter(
        &self,
        event: Option<&RecordedEvent>,
        position: Position,
        reason: String,
    ) {
        tracing::error!(runner = self.name, %position, %reason, "poison event dead-lettered");
        let letter = DeadLetter {
            dealer: event.map_or_else(
                || DealerId::parse("_unknown").expect("a valid dealer token"),
                |e| e.dealer().clone(),
            ),
            kind: format!("projection-{}", self.name),
            reason,
            source_position: Some(position),
            source_event_id: event.map(|e| e.data.event_id),
            payload: event.map(|e| e.data.payload.clone()).unwrap_or_default(),
            recorded_at: jiff::Timestamp::now(),
        };
        let mut failures = 0;
        while let Err(err) = self.store.dead_letter(letter.clone()).await {
            tracing::warn!(runner = self.name, error = %err, "cannot write dead letter, retrying");
            self.pause(&mut failures).await;
        }
    }
}
