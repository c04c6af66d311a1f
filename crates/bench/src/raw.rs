//! The bus on its own: plain async-nats publishes and an ordered replay, the
//! baselines every event store and projection number is compared with.

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, StorageType, Stream};
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use futures::stream::FuturesUnordered;
use futures::{StreamExt, TryStreamExt};

use crate::cpu::{Sample, Stopwatch};
use crate::{IN_FLIGHT, PAYLOAD_BYTES};

const STREAM: &str = "BENCH_RAW";

/// A file-storage stream on the server at `url`, like the event store's own.
pub async fn connect(url: &str) -> anyhow::Result<(Context, Stream)> {
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let js = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(10))
        .max_ack_inflight(IN_FLIGHT)
        .build(client);
    let stream = js
        .create_stream(Config {
            name: STREAM.to_owned(),
            subjects: vec!["bench.raw.>".to_owned()],
            storage: StorageType::File,
            allow_atomic_publish: true,
            allow_batch_publish: true,
            ..Default::default()
        })
        .await
        .context("creating BENCH_RAW")?;
    Ok((js, stream))
}

/// What a raw publish carries besides its 200-byte payload. The variants add the
/// event store's envelope piece by piece, to show what each piece costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Plain,
    /// `Nats-Msg-Id`, which the server checks against its duplicate window.
    MessageId,
    /// `Nats-Expected-Last-Subject-Sequence: 0`, checked per subject.
    ExpectedSequence,
    /// Both: what idempotency and optimistic concurrency need.
    Guarantees,
    /// Everything the event store sends: message id, expected sequence, and the
    /// `Aftercare-*` envelope headers.
    StoreEnvelope,
}

impl Shape {
    pub fn label(self) -> &'static str {
        match self {
            Shape::Plain => "raw publish (async-nats, PubAck)",
            Shape::MessageId => "raw publish + Nats-Msg-Id",
            Shape::ExpectedSequence => "raw publish + expected subject seq",
            Shape::Guarantees => "raw publish + Msg-Id + expected seq",
            Shape::StoreEnvelope => "raw publish + the store's headers",
        }
    }

    /// The replay of messages of this shape.
    pub fn replay_label(self) -> &'static str {
        match self {
            Shape::Plain => "raw ordered replay",
            Shape::MessageId => "raw replay + Nats-Msg-Id",
            Shape::ExpectedSequence => "raw replay + expected subject seq",
            Shape::Guarantees => "raw replay + Msg-Id + expected seq",
            Shape::StoreEnvelope => "raw replay + the store's headers",
        }
    }

    fn message(self, payload: &Bytes) -> PublishMessage {
        let message = PublishMessage::build().payload(payload.clone());
        match self {
            Shape::Plain => message,
            Shape::MessageId => message.message_id(uuid::Uuid::now_v7().to_string()),
            Shape::ExpectedSequence => message.expected_last_subject_sequence(0),
            Shape::Guarantees => message
                .message_id(uuid::Uuid::now_v7().to_string())
                .expected_last_subject_sequence(0),
            Shape::StoreEnvelope => {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
                // As the store writes them: schema version 1 and the dealer (in
                // the subject) are left out.
                headers.insert(
                    "Aftercare-Event-Type",
                    aftercare_proto::event_types::intake::VISIT_RECORDED,
                );
                headers.insert(
                    "Aftercare-Occurred-At",
                    jiff::Timestamp::now().as_microsecond().to_string().as_str(),
                );
                headers.insert("Aftercare-Actor", "dms:bench");
                message.headers(headers).expected_last_subject_sequence(0)
            }
        }
    }
}

/// Publishes `n` messages of 200 bytes, `IN_FLIGHT` at a time, each to its own
/// subject (as every visit is its own aggregate) and each awaited to its PubAck.
pub async fn publish(
    js: &Context,
    stream: &mut Stream,
    n: u64,
    shape: Shape,
) -> anyhow::Result<Sample> {
    let payload = Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let before = stream
        .info()
        .await
        .context("BENCH_RAW info")?
        .state
        .last_sequence;
    let prefix = format!("bench.raw.{before}");
    let mut acks: FuturesUnordered<<PublishAckFuture as IntoFuture>::IntoFuture> =
        FuturesUnordered::new();
    let mut acked = 0u64;
    let watch = Stopwatch::start();
    for i in 0..n {
        if acks.len() >= IN_FLIGHT {
            let ack = acks.next().await.context("an ack in flight")?;
            check_ack(ack)?;
            acked += 1;
        }
        let ack = js
            .send_publish(format!("{prefix}.{i}"), shape.message(&payload))
            .await
            .context("publishing")?;
        acks.push(ack.into_future());
    }
    while let Some(ack) = acks.next().await {
        check_ack(ack)?;
        acked += 1;
    }
    let sample = watch.stop();
    ensure!(acked == n, "{acked} of {n} publishes acknowledged");
    let last = stream
        .info()
        .await
        .context("BENCH_RAW info")?
        .state
        .last_sequence;
    ensure!(
        last - before == n,
        "BENCH_RAW took {} messages, not {n}",
        last - before
    );
    Ok(sample)
}

/// Publishes `n` messages of 200 bytes with the two headers every append
/// needs (`Nats-Msg-Id`, expected subject sequence 0), each to its own subject,
/// as JetStream atomic batches of `batch` messages: one PubAck per batch, on
/// its commit, `in_flight` batches at a time. What grouping many aggregates'
/// first events into one batch can reach on this server.
pub async fn publish_atomic(
    js: &Context,
    stream: &mut Stream,
    n: u64,
    batch: usize,
    in_flight: usize,
) -> anyhow::Result<Sample> {
    let client = js.client();
    let payload = Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let before = last_sequence(stream).await?;
    let prefix = format!("bench.raw.{before}");
    let headers = |id: &str, seq: usize| {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
        h.insert("Nats-Expected-Last-Subject-Sequence", "0");
        h.insert("Nats-Batch-Id", id);
        h.insert("Nats-Batch-Sequence", seq.to_string().as_str());
        h
    };
    let mut acks = FuturesUnordered::new();
    let mut stored = 0u64;
    let watch = Stopwatch::start();
    let mut i = 0u64;
    while i < n {
        if acks.len() >= in_flight.max(1) {
            let (ack, size) = acks.next().await.context("a batch in flight")?;
            stored += batch_ack(ack, size)?;
        }
        let id = uuid::Uuid::now_v7().simple().to_string();
        let size = (n - i).min(batch as u64) as usize;
        for seq in 1..size {
            client
                .publish_with_headers(format!("{prefix}.{i}"), headers(&id, seq), payload.clone())
                .await
                .context("batch publish")?;
            i += 1;
        }
        let mut last = headers(&id, size);
        last.insert("Nats-Batch-Commit", "1");
        let ack = js
            .send_publish(
                format!("{prefix}.{i}"),
                PublishMessage::build()
                    .headers(last)
                    .payload(payload.clone()),
            )
            .await
            .context("batch commit")?;
        i += 1;
        acks.push(async move { (ack.await, size as u64) });
    }
    while let Some((ack, size)) = acks.next().await {
        stored += batch_ack(ack, size)?;
    }
    let sample = watch.stop();
    stored_all(stream, before, n, stored).await?;
    Ok(sample)
}

/// Publishes `n` messages like [`publish_atomic`] (200 bytes, `Nats-Msg-Id`,
/// expected subject sequence 0, each to its own subject) as the fast-ingest
/// batches of nats-server 2.14: the batch, its sequence and its commit are
/// named in the reply subject, the server paces the client with flow acks and
/// answers the commit once every message is stored. Not atomic: a message
/// that fails its check ends the batch with the ones before it stored, and a
/// duplicate is skipped without a word — measured for comparison only.
pub async fn publish_fast(
    js: &Context,
    stream: &mut Stream,
    n: u64,
    batch: usize,
    in_flight: usize,
) -> anyhow::Result<Sample> {
    let client = js.client();
    let payload = Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let before = last_sequence(stream).await?;
    let prefix = format!("bench.raw.{before}");
    let mut batches = FuturesUnordered::new();
    let mut stored = 0u64;
    let watch = Stopwatch::start();
    let mut i = 0u64;
    while i < n {
        if batches.len() >= in_flight.max(1) {
            stored += batches.next().await.context("a batch in flight")??;
        }
        let size = (n - i).min(batch as u64) as usize;
        batches.push(fast_batch(
            client.clone(),
            format!("{prefix}.{i}"),
            size,
            payload.clone(),
        ));
        i += size as u64;
    }
    while let Some(done) = batches.next().await {
        stored += done?;
    }
    let sample = watch.stop();
    stored_all(stream, before, n, stored).await?;
    Ok(sample)
}

/// Most messages the server may store before it acknowledges the flow.
const FAST_FLOW: u32 = 500;

/// One fast-ingest batch of `size` messages to `<subject>.<seq>`; the number
/// the commit's PubAck says were stored.
async fn fast_batch(
    client: async_nats::Client,
    subject: String,
    size: usize,
    payload: Bytes,
) -> anyhow::Result<u64> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let inbox = format!("_INBOX.fast.{id}");
    let mut replies = client
        .subscribe(format!("{inbox}.>"))
        .await
        .context("fast batch replies")?;
    // op: 0 start, 1 append, 2 commit with this message.
    let send = |seq: usize| {
        let op = if seq == size {
            2
        } else if seq == 1 {
            0
        } else {
            1
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
        headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
        client.publish_with_reply_and_headers(
            format!("{subject}.{seq}"),
            format!("{inbox}.{id}.{FAST_FLOW}.fail.{seq}.{op}.$FI"),
            headers,
            payload.clone(),
        )
    };
    let mut next = 1;
    // The start goes alone; the server's first flow ack says how far to go.
    let mut allowed = 1;
    loop {
        while next <= size && next <= allowed {
            send(next).await.context("fast batch publish")?;
            next += 1;
        }
        let reply = tokio::time::timeout(Duration::from_secs(10), replies.next())
            .await
            .context("no answer to a fast batch within 10 s")?
            .context("fast batch replies ended")?;
        let answer: serde_json::Value =
            serde_json::from_slice(&reply.payload).with_context(|| {
                format!(
                    "fast batch answer {:?}",
                    String::from_utf8_lossy(&reply.payload)
                )
            })?;
        match answer["type"].as_str() {
            Some("ack") => {
                let seq = answer["seq"].as_u64().context("flow ack seq")? as usize;
                let msgs = answer["msgs"].as_u64().context("flow ack msgs")? as usize;
                allowed = seq + msgs.max(1);
            }
            Some(other) => bail!("fast batch {other}: {answer}"),
            None if answer.get("error").is_some() => bail!("fast batch refused: {answer}"),
            None => {
                let count = answer["count"].as_u64().context("fast batch count")?;
                ensure!(
                    count == size as u64,
                    "fast batch stored {count} of {size}: {answer}"
                );
                return Ok(count);
            }
        }
    }
}

/// Every one of `n` messages committed and in the stream after `before`.
async fn stored_all(stream: &mut Stream, before: u64, n: u64, stored: u64) -> anyhow::Result<()> {
    ensure!(stored == n, "{stored} of {n} messages committed");
    let last = last_sequence(stream).await?;
    ensure!(
        last - before == n,
        "BENCH_RAW took {} messages, not {n}",
        last - before
    );
    Ok(())
}

/// The messages a batch's commit stored: all `size` of them, or an error.
fn batch_ack(
    ack: Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
    size: u64,
) -> anyhow::Result<u64> {
    let ack = ack.context("batch commit ack")?;
    if ack.stream != STREAM || ack.duplicate || ack.sequence == 0 {
        bail!("unexpected ack {ack:?}");
    }
    Ok(size)
}

fn check_ack(
    ack: Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
) -> anyhow::Result<()> {
    let ack = ack.context("publish ack")?;
    if ack.stream != STREAM || ack.duplicate || ack.sequence == 0 {
        bail!("unexpected ack {ack:?}");
    }
    Ok(())
}

/// Replays behind the replay baseline.
pub const REPLAY_RUNS: usize = 3;

/// The replay baseline: the median of `runs` replays. One replay of 100,000
/// messages takes about half a second, and single replays on a 2-core machine
/// spread widely (130k–240k/s seen), which would swing every ratio against it.
pub async fn replay_median(stream: &Stream, n: u64, runs: usize) -> anyhow::Result<Sample> {
    replay_median_from(stream, 1, n, runs).await
}

/// The median of `runs` replays of `n` messages from sequence `first`.
pub async fn replay_median_from(
    stream: &Stream,
    first: u64,
    n: u64,
    runs: usize,
) -> anyhow::Result<Sample> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        samples.push(replay_from(stream, first, n).await?);
    }
    samples.sort_by_key(|s| s.elapsed);
    Ok(samples.swap_remove(samples.len() / 2))
}

/// Replays the first `n` messages of the stream through an ordered consumer.
pub async fn replay(stream: &Stream, n: u64) -> anyhow::Result<Sample> {
    replay_from(stream, 1, n).await
}

/// The stream's last sequence: the next publish gets the one after it.
pub async fn last_sequence(stream: &mut Stream) -> anyhow::Result<u64> {
    Ok(stream
        .info()
        .await
        .context("stream info")?
        .state
        .last_sequence)
}

/// Replays `n` messages from sequence `first` through an ordered consumer,
/// checking that every sequence arrives once and in order.
pub async fn replay_from(stream: &Stream, first: u64, n: u64) -> anyhow::Result<Sample> {
    let watch = Stopwatch::start();
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: first,
            },
            ..Default::default()
        })
        .await
        .context("creating ordered consumer")?;
    let mut messages = consumer
        .messages()
        .await
        .context("starting ordered consumer")?
        .take(n as usize);
    let mut expected = first;
    while let Some(message) = messages.try_next().await.context("ordered consumer")? {
        let info = message
            .info()
            .map_err(|e| anyhow::anyhow!("message info: {e}"))?;
        ensure!(
            info.stream_sequence == expected,
            "got {} after {}",
            info.stream_sequence,
            expected - 1
        );
        ensure!(
            message.payload.len() == PAYLOAD_BYTES,
            "payload of {} bytes",
            message.payload.len()
        );
        expected += 1;
    }
    let sample = watch.stop();
    ensure!(
        expected - first == n,
        "replayed {} of {n}",
        expected - first
    );
    Ok(sample)
}
