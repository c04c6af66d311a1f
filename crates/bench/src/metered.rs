//! Where a rebuild's time goes: an event store that times its subscription
//! (fetching and decoding events, in the runner's reader task, alongside the
//! writes) and a projection that times its batches (the database work of each
//! transaction) and its finishing step.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use aftercare_eventstore::{
    AppendRequest, Appended, DeadLetter, EventData, EventStore, EventStream, Expected, Filter,
    Position, RecordedEvent, StoreError, StreamEvents, StreamId,
};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use futures::Stream;
use serde::Serialize;
use sqlx::AnyConnection;

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RebuildProfile {
    /// Inside the subscription's `poll_next`: fetching and decoding events. The
    /// reader runs alongside the writes, so this overlaps `applying_seconds`.
    pub reading_seconds: f64,
    /// Inside the projection's `apply`: the database work of the batches.
    pub applying_seconds: f64,
    /// The projection's `after_replay` (restoring indexes, recounting).
    pub finishing_seconds: f64,
    /// Batches applied, one transaction each.
    pub batches: u64,
    pub events: u64,
}

#[derive(Clone, Default)]
pub struct Meter {
    profile: Arc<Mutex<RebuildProfile>>,
}

impl Meter {
    pub fn profile(&self) -> RebuildProfile {
        *self.profile.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, f: impl FnOnce(&mut RebuildProfile)) {
        f(&mut self.profile.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn store(&self, inner: Arc<dyn EventStore>) -> Arc<dyn EventStore> {
        Arc::new(MeteredStore {
            inner,
            meter: self.clone(),
        })
    }

    pub fn projection(&self, inner: Arc<dyn Projection>) -> Arc<dyn Projection> {
        Arc::new(MeteredProjection {
            inner,
            meter: self.clone(),
        })
    }
}

struct MeteredStore {
    inner: Arc<dyn EventStore>,
    meter: Meter,
}

struct Timed {
    inner: EventStream,
    meter: Meter,
}

impl Stream for Timed {
    type Item = Result<RecordedEvent, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let start = Instant::now();
        let result = self.inner.as_mut().poll_next(cx);
        let spent = start.elapsed().as_secs_f64();
        let got = u64::from(matches!(result, Poll::Ready(Some(Ok(_)))));
        self.meter.add(|p| {
            p.reading_seconds += spent;
            p.events += got;
        });
        result
    }
}

#[async_trait]
impl EventStore for MeteredStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: Expected,
        events: Vec<EventData>,
    ) -> Result<Appended, StoreError> {
        self.inner.append(stream, expected, events).await
    }

    async fn append_batch(&self, batch: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        self.inner.append_batch(batch).await
    }

    async fn dealer_progress(
        &self,
        dealers: &[aftercare_eventstore::DealerId],
        after: Position,
    ) -> Result<aftercare_eventstore::DealerProgress, StoreError> {
        self.inner.dealer_progress(dealers, after).await
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<StreamEvents, StoreError> {
        self.inner.read_stream(stream).await
    }

    async fn subscribe(&self, filter: &Filter, from: Position) -> Result<EventStream, StoreError> {
        let inner = self.inner.subscribe(filter, from).await?;
        Ok(Box::pin(Timed {
            inner,
            meter: self.meter.clone(),
        }))
    }

    async fn head(&self) -> Result<Position, StoreError> {
        self.inner.head().await
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        self.inner.dead_letter(letter).await
    }

    async fn dead_letters(&self, kind: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.dead_letters(kind).await
    }
}

struct MeteredProjection {
    inner: Arc<dyn Projection>,
    meter: Meter,
}

#[async_trait]
impl Projection for MeteredProjection {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn filter(&self) -> Filter {
        self.inner.filter()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        self.inner.reset(tx).await
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let start = Instant::now();
        let result = self.inner.apply(tx, events).await;
        let spent = start.elapsed().as_secs_f64();
        self.meter.add(|p| {
            p.applying_seconds += spent;
            p.batches += 1;
        });
        result
    }

    async fn before_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        self.inner.before_replay(tx).await
    }

    fn replay_batch_size(&self) -> Option<usize> {
        self.inner.replay_batch_size()
    }

    async fn after_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let start = Instant::now();
        let result = self.inner.after_replay(tx).await;
        let spent = start.elapsed().as_secs_f64();
        self.meter.add(|p| p.finishing_seconds += spent);
        result
    }
}
