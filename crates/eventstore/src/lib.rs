//! The aftercare event store: an append-only, totally ordered log of domain events
//! with optimistic concurrency per aggregate, and subscriptions that catch up from
//! any position and then follow live.
//!
//! Two backends keep the same semantics (one conformance suite runs against both):
//! [`JetStreamStore`] on a NATS JetStream stream, and [`EmbeddedStore`] on a SQLite
//! file for one machine.
#![forbid(unsafe_code)]

mod embedded;
mod error;
mod jetstream;
mod model;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub use embedded::EmbeddedStore;
pub use error::StoreError;
pub use jetstream::{JetStreamConfig, JetStreamStore, StreamSettings};
pub use model::{
    AppendRequest, Appended, DeadLetter, DealerId, DealerProgress, EventData, Expected, Filter,
    Metadata, Position, RecordedEvent, StreamEvents, StreamId, StreamPattern,
};

/// Events in log order; an error ends the subscription.
pub type EventStream = BoxStream<'static, Result<RecordedEvent, StoreError>>;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends events to one aggregate's stream if `expected` holds. Returns only once
    /// every event is durable; an error never hides a success.
    async fn append(
        &self,
        stream: &StreamId,
        expected: Expected,
        events: Vec<EventData>,
    ) -> Result<Appended, StoreError>;

    /// The bulk path: many appends kept in flight at once, each checked on its own.
    /// Results are in request order.
    async fn append_batch(&self, batch: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>>;

    /// Every event of one aggregate, in order, and the version to append at; empty
    /// when the stream does not exist.
    async fn read_stream(&self, stream: &StreamId) -> Result<StreamEvents, StoreError>;

    /// Events matching `filter` from position `from` (inclusive): first the history,
    /// then new events as they are appended, in log order.
    async fn subscribe(&self, filter: &Filter, from: Position) -> Result<EventStream, StoreError>;

    /// The position of the last event in the log (`Position::ZERO` when empty).
    async fn head(&self) -> Result<Position, StoreError>;

    /// The last event of `dealers` and how many of their events come after
    /// `after`: a dealer's own view of the log's progress.
    async fn dealer_progress(
        &self,
        dealers: &[DealerId],
        after: Position,
    ) -> Result<DealerProgress, StoreError>;

    /// Keeps an input or event that could not be processed, with the reason.
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError>;

    /// Dead letters of one kind (all kinds when `None`), oldest first.
    async fn dead_letters(&self, kind: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;
}

/// The largest event payload either backend takes: well inside NATS's default
/// 1 MiB message with its headers. A command that would record more is refused
/// as invalid input (a client error), never reported as the log being down.
pub const MAX_EVENT_BYTES: usize = 512 * 1024;

/// Event type names are protobuf full names: letters, digits, `_` and `.`.
pub(crate) fn check_event(event: &EventData) -> Result<(), StoreError> {
    if event.payload.len() > MAX_EVENT_BYTES {
        return Err(StoreError::InvalidInput {
            field: "event",
            reason: format!(
                "{} would be {} bytes; the log takes at most {MAX_EVENT_BYTES} per event",
                event.event_type,
                event.payload.len()
            ),
        });
    }
    let t = &event.event_type;
    if t.is_empty()
        || t.len() > 200
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(StoreError::InvalidInput {
            field: "event_type",
            reason: format!("{t:?} must be a protobuf message name (letters, digits, '_', '.')"),
        });
    }
    if event.metadata.actor.contains(['\r', '\n']) {
        return Err(StoreError::InvalidInput {
            field: "actor",
            reason: "must not contain line breaks".to_owned(),
        });
    }
    Ok(())
}
