//! The single writer of the log file. Appends queue up while a transaction commits
//! and the next transaction takes them all (group commit), so many concurrent
//! appends cost one fsync, while each is still checked on its own.

use std::collections::HashMap;

use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row, SqliteConnection};
use tokio::sync::{mpsc, oneshot, watch};

use super::MAX_GROUP;
use crate::{
    AppendRequest, Appended, DeadLetter, Expected, Position, StoreError, StreamId, check_event,
};

pub(super) enum WriteJob {
    Append(AppendRequest, oneshot::Sender<Result<Appended, StoreError>>),
    Batch(Vec<AppendRequest>, oneshot::Sender<Vec<Result<Appended, StoreError>>>),
    DeadLetter(DeadLetter, oneshot::Sender<Result<(), StoreError>>),
    Close(oneshot::Sender<()>),
}

// Boxed so the compiler proves `Send` here, with concrete lifetimes, rather than in
// every caller (sqlx's executor impls trip its higher-ranked inference otherwise).
pub(super) fn connect(
    options: &SqliteConnectOptions,
) -> BoxFuture<'_, Result<SqliteConnection, StoreError>> {
    Box::pin(async move { Ok(SqliteConnection::connect_with(options).await?) })
}

pub(super) fn validate(request: &AppendRequest) -> Result<(), StoreError> {
    if request.events.is_empty() {
        return Err(StoreError::InvalidInput {
            field: "events",
            reason: "an append needs at least one event".to_owned(),
        });
    }
    request.events.iter().try_for_each(check_event)
}

/// The writer task: runs until closed or until every handle is dropped.
pub(super) async fn run(
    mut conn: SqliteConnection,
    mut jobs: mpsc::Receiver<WriteJob>,
    head: watch::Sender<Position>,
) {
    let mut group = Vec::new();
    while let Some(first) = jobs.recv().await {
        group.push(first);
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let close = group.iter().position(|j| matches!(j, WriteJob::Close(_)));
        let rest = close.map(|at| group.split_off(at));
        commit_group(&mut conn, std::mem::take(&mut group), &head).await;
        if let Some(rest) = rest {
            jobs.close();
            let _ = conn.close().await;
            for job in rest.into_iter().chain(drain(&mut jobs)) {
                if let WriteJob::Close(done) = job {
                    let _ = done.send(());
                }
                // Other jobs are dropped: their callers see the log closed.
            }
            return;
        }
    }
}

fn drain(jobs: &mut mpsc::Receiver<WriteJob>) -> Vec<WriteJob> {
    std::iter::from_fn(|| jobs.try_recv().ok()).collect()
}

/// What one job decided inside the transaction, delivered after the commit.
enum Outcome {
    Append(oneshot::Sender<Result<Appended, StoreError>>, Result<Appended, StoreError>),
    Batch(oneshot::Sender<Vec<Result<Appended, StoreError>>>, Vec<Result<Appended, StoreError>>),
    DeadLetter(oneshot::Sender<Result<(), StoreError>>),
}

async fn commit_group(
    conn: &mut SqliteConnection,
    group: Vec<WriteJob>,
    head: &watch::Sender<Position>,
) {
    if group.is_empty() {
        return;
    }
    let result = write_group(conn, group).await;
    match result {
        Ok((outcomes, new_head)) => {
            head.send_if_modified(|h| {
                let moved = new_head > *h;
                *h = new_head.max(*h);
                moved
            });
            for outcome in outcomes {
                match outcome {
                    Outcome::Append(reply, result) => drop(reply.send(result)),
                    Outcome::Batch(reply, results) => drop(reply.send(results)),
                    Outcome::DeadLetter(reply) => drop(reply.send(Ok(()))),
                }
            }
        }
        Err((outcomes, err)) => {
            tracing::error!(error = %err, "embedded event log commit failed");
            let failed = || StoreError::Unavailable(format!("commit failed: {err}"));
            for outcome in outcomes {
                match outcome {
                    Outcome::Append(reply, _) => drop(reply.send(Err(failed()))),
                    Outcome::Batch(reply, results) => {
                        drop(reply.send(results.iter().map(|_| Err(failed())).collect()))
                    }
                    Outcome::DeadLetter(reply) => drop(reply.send(Err(failed()))),
                }
            }
        }
    }
}

type GroupResult = Result<(Vec<Outcome>, Position), (Vec<Outcome>, sqlx::Error)>;

async fn write_group(conn: &mut SqliteConnection, group: Vec<WriteJob>) -> GroupResult {
    let mut outcomes = Vec::with_capacity(group.len());
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(err) => {
            // Nothing was decided; answer every job with the failure.
            for job in group {
                outcomes.push(undecided(job));
            }
            return Err((outcomes, err));
        }
    };
    let mut heads = StreamHeads::default();
    let mut last = Position::ZERO;
    let mut failure = None;
    for job in group {
        if failure.is_some() {
            outcomes.push(undecided(job));
            continue;
        }
        let outcome = match job {
            WriteJob::Append(request, reply) => {
                match append_one(&mut tx, &mut heads, request).await {
                    Ok(result) => Outcome::Append(reply, result),
                    Err(err) => {
                        failure = Some(err);
                        Outcome::Append(reply, Err(StoreError::Unavailable(String::new())))
                    }
                }
            }
            WriteJob::Batch(requests, reply) => {
                let count = requests.len();
                let mut results = Vec::with_capacity(count);
                for request in requests {
                    match append_one(&mut tx, &mut heads, request).await {
                        Ok(result) => results.push(result),
                        Err(err) => {
                            failure = Some(err);
                            break;
                        }
                    }
                }
                results.resize_with(count, || Err(StoreError::Unavailable(String::new())));
                Outcome::Batch(reply, results)
            }
            WriteJob::DeadLetter(letter, reply) => {
                if let Err(err) = insert_dead_letter(&mut tx, &letter).await {
                    failure = Some(err);
                }
                Outcome::DeadLetter(reply)
            }
            WriteJob::Close(_) => unreachable!("close jobs are split off before the group"),
        };
        if let Outcome::Append(_, Ok(a)) = &outcome {
            last = last.max(a.position);
        }
        if let Outcome::Batch(_, results) = &outcome {
            last = results.iter().flatten().map(|a| a.position).fold(last, Position::max);
        }
        outcomes.push(outcome);
    }
    if let Some(err) = failure {
        let _ = tx.rollback().await;
        return Err((outcomes, err));
    }
    match tx.commit().await {
        Ok(()) => Ok((outcomes, last)),
        Err(err) => Err((outcomes, err)),
    }
}

fn undecided(job: WriteJob) -> Outcome {
    match job {
        WriteJob::Append(_, reply) => Outcome::Append(reply, Err(StoreError::Unavailable(String::new()))),
        WriteJob::Batch(requests, reply) => Outcome::Batch(reply, requests.iter().map(|_| Err(StoreError::Unavailable(String::new()))).collect()),
        WriteJob::DeadLetter(_, reply) => Outcome::DeadLetter(reply),
        WriteJob::Close(_) => unreachable!("close jobs are split off before the group"),
    }
}

/// The last position and version of each stream touched in this transaction.
#[derive(Default)]
struct StreamHeads(HashMap<StreamId, (Position, i64)>);

impl StreamHeads {
    async fn get(
        &mut self,
        conn: &mut SqliteConnection,
        stream: &StreamId,
    ) -> Result<(Position, i64), sqlx::Error> {
        if let Some(head) = self.0.get(stream) {
            return Ok(*head);
        }
        let row = sqlx::query(
            "SELECT position, version FROM events \
             WHERE dealer = ? AND aggregate = ? AND aggregate_id = ? \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(stream.dealer().as_str())
        .bind(stream.aggregate())
        .bind(stream.id())
        .fetch_optional(&mut *conn)
        .await?;
        let head = match row {
            Some(row) => (Position(row.get::<i64, _>(0) as u64), row.get::<i64, _>(1)),
            None => (Position::ZERO, 0),
        };
        self.0.insert(stream.clone(), head);
        Ok(head)
    }
}

/// Decides and writes one append. The outer error is an I/O failure that aborts the
/// whole transaction; the inner result is this append's own answer.
async fn append_one(
    conn: &mut SqliteConnection,
    heads: &mut StreamHeads,
    request: AppendRequest,
) -> Result<Result<Appended, StoreError>, sqlx::Error> {
    if let Err(err) = validate(&request) {
        return Ok(Err(err));
    }
    if let Some(answer) = already_appended(conn, &request).await? {
        return Ok(answer);
    }
    let (current, mut version) = heads.get(conn, &request.stream).await?;
    let holds = match request.expected {
        Expected::Any => true,
        Expected::NoStream => current == Position::ZERO,
        Expected::Version(v) => current == v,
    };
    if !holds {
        return Ok(Err(StoreError::Conflict {
            stream: request.stream,
            expected: request.expected,
            current,
        }));
    }
    let mut position = current;
    let stream = &request.stream;
    for event in &request.events {
        version += 1;
        let meta = &event.metadata;
        let done = sqlx::query(
            "INSERT INTO events (event_id, dealer, aggregate, aggregate_id, version, event_type, \
             schema_version, occurred_at, correlation_id, causation_id, actor, traceparent, payload) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.event_id.as_bytes().as_slice())
        .bind(stream.dealer().as_str())
        .bind(stream.aggregate())
        .bind(stream.id())
        .bind(version)
        .bind(&event.event_type)
        .bind(i64::from(event.schema_version))
        .bind(event.occurred_at.as_microsecond())
        .bind(meta.correlation_id.map(|u| u.as_bytes().to_vec()))
        .bind(meta.causation_id.map(|u| u.as_bytes().to_vec()))
        .bind(&meta.actor)
        .bind(meta.traceparent.as_deref())
        .bind(event.payload.as_ref())
        .execute(&mut *conn)
        .await?;
        position = Position(done.last_insert_rowid() as u64);
    }
    heads.0.insert(request.stream.clone(), (position, version));
    Ok(Ok(Appended { position }))
}

/// A retried append (same event ids) is answered with where it landed the first
/// time, like JetStream's duplicate detection, but for ever.
async fn already_appended(
    conn: &mut SqliteConnection,
    request: &AppendRequest,
) -> Result<Option<Result<Appended, StoreError>>, sqlx::Error> {
    let mut found = Vec::new();
    for event in &request.events {
        let row = sqlx::query("SELECT position FROM events WHERE event_id = ?")
            .bind(event.event_id.as_bytes().as_slice())
            .fetch_optional(&mut *conn)
            .await?;
        found.push(row.map(|r| Position(r.get::<i64, _>(0) as u64)));
    }
    if found.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(positions) = found.iter().copied().collect::<Option<Vec<_>>>() {
        let position = positions.into_iter().max().unwrap_or_default();
        return Ok(Some(Ok(Appended { position })));
    }
    Ok(Some(Err(StoreError::InvalidInput {
        field: "event_id",
        reason: "some of these event ids are already in the log and some are not".to_owned(),
    })))
}

async fn insert_dead_letter(conn: &mut SqliteConnection, letter: &DeadLetter) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letters (dealer, kind, reason, source_position, source_event_id, payload, recorded_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(letter.dealer.as_str())
    .bind(&letter.kind)
    .bind(&letter.reason)
    .bind(letter.source_position.map(|p| p.0 as i64))
    .bind(letter.source_event_id.map(|u| u.as_bytes().to_vec()))
    .bind(letter.payload.as_ref())
    .bind(letter.recorded_at.as_microsecond())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
