//! Appending: one event is one publish awaited to its PubAck; several events of one
//! append are one atomic batch.

use async_nats::jetstream::stream::DirectGetErrorKind;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};

use super::{JetStreamStore, codec, unavailable};
use crate::{
    AppendRequest, Appended, EventData, EventStore, Expected, Position, StoreError, StreamId,
    check_event,
};

impl JetStreamStore {
    pub(super) async fn stream_version(&self, subject: &str) -> Result<Position, StoreError> {
        match self.events.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Position(message.sequence)),
            Err(err) if err.kind() == DirectGetErrorKind::NotFound => Ok(Position::ZERO),
            Err(err) => Err(unavailable("reading stream version", err)),
        }
    }

    /// Publishes one event and awaits its PubAck.
    pub(super) async fn publish(
        &self,
        stream: &StreamId,
        subject: &str,
        event: &EventData,
        expected: Option<u64>,
    ) -> Result<Position, StoreError> {
        let mut message = PublishMessage::build()
            .headers(codec::event_headers(event))
            .payload(event.payload.clone());
        if let Some(seq) = expected {
            message = message.expected_last_subject_sequence(seq);
        }
        let sent = self.js.send_publish(subject.to_owned(), message).await;
        let acked = match sent {
            Ok(ack) => ack.await,
            Err(err) => Err(err),
        };
        match acked {
            Ok(ack) => Ok(Position(ack.sequence)),
            Err(err) if wrong_last_sequence(&err) => Err(StoreError::Conflict {
                stream: stream.clone(),
                expected: expected_of(expected),
                current: self.stream_version(subject).await?,
            }),
            Err(err) => Err(unavailable("publish", err)),
        }
    }

    pub(super) async fn append_request(
        &self,
        request: AppendRequest,
    ) -> Result<Appended, StoreError> {
        if request.events.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "events",
                reason: "an append needs at least one event".to_owned(),
            });
        }
        request.events.iter().try_for_each(check_event)?;
        let subject = self.subjects.stream(&request.stream);
        let expected = match request.expected {
            Expected::Any => None,
            Expected::NoStream => Some(0),
            Expected::Version(p) => Some(p.0),
        };
        let position = match request.events.as_slice() {
            [event] => match &self.group {
                Some(group) => {
                    group
                        .append(&request.stream, subject, event.clone(), expected)
                        .await?
                }
                None => {
                    self.publish(&request.stream, &subject, event, expected)
                        .await?
                }
            },
            events => {
                self.publish_atomic(&request.stream, &subject, events, expected)
                    .await?
            }
        };
        Ok(Appended { position })
    }

    /// Several events of one append as a JetStream atomic batch: the server stores
    /// all of them or none (a batch it never sees committed is abandoned), so a
    /// crash or a failure half-way leaves no partial append behind.
    async fn publish_atomic(
        &self,
        stream: &StreamId,
        subject: &str,
        events: &[EventData],
        expected: Option<u64>,
    ) -> Result<Position, StoreError> {
        if events.len() > MAX_ATOMIC_EVENTS {
            return Err(StoreError::InvalidInput {
                field: "events",
                reason: format!(
                    "one append holds at most {MAX_ATOMIC_EVENTS} events, not {}",
                    events.len()
                ),
            });
        }
        let batch = uuid::Uuid::now_v7().simple().to_string();
        let (last, rest) = events.split_last().expect("more than one event");
        for (i, event) in rest.iter().enumerate() {
            let mut headers = codec::event_headers(event);
            headers.insert(BATCH_ID, batch.as_str());
            headers.insert(BATCH_SEQUENCE, (i + 1).to_string().as_str());
            if let (0, Some(seq)) = (i, expected) {
                headers.insert(EXPECTED_LAST_SUBJECT_SEQUENCE, seq.to_string().as_str());
            }
            self.client
                .publish_with_headers(subject.to_owned(), headers, event.payload.clone())
                .await
                .map_err(|e| unavailable("batch publish", e))?;
        }
        let mut headers = codec::event_headers(last);
        headers.insert(BATCH_ID, batch.as_str());
        headers.insert(BATCH_SEQUENCE, events.len().to_string().as_str());
        headers.insert(BATCH_COMMIT, "1");
        let message = PublishMessage::build()
            .headers(headers)
            .payload(last.payload.clone());
        let sent = self.js.send_publish(subject.to_owned(), message).await;
        let acked = match sent {
            Ok(ack) => ack.await,
            Err(err) => Err(err),
        };
        match acked {
            Ok(ack) => Ok(Position(ack.sequence)),
            Err(err) if wrong_last_sequence(&err) => Err(StoreError::Conflict {
                stream: stream.clone(),
                expected: expected_of(expected),
                current: self.stream_version(subject).await?,
            }),
            Err(err)
                if jetstream_code(&err)
                    == Some(jetstream::ErrorCode::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE) =>
            {
                // A retry of an append that is already stored: answer where it landed.
                let stored = self.read_stream(stream).await?;
                let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
                let positions: Vec<_> = stored
                    .iter()
                    .filter(|e| ids.contains(&e.data.event_id))
                    .map(|e| e.position)
                    .collect();
                match positions.iter().max() {
                    Some(&position) if positions.len() == ids.len() => Ok(position),
                    _ => Err(StoreError::InvalidInput {
                        field: "event_id",
                        reason: "some of these event ids are already in the log and some are not"
                            .to_owned(),
                    }),
                }
            }
            Err(err) => Err(unavailable("batch commit", err)),
        }
    }
}

pub(super) const BATCH_ID: &str = "Nats-Batch-Id";
pub(super) const BATCH_SEQUENCE: &str = "Nats-Batch-Sequence";
pub(super) const BATCH_COMMIT: &str = "Nats-Batch-Commit";
pub(super) const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
/// The server's limit on one atomic batch.
pub(super) const MAX_ATOMIC_EVENTS: usize = 1000;

fn expected_of(seq: Option<u64>) -> Expected {
    match seq {
        None => Expected::Any,
        Some(0) => Expected::NoStream,
        Some(s) => Expected::Version(Position(s)),
    }
}

/// The JetStream error code behind a publish error, when the server gave one.
/// The expected subject sequence did not hold: another write to the subject
/// came first (10071), or, on a replicated stream, one is still being agreed on
/// (10164, which the server answers rather than wait) — either way nothing
/// was stored and the writer is behind.
pub(super) fn wrong_last_sequence(err: &async_nats::jetstream::context::PublishError) -> bool {
    err.kind() == PublishErrorKind::WrongLastSequence
        || jetstream_code(err) == Some(jetstream::ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT)
}

pub(super) fn jetstream_code(
    err: &async_nats::jetstream::context::PublishError,
) -> Option<jetstream::ErrorCode> {
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<jetstream::Error>())
        .map(|e| e.error_code())
}
