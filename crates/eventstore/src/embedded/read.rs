//! Reading the log file: one aggregate's stream, and subscriptions that page through
//! history and then wait for the writer to move the head.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    DeadLetter, DealerId, EventData, EventStream, Filter, Metadata, Position, RecordedEvent,
    StoreError, StreamId,
};

const COLUMNS: &str = "position, event_id, dealer, aggregate, aggregate_id, event_type, \
    schema_version, occurred_at, correlation_id, causation_id, actor, traceparent, payload";
const PAGE: i64 = 2000;
/// Another process (a rebuild, a second server) may append to the same file; its
/// appends are seen within this interval even though no in-process signal arrives.
const POLL: Duration = Duration::from_millis(200);

pub(super) fn head(conn: &mut SqliteConnection) -> BoxFuture<'_, Result<Position, StoreError>> {
    Box::pin(async move {
        let max: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&mut *conn)
            .await?;
        Ok(Position(max.unwrap_or(0) as u64))
    })
}

pub(super) async fn dealer_progress(
    pool: &SqlitePool,
    dealers: &[DealerId],
    after: Position,
) -> Result<crate::DealerProgress, StoreError> {
    let mut progress = crate::DealerProgress::default();
    for dealer in dealers {
        let row =
            sqlx::query("SELECT max(position), sum(position > ?2) FROM events WHERE dealer = ?1")
                .bind(dealer.as_str())
                .bind(after.0 as i64)
                .fetch_one(pool)
                .await?;
        let last: Option<i64> = row.try_get(0)?;
        let later: Option<i64> = row.try_get(1)?;
        progress.last = progress.last.max(Position(last.unwrap_or(0) as u64));
        progress.after += later.unwrap_or(0) as u64;
    }
    Ok(progress)
}

pub(super) async fn stream(
    pool: &SqlitePool,
    stream: &StreamId,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE dealer = ? AND aggregate = ? AND aggregate_id = ? \
         ORDER BY version"
    );
    let rows = sqlx::query(&sql)
        .bind(stream.dealer().as_str())
        .bind(stream.aggregate())
        .bind(stream.id())
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

fn uuid_column(
    row: &SqliteRow,
    column: &str,
    position: Position,
) -> Result<Option<Uuid>, StoreError> {
    let bytes: Option<Vec<u8>> = row.try_get(column)?;
    bytes
        .map(|b| Uuid::from_slice(&b))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            position,
            reason: format!("{column}: {e}"),
        })
}

fn decode(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let position = Position(row.try_get::<i64, _>("position")? as u64);
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let stream = StreamId::new(
        DealerId::parse(row.try_get::<String, _>("dealer")?).map_err(|e| corrupt(e.to_string()))?,
        row.try_get::<String, _>("aggregate")?,
        row.try_get::<String, _>("aggregate_id")?,
    )
    .map_err(|e| corrupt(e.to_string()))?;
    let occurred_at = Timestamp::from_microsecond(row.try_get("occurred_at")?)
        .map_err(|e| corrupt(format!("occurred_at: {e}")))?;
    let data = EventData {
        event_id: uuid_column(row, "event_id", position)?
            .ok_or_else(|| corrupt("no event id".into()))?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get::<i64, _>("schema_version")? as u32,
        occurred_at,
        metadata: Metadata {
            correlation_id: uuid_column(row, "correlation_id", position)?,
            causation_id: uuid_column(row, "causation_id", position)?,
            actor: row.try_get("actor")?,
            traceparent: row.try_get("traceparent")?,
        },
        payload: Bytes::from(row.try_get::<Vec<u8>, _>("payload")?),
    };
    Ok(RecordedEvent {
        stream,
        position,
        data,
    })
}

/// `WHERE` clause and arguments for a filter, starting at a position.
fn filter_query(filter: &Filter, from: Position) -> (String, SqliteArguments<'static>) {
    let mut args = SqliteArguments::default();
    let mut sql = format!("SELECT {COLUMNS} FROM events WHERE position >= ?");
    let _ = args.add(from.0 as i64);
    let mut alternatives = Vec::new();
    for pattern in &filter.patterns {
        let mut terms = Vec::new();
        if let Some(dealer) = &pattern.dealer {
            terms.push("dealer = ?");
            let _ = args.add(dealer.as_str().to_owned());
        }
        if let Some(aggregate) = &pattern.aggregate {
            terms.push("aggregate = ?");
            let _ = args.add(aggregate.clone());
        }
        if terms.is_empty() {
            alternatives.clear();
            break;
        }
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    if !alternatives.is_empty() {
        sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
    }
    sql.push_str(" ORDER BY position LIMIT ?");
    let _ = args.add(PAGE);
    (sql, args)
}

struct Subscription {
    pool: SqlitePool,
    filter: Filter,
    next: Position,
    head: watch::Receiver<Position>,
    buffer: VecDeque<RecordedEvent>,
    /// An undecodable event, reported after the events before it.
    pending: Option<StoreError>,
    failed: bool,
}

impl Subscription {
    async fn next_event(&mut self) -> Option<Result<RecordedEvent, StoreError>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(event) = self.buffer.pop_front() {
                return Some(Ok(event));
            }
            if let Some(err) = self.pending.take() {
                return Some(Err(err));
            }
            // Mark the head seen before reading, so an append that lands after the
            // read wakes the wait below.
            self.head.borrow_and_update();
            let (sql, args) = filter_query(&self.filter, self.next);
            let rows = match sqlx::query_with(&sql, args).fetch_all(&self.pool).await {
                Ok(rows) => rows,
                Err(err) => {
                    self.failed = true;
                    return Some(Err(err.into()));
                }
            };
            if rows.is_empty() {
                let _ = tokio::time::timeout(POLL, self.head.changed()).await;
                continue;
            }
            for row in &rows {
                match decode(row) {
                    Ok(event) => {
                        self.next = event.position.next();
                        self.buffer.push_back(event);
                    }
                    Err(err) => {
                        // A corrupt event is reported and skipped; the rest of the
                        // page is read again from after it.
                        if let StoreError::Corrupt { position, .. } = &err {
                            self.next = position.next();
                        } else {
                            self.failed = true;
                        }
                        self.pending = Some(err);
                        break;
                    }
                }
            }
        }
    }
}

pub(super) fn subscribe(
    pool: SqlitePool,
    filter: Filter,
    from: Position,
    head: watch::Receiver<Position>,
) -> EventStream {
    let next = from.max(Position(1));
    let state = Subscription {
        pool,
        filter,
        next,
        head,
        buffer: VecDeque::new(),
        pending: None,
        failed: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        s.next_event().await.map(|e| (e, s))
    })
    .boxed()
}

pub(super) async fn dead_letters(
    pool: &SqlitePool,
    kind: Option<&str>,
) -> Result<Vec<DeadLetter>, StoreError> {
    let rows = sqlx::query(
        "SELECT dealer, kind, reason, source_position, source_event_id, payload, recorded_at \
         FROM dead_letters WHERE ?1 IS NULL OR kind = ?1 ORDER BY id",
    )
    .bind(kind)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let position = Position::ZERO;
            Ok(DeadLetter {
                dealer: DealerId::parse(row.try_get::<String, _>("dealer")?)?,
                kind: row.try_get("kind")?,
                reason: row.try_get("reason")?,
                source_position: row
                    .try_get::<Option<i64>, _>("source_position")?
                    .map(|p| Position(p as u64)),
                source_event_id: uuid_column(row, "source_event_id", position)?,
                payload: Bytes::from(row.try_get::<Vec<u8>, _>("payload")?),
                recorded_at: Timestamp::from_microsecond(row.try_get("recorded_at")?)
                    .unwrap_or_default(),
            })
        })
        .collect()
}
