//! What can go wrong with the event log, as types the callers match on.

use crate::{Expected, Position, StreamId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The optimistic concurrency check failed: reload the aggregate and decide again.
    #[error("stream {stream} is at version {current}, expected {expected:?}")]
    Conflict {
        stream: StreamId,
        expected: Expected,
        current: Position,
    },
    /// The caller passed something the log cannot hold.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    /// The log could not be reached or did not confirm in time: the append may or
    /// may not have happened; retrying with the same event ids is safe.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// The log's configuration differs from what this deployment expects.
    #[error("event store misconfigured: {0}")]
    Misconfigured(String),
    /// An event stored in the log could not be read back.
    #[error("corrupt event at position {position}: {reason}")]
    Corrupt { position: Position, reason: String },
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Unavailable(format!("sqlite: {err}"))
    }
}
