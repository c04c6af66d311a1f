//! The JetStream backend: every aggregate is a subject of the `AFTERCARE_EVENTS`
//! stream, the stream sequence is the global position, and
//! `Nats-Expected-Last-Subject-Sequence` is the optimistic concurrency check.
//! Every publish awaits its PubAck; a broker that is down or slow is an error.

mod codec;
mod group;
mod publish;
mod setup;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, Context};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use crate::{
    AppendRequest, Appended, DeadLetter, EventData, EventStore, EventStream, Expected, Filter,
    Position, StoreError, StreamEvents, StreamId,
};
use codec::Subjects;
pub use group::GroupCommitStats;
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
    /// The stream holding `<prefix>.out.>`: what goes back to the OEM (complaint
    /// feedback, early warnings), kept so a consumer that was away reads it later.
    pub outbound_stream: String,
    /// How long an append waits for its PubAck before reporting the broker unavailable.
    pub ack_timeout: Duration,
    /// Appends kept in flight at once on the bulk path.
    pub max_in_flight: usize,
    /// Group commit: at most this many single-event appends that arrive
    /// together go to the log as one atomic batch (one flush to disk), each
    /// with its own checks; 1 publishes every append on its own.
    pub group_commit: usize,
    /// Optional bearer token for the NATS connection.
    pub token: Option<String>,
    /// The NATS user ingest replies are sent from, `nats://user:password@host:4222`:
    /// one that may publish to `_INBOX.>` and nowhere else, so a reply subject
    /// forged by a sender can never put anything on an event, outbound or
    /// dead-letter subject. The service's own connection when unset.
    pub reply_url: Option<String>,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            prefix: "aftercare".to_owned(),
            events: StreamSettings::default(),
            dead_letter_stream: "AFTERCARE_DLQ".to_owned(),
            outbound_stream: "AFTERCARE_OUT".to_owned(),
            ack_timeout: Duration::from_secs(5),
            max_in_flight: 1024,
            group_commit: 500,
            token: None,
            reply_url: None,
        }
    }
}

#[derive(Clone)]
pub struct JetStreamStore {
    client: async_nats::Client,
    replies: async_nats::Client,
    js: Context,
    events: Stream,
    dead_letters: Stream,
    subjects: Subjects,
    config: JetStreamConfig,
    /// Where single-event appends are grouped; none on the flusher's own
    /// handle, and when group commit is off.
    group: Option<Arc<group::Committer>>,
}

/// `nats://user:password@host:4222` → the URL without them, and the credentials
/// (the client does not read credentials from the URL itself). Kubernetes passes
/// the service account's password this way, from a Secret.
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("nats", url));
    match rest.split_once('@') {
        Some((userinfo, host)) if !userinfo.contains('/') => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (
                format!("{scheme}://{host}"),
                Some((user.to_owned(), password.to_owned())),
            )
        }
        _ => (url.to_owned(), None),
    }
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {err}"))
}

/// One named connection to NATS, with the credentials of `url` (or `token`).
async fn connect_client(
    name: &str,
    url: &str,
    token: Option<&String>,
    request_timeout: Duration,
) -> Result<async_nats::Client, StoreError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(request_timeout))
        .event_callback(|event| async move {
            tracing::info!(%event, "nats connection event");
        });
    if let Some(token) = token {
        options = options.token(token.clone());
    }
    // A comma-separated list names the cluster's nodes: the client connects to
    // one and fails over to the others (and to any the cluster announces).
    let mut servers = Vec::new();
    let mut shown = Vec::new();
    for one in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let (plain, credentials) = split_credentials(one);
        if let Some((user, password)) = credentials {
            options = options.user_and_password(user, password);
        }
        let address: async_nats::ServerAddr = plain
            .parse()
            .map_err(|e| StoreError::Misconfigured(format!("store.url {plain:?}: {e}")))?;
        servers.push(address);
        shown.push(plain);
    }
    options
        .connect(servers)
        .await
        .map_err(|e| unavailable(&format!("nats at {}", shown.join(",")), e))
}

impl JetStreamStore {
    /// Connects, then creates or validates the events and dead-letter streams.
    pub async fn connect(config: JetStreamConfig) -> Result<Self, StoreError> {
        crate::model::check_token("prefix", &config.prefix.replace('.', "_"), 64)?;
        let client = connect_client(
            "aftercare",
            &config.url,
            config.token.as_ref(),
            config.ack_timeout,
        )
        .await?;
        let replies = match &config.reply_url {
            Some(url) => connect_client("aftercare-replies", url, None, config.ack_timeout).await?,
            None => client.clone(),
        };
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
        setup::ensure_stream(
            &js,
            setup::outbound_config(&config.outbound_stream, &config.events, &subjects),
        )
        .await?;
        let mut store = Self {
            client,
            replies,
            js,
            events,
            dead_letters,
            subjects,
            config,
            group: None,
        };
        if store.config.group_commit > 1 {
            let max = store.config.group_commit;
            store.group = Some(Arc::new(group::Committer::start(store.clone(), max)));
        }
        Ok(store)
    }

    /// What group commit has done since this store connected.
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        self.group.as_ref().map(|g| g.stats()).unwrap_or_default()
    }

    /// The connection, for ingest and outbound publishing by the services.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The connection ingest replies go out on (see [`JetStreamConfig::reply_url`]).
    pub fn reply_client(&self) -> &async_nats::Client {
        &self.replies
    }

    /// Whether replies go out on a connection of their own.
    pub fn replies_confined(&self) -> bool {
        self.config.reply_url.is_some()
    }

    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// Publishes `payload` to `<prefix>.out.<dealer>.<kind>` and waits until the
    /// outbound stream has it. `message_id` makes a repeat within the stream's
    /// duplicate window a no-op (a policy reacting again after a crash).
    pub async fn publish_outbound(
        &self,
        dealer: &crate::DealerId,
        kind: &str,
        message_id: &str,
        payload: bytes::Bytes,
    ) -> Result<(), StoreError> {
        crate::model::check_token("kind", kind, 128)?;
        let subject = format!("{}.out.{dealer}.{kind}", self.config.prefix);
        let message = PublishMessage::build()
            .message_id(message_id)
            .payload(payload);
        let ack = self
            .js
            .send_publish(subject, message)
            .await
            .map_err(|e| unavailable("outbound publish", e))?;
        ack.await.map_err(|e| unavailable("outbound ack", e))?;
        Ok(())
    }
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

    async fn read_stream(&self, stream: &StreamId) -> Result<StreamEvents, StoreError> {
        let subject = self.subjects.stream(stream);
        let mut read = StreamEvents::default();
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
                    // Appends are checked against the subject's last sequence,
                    // whatever is stored there.
                    read.version = position;
                    if !codec::has_envelope(Some(&message.headers)) {
                        tracing::warn!(
                            subject = %message.subject,
                            %position,
                            "a message without the event envelope is stored under an aggregate; it is not an event and is skipped"
                        );
                        continue;
                    }
                    read.events.push(codec::decode_event(
                        &self.subjects,
                        &message.subject,
                        position,
                        Some(&message.headers),
                        message.payload,
                    )?);
                }
                Err(err) if err.kind() == DirectGetErrorKind::NotFound => return Ok(read),
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

    async fn dealer_progress(
        &self,
        dealers: &[crate::DealerId],
        after: Position,
    ) -> Result<crate::DealerProgress, StoreError> {
        if dealers.is_empty() {
            return Ok(crate::DealerProgress::default());
        }
        let filter_subjects: Vec<String> = dealers
            .iter()
            .map(|d| format!("{}.ev.{d}.>", self.config.prefix))
            .collect();
        // The last of the dealers' events: a consumer that starts there.
        let last = self
            .events
            .create_consumer(pull::Config {
                filter_subjects: filter_subjects.clone(),
                deliver_policy: DeliverPolicy::Last,
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("creating progress consumer", e))?;
        let mut last = last;
        let pending = last
            .info()
            .await
            .map_err(|e| unavailable("progress consumer info", e))?
            .num_pending;
        let last = if pending == 0 {
            Position::ZERO
        } else {
            let message = last
                .messages()
                .await
                .map_err(|e| unavailable("progress consumer", e))?
                .next()
                .await
                .ok_or_else(|| unavailable("progress consumer", "ended"))?
                .map_err(|e| unavailable("progress consumer", e))?;
            Position(
                message
                    .info()
                    .map_err(|e| unavailable("message info", e))?
                    .stream_sequence,
            )
        };
        // How many come after `after`: the pending count of a consumer that
        // starts just past it.
        let mut counter = self
            .events
            .create_consumer(pull::Config {
                filter_subjects,
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: after.0 + 1,
                },
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("creating progress consumer", e))?;
        let after = counter
            .info()
            .await
            .map_err(|e| unavailable("progress consumer info", e))?
            .num_pending;
        Ok(crate::DealerProgress { last, after })
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

#[cfg(test)]
mod tests {
    use super::split_credentials;

    #[test]
    fn credentials_are_taken_out_of_the_url() {
        let (url, credentials) =
            split_credentials("nats://aftercare:s3cret@nats.aftercare.svc:4222");
        assert_eq!(url, "nats://nats.aftercare.svc:4222");
        assert_eq!(
            credentials,
            Some(("aftercare".to_owned(), "s3cret".to_owned()))
        );
        assert_eq!(
            split_credentials("nats://127.0.0.1:4222"),
            ("nats://127.0.0.1:4222".to_owned(), None)
        );
    }
}
