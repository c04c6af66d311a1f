//! Projections (events → read-model rows) and policies (events → idempotent
//! commands), run by one runner: read the checkpoint, subscribe from there, apply
//! events in batches, and move the checkpoint in the same transaction as the rows.
//! A crash anywhere therefore applies nothing twice and loses nothing.

mod audit;
mod checkpoint;
mod feed;
mod lease;
mod online;
mod progress;
mod retry;
mod runner;

use aftercare_eventstore::{Filter, Position, RecordedEvent};
use async_trait::async_trait;
use sqlx::AnyConnection;

pub use audit::AuditTrail;
pub use checkpoint::{Checkpoint, read_checkpoints};
pub use lease::{Held, Leases, Lost};
pub use online::{OnlineError, OnlineRebuild, Swapped};
pub use progress::{Progress, ProgressHandle, wait_for_consistency};
pub use retry::{Retry, RetryState, request as request_retry, retries};
pub use runner::{Runner, RunnerOptions};

use crate::db::{Migrations, SqlMigration};

/// The runtime's tables are written in SQL both engines accept.
const RUNTIME_SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 1,
        description: "checkpoints",
        sql: include_str!("../../migrations/0001_checkpoints.sql"),
    },
    SqlMigration {
        version: 2,
        description: "audit",
        sql: include_str!("../../migrations/0002_audit.sql"),
    },
    SqlMigration {
        version: 3,
        description: "privacy keys",
        sql: include_str!("../../migrations/0003_privacy_keys.sql"),
    },
    SqlMigration {
        version: 4,
        description: "dead letter retries",
        sql: include_str!("../../migrations/0004_dead_letter_retries.sql"),
    },
    SqlMigration {
        version: 5,
        description: "checkpoint fence",
        sql: include_str!("../../migrations/0005_checkpoint_fence.sql"),
    },
];

/// The runtime's own tables: checkpoints and the audit trail (versions 1–99).
pub const RUNTIME_MIGRATIONS: Migrations = Migrations {
    postgres: RUNTIME_SQL,
    sqlite: RUNTIME_SQL,
};

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event itself is at fault (cannot be decoded, breaks an invariant): it
    /// will never apply, so after the bounded retries it is dead-lettered.
    #[error("event at {position} cannot be applied: {reason}")]
    Poison { position: Position, reason: String },
    /// The database refused or failed; retried.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A read model built from events. `apply` receives only events matching
/// `filter`, in log order, inside the transaction that will also move the
/// checkpoint; it should write a batch with few statements (multi-row inserts).
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn filter(&self) -> Filter;
    /// The tables this read model owns and nothing else writes: what a rebuild
    /// empties, and what an online rebuild builds anew and swaps in. Empty for
    /// a read model that cannot be rebuilt online.
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }
    /// Empties this projection's tables, for a rebuild.
    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        crate::db::delete_all(tx, self.tables()).await
    }
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError>;
    /// Before a rebuild replays the log into the emptied tables: drop what makes
    /// bulk loading slow (secondary indexes).
    async fn before_replay(&self, _tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }
    /// Most events one transaction applies during a rebuild, when more than the
    /// runner's batch size pays: a read model whose rows absorb many events each
    /// (counters, per-vehicle histories) writes far fewer rows per event with
    /// larger batches. The batch is held in memory.
    fn replay_batch_size(&self) -> Option<usize> {
        None
    }
    /// After a rebuild, and whenever a runner starts (so an interrupted rebuild is
    /// repaired): restore what `before_replay` dropped. Must be idempotent.
    async fn after_replay(&self, _tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// Why a policy could not react to an event.
#[derive(Debug, thiserror::Error)]
pub enum ReactError {
    /// The event will never lead to a command: dead-lettered after the retries.
    #[error("{0}")]
    Poison(String),
    /// The command could not be issued now (store or database down); retried.
    #[error("{0}")]
    Transient(String),
}

/// A reaction to events that issues commands. The commands must carry ids derived
/// from the event, so reacting twice (after a crash, on replay) creates nothing twice.
#[async_trait]
pub trait Policy: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn filter(&self) -> Filter;
    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError>;
}
