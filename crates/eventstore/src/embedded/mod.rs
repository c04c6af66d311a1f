//! The embedded backend: the event log in one SQLite file, for a single dealer on
//! one machine and for `make run`. Same semantics as JetStream: a global position,
//! per-aggregate optimistic concurrency, live subscriptions. An append returns only
//! after its transaction is committed with `synchronous = FULL` (on disk).

mod decide;
mod read;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    AppendRequest, Appended, DeadLetter, EventData, EventStore, EventStream, Expected, Filter,
    Position, StoreError, StreamEvents, StreamId,
};
use writer::WriteJob;

/// How many queued appends one transaction takes at most (group commit).
const MAX_GROUP: usize = 4096;

#[derive(Clone)]
pub struct EmbeddedStore {
    path: PathBuf,
    reads: SqlitePool,
    writer: mpsc::Sender<WriteJob>,
    head: watch::Receiver<Position>,
}

impl EmbeddedStore {
    /// Opens (creating when missing) the log file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let mut conn = writer::connect(&options).await?;
        schema::migrate(&mut conn).await?;
        let head = read::head(&mut conn).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let (head_tx, head_rx) = watch::channel(head);
        let (jobs_tx, jobs_rx) = mpsc::channel(MAX_GROUP);
        tokio::spawn(writer::run(conn, jobs_rx, head_tx));
        tracing::debug!(path = %path.display(), %head, "embedded event log opened");
        Ok(Self {
            path,
            reads,
            writer: jobs_tx,
            head: head_rx,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the writer and closes the file; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.writer.send(WriteJob::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.reads.close().await;
    }

    async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<T>) -> WriteJob,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writer.send(job(tx)).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the embedded event log is closed".to_owned())
}

#[async_trait]
impl EventStore for EmbeddedStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: Expected,
        events: Vec<EventData>,
    ) -> Result<Appended, StoreError> {
        let request = AppendRequest {
            stream: stream.clone(),
            expected,
            events,
        };
        writer::validate(&request)?;
        self.submit(|reply| WriteJob::Append(request, reply))
            .await?
    }

    async fn append_batch(&self, batch: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        let count = batch.len();
        match self.submit(|reply| WriteJob::Batch(batch, reply)).await {
            Ok(results) => results,
            Err(_) => (0..count).map(|_| Err(closed())).collect(),
        }
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<StreamEvents, StoreError> {
        // Only the store writes the log file: everything in it is an event.
        read::stream(&self.reads, stream)
            .await
            .map(StreamEvents::from)
    }

    async fn subscribe(&self, filter: &Filter, from: Position) -> Result<EventStream, StoreError> {
        filter.validate()?;
        Ok(read::subscribe(
            self.reads.clone(),
            filter.clone(),
            from,
            self.head.clone(),
        ))
    }

    async fn head(&self) -> Result<Position, StoreError> {
        let mut conn = self.reads.acquire().await?;
        read::head(&mut conn).await
    }

    async fn dealer_progress(
        &self,
        dealers: &[crate::DealerId],
        after: Position,
    ) -> Result<crate::DealerProgress, StoreError> {
        read::dealer_progress(&self.reads, dealers, after).await
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        crate::model::check_token("kind", &letter.kind, 128)?;
        self.submit(|reply| WriteJob::DeadLetter(letter, reply))
            .await?
    }

    async fn dead_letters(&self, kind: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        read::dead_letters(&self.reads, kind).await
    }
}

#[cfg(test)]
fn _open_is_send() {
    fn is_send<T: Send>(_: T) {}
    is_send(EmbeddedStore::open("x"));
}
