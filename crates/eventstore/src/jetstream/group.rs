//! Group commit: single-event appends that arrive while earlier flushes are
//! waiting for the disk are gathered into the next flush, one JetStream atomic
//! batch of many aggregates' events. Every event keeps its own check (its
//! `Nats-Msg-Id` and its expected subject sequence, "must not exist" for a
//! first event), the server checks them all under one lock when the batch
//! commits, and one PubAck covers the batch, so `sync_interval: always` costs
//! one flush to disk per batch instead of one per event.
//!
//! An append alone goes out at once, as one publish: grouping adds no wait.
//! A batch the server refuses as a whole (one event's conflict, a duplicate)
//! or that fails half way (the broker stopped mid-flush) is retried event by
//! event, so each caller gets its own answer — stored at its position,
//! conflicting, already stored, or unavailable — and none is answered before
//! its event is durable.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::jetstream::message::PublishMessage;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{JetStreamStore, codec, publish, unavailable};
use crate::{EventData, Position, StoreError, StreamId};

/// Flushes waiting for their PubAck at once: while one commits, the next
/// gathers what arrives. A batch costs the server a good deal on its own (with
/// fsync on every write, `make bench --suite scale` measured batches of 10
/// events at 1,380 events/s, of 100 at 8,172/s and of 500 at 19,540/s), so a
/// few large batches go faster than many small ones.
const FLUSHES_IN_FLIGHT: usize = 2;

/// Appends waiting for a flush before callers wait to enqueue.
const QUEUE: usize = 8192;

/// What group commit has done since the store connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Flushes of more than one append (atomic batches committed or tried).
    pub batches: u64,
    /// Appends that went out in those batches.
    pub grouped: u64,
    /// Batches refused or failed as a whole, whose appends were then retried
    /// one by one.
    pub retried_alone: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    grouped: AtomicU64,
    retried_alone: AtomicU64,
}

struct Pending {
    stream: StreamId,
    subject: String,
    event: EventData,
    expected: Option<u64>,
    answer: oneshot::Sender<Result<Position, StoreError>>,
}

/// The queue single-event appends go through, and its flusher.
pub(super) struct Committer {
    queue: mpsc::Sender<Pending>,
    counters: Arc<Counters>,
}

impl Committer {
    /// Starts the flusher on `direct`, a store that publishes without grouping.
    /// It ends when the last handle to the committer is dropped.
    pub(super) fn start(direct: JetStreamStore, max_batch: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(
            direct,
            receiver,
            max_batch.clamp(1, publish::MAX_ATOMIC_EVENTS),
            counters.clone(),
        ));
        Self { queue, counters }
    }

    /// Appends one event, answered once it is durable (or refused).
    pub(super) async fn append(
        &self,
        stream: &StreamId,
        subject: String,
        event: EventData,
        expected: Option<u64>,
    ) -> Result<Position, StoreError> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            stream: stream.clone(),
            subject,
            event,
            expected,
            answer,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| StoreError::Unavailable("the group commit flusher has stopped".into()))?;
        answered.await.map_err(|_| {
            StoreError::Unavailable("the group commit flusher dropped an append".into())
        })?
    }

    pub(super) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            grouped: self.counters.grouped.load(Ordering::Relaxed),
            retried_alone: self.counters.retried_alone.load(Ordering::Relaxed),
        }
    }
}

/// Gathers a flush from what is waiting, at most one event per subject (the
/// server checks an event's expected sequence against the stream before the
/// batch, so a second event of the same aggregate waits for the next flush).
fn gather(
    first: Pending,
    held: &mut VecDeque<Pending>,
    queue: &mut mpsc::Receiver<Pending>,
    max_batch: usize,
) -> Vec<Pending> {
    let mut subjects = HashSet::from([first.subject.clone()]);
    let mut flush = vec![first];
    let mut later = VecDeque::new();
    while let Some(p) = held.pop_front() {
        if flush.len() < max_batch && subjects.insert(p.subject.clone()) {
            flush.push(p);
        } else {
            later.push_back(p);
        }
    }
    while flush.len() < max_batch {
        let Ok(p) = queue.try_recv() else { break };
        if subjects.insert(p.subject.clone()) {
            flush.push(p);
        } else {
            later.push_back(p);
        }
    }
    *held = later;
    flush
}

async fn run(
    direct: JetStreamStore,
    mut queue: mpsc::Receiver<Pending>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let permits = Arc::new(Semaphore::new(FLUSHES_IN_FLIGHT));
    let mut held: VecDeque<Pending> = VecDeque::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let first = match held.pop_front() {
            Some(p) => p,
            None => match queue.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let flush = gather(first, &mut held, &mut queue, max_batch);
        let (direct, counters) = (direct.clone(), counters.clone());
        tokio::spawn(async move {
            direct.flush(flush, &counters).await;
            drop(permit);
        });
    }
}

impl JetStreamStore {
    async fn flush(&self, mut flush: Vec<Pending>, counters: &Counters) {
        if flush.len() == 1 {
            self.alone(flush.pop().expect("one append")).await;
            return;
        }
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .grouped
            .fetch_add(flush.len() as u64, Ordering::Relaxed);
        // The batch's publishes wait for the connection's buffer when the
        // broker is away: the whole batch gets the PubAck's time, no more.
        let committed = tokio::time::timeout(self.config.ack_timeout, self.publish_group(&flush))
            .await
            .unwrap_or_else(|_| {
                Err(GroupFailure::Unavailable(format!(
                    "no PubAck for a batch of {} events within {:?}",
                    flush.len(),
                    self.config.ack_timeout
                )))
            });
        match committed {
            Ok(last) => {
                // The batch's events take the sequences before its commit, in order.
                let n = flush.len() as u64;
                for (i, p) in flush.into_iter().enumerate() {
                    let _ = p.answer.send(Ok(Position(last - (n - 1 - i as u64))));
                }
            }
            // The broker did not answer: the batch may or may not have been
            // committed, as with any publish whose PubAck is lost. Each caller
            // hears so and sends its event again (the same event id: a repeat
            // that did land is found, never stored twice).
            Err(GroupFailure::Unavailable(reason)) => {
                for p in flush {
                    let _ = p.answer.send(Err(StoreError::Unavailable(reason.clone())));
                }
            }
            Err(GroupFailure::Refused(reason)) => {
                tracing::debug!(%reason, appends = flush.len(), "group commit refused; each append on its own");
                counters.retried_alone.fetch_add(1, Ordering::Relaxed);
                futures::future::join_all(flush.into_iter().map(|p| self.alone(p))).await;
            }
        }
    }

    /// One append published on its own, answered within the PubAck's time.
    async fn alone(&self, p: Pending) {
        let result = tokio::time::timeout(
            self.config.ack_timeout,
            self.publish(&p.stream, &p.subject, &p.event, p.expected),
        )
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "no PubAck within {:?}",
                self.config.ack_timeout
            )))
        });
        let _ = p.answer.send(result);
    }

    /// One atomic batch of many aggregates' events: the sequence of the last
    /// when the server committed all of them; refused when it stored none.
    async fn publish_group(&self, flush: &[Pending]) -> Result<u64, GroupFailure> {
        let batch = uuid::Uuid::now_v7().simple().to_string();
        let headers = |i: usize, p: &Pending| {
            let mut headers = codec::event_headers(&p.event);
            headers.insert(publish::BATCH_ID, batch.as_str());
            headers.insert(publish::BATCH_SEQUENCE, (i + 1).to_string().as_str());
            if let Some(seq) = p.expected {
                headers.insert(
                    publish::EXPECTED_LAST_SUBJECT_SEQUENCE,
                    seq.to_string().as_str(),
                );
            }
            headers
        };
        let (last, rest) = flush.split_last().expect("more than one append");
        for (i, p) in rest.iter().enumerate() {
            self.client
                .publish_with_headers(p.subject.clone(), headers(i, p), p.event.payload.clone())
                .await
                .map_err(|e| GroupFailure::Unavailable(format!("batch publish: {e}")))?;
        }
        let mut commit = headers(rest.len(), last);
        commit.insert(publish::BATCH_COMMIT, "1");
        let message = PublishMessage::build()
            .headers(commit)
            .payload(last.event.payload.clone());
        let ack = match self.js.send_publish(last.subject.clone(), message).await {
            Ok(ack) => ack.await,
            Err(err) => Err(err),
        };
        match ack {
            Ok(ack) => Ok(ack.sequence),
            Err(err) if publish::wrong_last_sequence(&err) => Err(GroupFailure::Refused(
                "an event's expected sequence did not hold".to_owned(),
            )),
            // The server answered with an error (a duplicate event, a limit):
            // it stored nothing.
            Err(err) if publish::jetstream_code(&err).is_some() => {
                Err(GroupFailure::Refused(err.to_string()))
            }
            Err(err) => Err(GroupFailure::Unavailable(
                unavailable("batch commit", err).to_string(),
            )),
        }
    }
}

/// Why a group was not committed.
enum GroupFailure {
    /// The server stored none of it: each append goes again on its own.
    Refused(String),
    /// No answer: whether it was stored is not known.
    Unavailable(String),
}
