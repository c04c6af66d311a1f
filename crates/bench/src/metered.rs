//! An event store that times how the projection runner spends a rebuild: waiting
//! for events, inside the subscription (fetching and decoding), or in its own
//! work between two reads (the database transaction), and how many events each
//! transaction got.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aftercare_eventstore::{
    AppendRequest, Appended, DeadLetter, EventData, EventStore, EventStream, Expected, Filter,
    Position, RecordedEvent, StoreError, StreamId,
};
use async_trait::async_trait;
use futures::Stream;
use serde::Serialize;

/// A pause after an item longer than this is the runner's work, not stream overhead.
const WORK_GAP: Duration = Duration::from_micros(100);

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RebuildProfile {
    /// The runner waited for the next event to arrive.
    pub waiting_seconds: f64,
    /// Inside the subscription's `poll_next`: fetching and decoding events.
    pub reading_seconds: f64,
    /// Between reads after an event: the runner applying a batch.
    pub applying_seconds: f64,
    /// Batches handed to the runner.
    pub batches: u64,
    pub events: u64,
}

pub struct Metered {
    inner: Arc<dyn EventStore>,
    profile: Arc<Mutex<RebuildProfile>>,
}

impl Metered {
    pub fn new(inner: Arc<dyn EventStore>) -> Self {
        Self {
            inner,
            profile: Arc::default(),
        }
    }

    pub fn profile(&self) -> RebuildProfile {
        *self.profile.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Timed {
    inner: EventStream,
    profile: Arc<Mutex<RebuildProfile>>,
    last_end: Option<(Instant, bool)>,
    /// Events read since the runner last took a batch.
    unbatched: u64,
}

impl Stream for Timed {
    type Item = Result<RecordedEvent, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let start = Instant::now();
        let result = self.inner.as_mut().poll_next(cx);
        let end = Instant::now();
        let last = self.last_end;
        let got_item = matches!(result, Poll::Ready(Some(_)));
        // `ready_chunks` hands the runner a batch when it is full (the next read
        // comes late after an event) or when the stream is pending with events
        // buffered; a pending stream with nothing buffered is waiting.
        let mut unbatched = self.unbatched;
        {
            let mut p = self.profile.lock().unwrap_or_else(PoisonError::into_inner);
            p.reading_seconds += (end - start).as_secs_f64();
            if let Some((at, after_item)) = last {
                let gap = (start - at).as_secs_f64();
                let handed_over = if after_item {
                    start - at > WORK_GAP
                } else {
                    unbatched > 0
                };
                if handed_over {
                    p.applying_seconds += gap;
                    p.batches += 1;
                    unbatched = 0;
                } else if !after_item {
                    p.waiting_seconds += gap;
                }
            }
            p.events += u64::from(got_item);
        }
        self.unbatched = unbatched + u64::from(got_item);
        self.last_end = Some((end, got_item));
        result
    }
}

#[async_trait]
impl EventStore for Metered {
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

    async fn read_stream(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream).await
    }

    async fn subscribe(&self, filter: &Filter, from: Position) -> Result<EventStream, StoreError> {
        let inner = self.inner.subscribe(filter, from).await?;
        Ok(Box::pin(Timed {
            inner,
            profile: self.profile.clone(),
            last_end: None,
            unbatched: 0,
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
