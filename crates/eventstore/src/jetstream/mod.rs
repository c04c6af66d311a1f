//! The JetStream backend: every aggregate is a subject of the `AFTERCARE_EVENTS`
//! stream, the stream sequence is the global position, and
//! `Nats-Expected-Last-Subject-Sequence` is the optimistic concurrency check.
//! Every publish awaits its PubAck; a broker that is down or slow is an error.

mod codec;
mod setup;

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, Context};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use crate::{
    AppendRequest, Appended, DeadLetter, EventData, EventStore, EventStream, Expected, Filter,
    Position, RecordedEvent, StoreError, StreamId, check_event,
};
use codec::Subjects;
pub use setup::StreamSettings;

/// How a deployment reaches its JetStream stream.
#[derive(Clone, Debug)]
pub struct JetStreamConfig {
    pub url: String,
    /// Subject prefix, `aftercare` by default: `<prefix>.ev.<dealer>.<aggregate>.<id>`.
    pub prefix: String,
    pub events: StreamSettings,
    /// The stream holding `<prefix>.dlq.>`.
    pub dead_letter_stream: String,
    /// How long an append waits for its PubAck before reporting the broker unavailable.
    pub ack_timeout: Duration,
    /// Appends kept in flight at once on the bulk path.
    pub max_in_flight: usize,
    /// Optional bearer token for the NATS connection.
    pub token: Option<String>,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            prefix: "aftercare".to_owned(),
            events: StreamSettings::default(),
            dead_letter_stream: "AFTERCARE_DLQ".to_owned(),
            ack_timeout: Duration::from_secs(5),
            max_in_flight: 1024,
            token: None,
        }
    }
}

#[derive(Clone)]
pub struct JetStreamStore {
    client: async_nats::Client,
    js: Context,
    events: Stream,
    dead_letters: Stream,
    subjects: Subjects,
    config: JetStreamConfig,
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {err}"))
}

impl JetStreamStore {
    /// Connects, then creates or validates the events and dead-letter streams.
    pub async fn connect(config: JetStreamConfig) -> Result<Self, StoreError> {
        crate::model::check_token("prefix", &config.prefix.replace('.', "_"), 64)?;
        let mut options = async_nats::ConnectOptions::new()
            .name("aftercare")
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(config.ack_timeout))
            .event_callback(|event| async move {
                tracing::info!(%event, "nats connection event");
            });
        if let Some(token) = &config.token {
            options = options.token(token.clone());
        }
        let client = options
            .connect(&config.url)
            .await
            .map_err(|e| unavailable(&format!("nats at {}", config.url), e))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .max_ack_inflight(config.max_in_flight.max(1))
            .build(client.clone());
        let subjects = Subjects::new(&config.prefix);
        let events =
            setup::ensure_stream(&js, setup::events_config(&config.events, &subjects)).await?;
        let dead_letters = setup::ensure_stream(
            &js,
            setup::dead_letter_config(&config.dead_letter_stream, &config.events, &subjects),
        )
        .await?;
        Ok(Self {
            client,
            js,
            events,
            dead_letters,
            subjects,
            config,
        })
    }

    /// The connection, for ingest and outbound publishing by the services.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    async fn stream_version(&self, subject: &str) -> Result<Position, StoreError> {
        match self.events.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Position(message.sequence)),
            Err(err) if err.kind() == DirectGetErrorKind::NotFound => Ok(Position::ZERO),
            Err(err) => Err(unavailable("reading stream version", err)),
        }
    }

    /// Publishes one event and awaits its PubAck.
    async fn publish(
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
            Err(err) if err.kind() == PublishErrorKind::WrongLastSequence => {
                Err(StoreError::Conflict {
                    stream: stream.clone(),
                    expected: expected_of(expected),
                    current: self.stream_version(subject).await?,
                })
            }
            Err(err) => Err(unavailable("publish", err)),
        }
    }

    async fn append_request(&self, request: AppendRequest) -> Result<Appended, StoreError> {
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
            [event] => {
                self.publish(&request.stream, &subject, event, expected)
                    .await?
            }
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
            Err(err) if err.kind() == PublishErrorKind::WrongLastSequence => {
                Err(StoreError::Conflict {
                    stream: stream.clone(),
                    expected: expected_of(expected),
                    current: self.stream_version(subject).await?,
                })
            }
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

const BATCH_ID: &str = "Nats-Batch-Id";
const BATCH_SEQUENCE: &str = "Nats-Batch-Sequence";
const BATCH_COMMIT: &str = "Nats-Batch-Commit";
const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
/// The server's limit on one atomic batch.
const MAX_ATOMIC_EVENTS: usize = 1000;

fn expected_of(seq: Option<u64>) -> Expected {
    match seq {
        None => Expected::Any,
        Some(0) => Expected::NoStream,
        Some(s) => Expected::Version(Position(s)),
    }
}

/// The JetStream error code behind a publish error, when the server gave one.
fn jetstream_code(
    err: &async_nats::jetstream::context::PublishError,
) -> Option<jetstream::ErrorCode> {
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<jetstream::Error>())
        .map(|e| e.error_code())
}

#[async_trait]
impl EventStore for JetStreamStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: Expected,
        events: Vec<EventData>,
    ) -> Result<Appended, StoreError> {
        self.append_request(AppendRequest {
            stream: stream.clone(),
            expected,
            events,
        })
        .await
    }

    async fn append_batch(&self, batch: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        futures::stream::iter(batch)
            .map(|request| self.append_request(request))
            .buffered(self.config.max_in_flight.max(1))
            .collect()
            .await
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>, StoreError> {
        let subject = self.subjects.stream(stream);
        let mut events = Vec::new();
        let mut next = 1;
        loop {
            match self
                .events
                .direct_get_next_for_subject(subject.as_str(), Some(next))
                .await
            {
                Ok(message) => {
                    let position = Position(message.sequence);
                    next = message.sequence + 1;
                    events.push(codec::decode_event(
                        &self.subjects,
                        &message.subject,
                        position,
                        Some(&message.headers),
                        message.payload,
                    )?);
                }
                Err(err) if err.kind() == DirectGetErrorKind::NotFound => return Ok(events),
                Err(err) => return Err(unavailable("reading stream", err)),
            }
        }
    }

    async fn subscribe(&self, filter: &Filter, from: Position) -> Result<EventStream, StoreError> {
        filter.validate()?;
        let deliver_policy = if from <= Position(1) {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: from.0,
            }
        };
        let consumer = self
            .events
            .create_consumer(pull::OrderedConfig {
                filter_subjects: self.subjects.filter(filter),
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("creating ordered consumer", e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| unavailable("starting ordered consumer", e))?;
        let subjects = self.subjects.clone();
        let events = messages
            .map_err(|e| unavailable("ordered consumer", e))
            .and_then(move |message| {
                let decoded = match message.info() {
                    Ok(info) => codec::decode_event(
                        &subjects,
                        &message.subject,
                        Position(info.stream_sequence),
                        message.headers.as_ref(),
                        message.payload.clone(),
                    ),
                    Err(e) => Err(unavailable("message info", e)),
                };
                futures::future::ready(decoded)
            });
        Ok(events.boxed())
    }

    async fn head(&self) -> Result<Position, StoreError> {
        let mut stream = self.events.clone();
        let info = stream
            .info()
            .await
            .map_err(|e| unavailable("stream info", e))?;
        Ok(Position(info.state.last_sequence))
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        crate::model::check_token("kind", &letter.kind, 128)?;
        let subject = self.subjects.dead_letter(&letter.dealer, &letter.kind);
        let message = PublishMessage::build()
            .headers(codec::dead_letter_headers(&letter))
            .payload(letter.payload.clone());
        let ack = self
            .js
            .send_publish(subject, message)
            .await
            .map_err(|e| unavailable("dead letter publish", e))?;
        ack.await.map_err(|e| unavailable("dead letter ack", e))?;
        Ok(())
    }

    async fn dead_letters(&self, kind: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let consumer = self
            .dead_letters
            .create_consumer(pull::Config {
                filter_subject: self.subjects.dead_letter_kind(kind),
                deliver_policy: DeliverPolicy::All,
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("dead letter consumer", e))?;
        let mut consumer = consumer;
        let pending = consumer
            .info()
            .await
            .map_err(|e| unavailable("dead letter info", e))?
            .num_pending;
        let mut letters = Vec::with_capacity(pending as usize);
        if pending == 0 {
            return Ok(letters);
        }
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| unavailable("dead letter messages", e))?
            .take(pending as usize);
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| unavailable("dead letter message", e))?;
            let position = message
                .info()
                .map(|i| Position(i.stream_sequence))
                .unwrap_or_default();
            letters.push(codec::decode_dead_letter(
                &message.subject,
                message.headers.as_ref(),
                message.payload.clone(),
                position,
            )?);
        }
        Ok(letters)
    }
}
