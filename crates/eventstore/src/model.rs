//! The vocabulary of the event log: who an event belongs to, where it sits, what it carries.

use std::fmt;

use bytes::Bytes;
use jiff::Timestamp;
use uuid::Uuid;

use crate::StoreError;

/// A dealer (4S store), the tenant boundary. Restricted to `[A-Za-z0-9_-]{1,64}` so
/// it is a safe NATS subject token and NATS permissions can confine a credential to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DealerId(String);

impl DealerId {
    pub fn parse(value: impl Into<String>) -> Result<Self, StoreError> {
        let value = value.into();
        check_token("dealer", &value, 64)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DealerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that a value is a safe subject token: `[A-Za-z0-9_-]{1,max}`.
pub(crate) fn check_token(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    let reason = if value.is_empty() {
        Some("must not be empty".to_owned())
    } else if value.len() > max {
        Some(format!("must be at most {max} characters"))
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("may only contain letters, digits, '_' and '-'".to_owned())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidInput { field, reason }),
        None => Ok(()),
    }
}

/// One aggregate's stream of events: `<prefix>.ev.<dealer>.<aggregate>.<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamId {
    dealer: DealerId,
    aggregate: String,
    id: String,
}

impl StreamId {
    /// `aggregate` is the aggregate type (`visit`, `complaint`); `id` its identity,
    /// typically a UUID. Both must be subject tokens.
    pub fn new(
        dealer: DealerId,
        aggregate: impl Into<String>,
        id: impl Into<String>,
    ) -> Result<Self, StoreError> {
        let (aggregate, id) = (aggregate.into(), id.into());
        check_token("aggregate", &aggregate, 64)?;
        check_token("aggregate_id", &id, 128)?;
        Ok(Self {
            dealer,
            aggregate,
            id,
        })
    }

    pub fn dealer(&self) -> &DealerId {
        &self.dealer
    }

    pub fn aggregate(&self) -> &str {
        &self.aggregate
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.dealer, self.aggregate, self.id)
    }
}

/// A place in the global, totally ordered event log. The first event is at 1;
/// `Position::ZERO` is "before everything".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(pub u64);

impl Position {
    pub const ZERO: Position = Position(0);

    pub fn next(self) -> Position {
        Position(self.0 + 1)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the writer believes about the aggregate's stream. An aggregate's version is
/// the position of its last event — exactly what JetStream's
/// `Nats-Expected-Last-Subject-Sequence` checks — on both backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// No check: append whatever the stream holds.
    Any,
    /// The stream must not exist yet (creating an aggregate, idempotent intake).
    NoStream,
    /// The stream's last event must be at this position.
    Version(Position),
}

/// Who caused an event and in which conversation: carried with every event.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Groups every event of one business conversation (a DMS upload, an OEM ticket).
    pub correlation_id: Option<Uuid>,
    /// The event or command that caused this one.
    pub causation_id: Option<Uuid>,
    /// The principal (staff member, integration, `system:<policy>`).
    pub actor: String,
    /// W3C trace context of the request that produced the event.
    pub traceparent: Option<String>,
}

/// An event to append. Its dealer is the stream's dealer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventData {
    /// Unique for ever: a UUIDv7 for new facts, or derived (UUIDv5) for facts that
    /// come from outside, so a retried append is recognised as the same event.
    pub event_id: Uuid,
    /// The protobuf message name, `aftercare.intake.v1.VisitRecorded`.
    pub event_type: String,
    pub schema_version: u32,
    pub occurred_at: Timestamp,
    pub metadata: Metadata,
    /// The protobuf encoding of the event.
    pub payload: Bytes,
}

impl EventData {
    /// A new event with a fresh UUIDv7 id, occurring now.
    pub fn new(event_type: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            occurred_at: Timestamp::now(),
            metadata: Metadata::default(),
            payload: payload.into(),
        }
    }

    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    pub fn occurred_at(mut self, at: Timestamp) -> Self {
        self.occurred_at = at;
        self
    }
}

/// An event as stored: its stream, its position and what was appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub stream: StreamId,
    pub position: Position,
    pub data: EventData,
}

impl RecordedEvent {
    pub fn dealer(&self) -> &DealerId {
        self.stream.dealer()
    }
}

/// One aggregate's events, in order, and its version: the position of the last
/// message stored under the aggregate. The two differ only when something that is
/// not an event (no envelope) was stored under the aggregate's subject; it is not
/// an event of the aggregate, but appends must still be checked against it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamEvents {
    pub events: Vec<RecordedEvent>,
    pub version: Position,
}

impl StreamEvents {
    /// The version to append at: "must not exist" when nothing was ever stored.
    pub fn expected(&self) -> Expected {
        if self.version == Position::ZERO {
            Expected::NoStream
        } else {
            Expected::Version(self.version)
        }
    }
}

impl From<Vec<RecordedEvent>> for StreamEvents {
    fn from(events: Vec<RecordedEvent>) -> Self {
        let version = events.last().map_or(Position::ZERO, |e| e.position);
        Self { events, version }
    }
}

impl std::ops::Deref for StreamEvents {
    type Target = [RecordedEvent];

    fn deref(&self) -> &[RecordedEvent] {
        &self.events
    }
}

impl IntoIterator for StreamEvents {
    type Item = RecordedEvent;
    type IntoIter = std::vec::IntoIter<RecordedEvent>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

impl<'a> IntoIterator for &'a StreamEvents {
    type Item = &'a RecordedEvent;
    type IntoIter = std::slice::Iter<'a, RecordedEvent>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.iter()
    }
}

/// How far the log has come for some dealers: what a dealer may see of the log's
/// progress without learning anything about other dealers' activity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DealerProgress {
    /// The position of the dealers' last event (`Position::ZERO` when none).
    pub last: Position,
    /// How many of their events come after the position asked about.
    pub after: u64,
}

/// The result of an append: where the last of its events landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub position: Position,
}

/// One append of a batch (the bulk path keeps many of these in flight).
#[derive(Clone, Debug)]
pub struct AppendRequest {
    pub stream: StreamId,
    pub expected: Expected,
    pub events: Vec<EventData>,
}

/// Which events a subscriber wants: the union of its patterns. An empty filter
/// matches every event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub patterns: Vec<StreamPattern>,
}

/// `None` is a wildcard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamPattern {
    pub dealer: Option<DealerId>,
    pub aggregate: Option<String>,
}

impl Filter {
    pub fn all() -> Self {
        Self::default()
    }

    pub fn aggregate(aggregate: impl Into<String>) -> Self {
        Self::default().or_aggregate(aggregate)
    }

    pub fn dealer(dealer: DealerId) -> Self {
        Self {
            patterns: vec![StreamPattern {
                dealer: Some(dealer),
                aggregate: None,
            }],
        }
    }

    pub fn or_aggregate(mut self, aggregate: impl Into<String>) -> Self {
        self.patterns.push(StreamPattern {
            dealer: None,
            aggregate: Some(aggregate.into()),
        });
        self
    }

    pub fn or(mut self, pattern: StreamPattern) -> Self {
        self.patterns.push(pattern);
        self
    }

    pub fn matches(&self, stream: &StreamId) -> bool {
        self.patterns.is_empty()
            || self.patterns.iter().any(|p| {
                p.dealer.as_ref().is_none_or(|d| d == stream.dealer())
                    && p.aggregate
                        .as_deref()
                        .is_none_or(|a| a == stream.aggregate())
            })
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        for pattern in &self.patterns {
            if let Some(aggregate) = &pattern.aggregate {
                check_token("filter.aggregate", aggregate, 64)?;
            }
        }
        Ok(())
    }
}

/// An input or event that could not be processed, kept with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub dealer: DealerId,
    /// What kind of thing failed: `visits` for rejected DMS input,
    /// `projection-<name>` for a poison event.
    pub kind: String,
    pub reason: String,
    /// The log position of the poison event, when it came from the log.
    pub source_position: Option<Position>,
    pub source_event_id: Option<Uuid>,
    pub payload: Bytes,
    pub recorded_at: Timestamp,
}
