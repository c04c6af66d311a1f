//! The single writer of the log file. Appends queue up while a transaction commits
//! and the next transaction takes them all (group commit), so many concurrent
//! appends cost one fsync, while each is still checked on its own.

use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot, watch};

use super::MAX_GROUP;
use crate::{AppendRequest, Appended, DeadLetter, Position, StoreError, check_event};

pub(super) enum WriteJob {
    Append(AppendRequest, oneshot::Sender<Result<Appended, StoreError>>),
    Batch(
        Vec<AppendRequest>,
        oneshot::Sender<Vec<Result<Appended, StoreError>>>,
    ),
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

/// Runs one group in one transaction and answers every job after the commit
/// (or with the failure, when the transaction does not commit).
async fn commit_group(
    conn: &mut SqliteConnection,
    group: Vec<WriteJob>,
    head: &watch::Sender<Position>,
) {
    // Every append of the group, in arrival order; each job remembers its slice.
    let mut requests = Vec::new();
    let mut letters = Vec::new();
    let mut replies = Vec::new();
    for job in group {
        match job {
            WriteJob::Append(request, reply) => {
                replies.push(Reply::One(reply, requests.len()));
                requests.push(request);
            }
            WriteJob::Batch(batch, reply) => {
                let start = requests.len();
                requests.extend(batch);
                replies.push(Reply::Many(reply, start..requests.len()));
            }
            WriteJob::DeadLetter(letter, reply) => {
                letters.push(letter);
                replies.push(Reply::Letter(reply));
            }
            WriteJob::Close(_) => unreachable!("close jobs are split off before the group"),
        }
    }
    match write_group(conn, &requests, &letters).await {
        Ok(answers) => {
            let last = answers
                .iter()
                .flatten()
                .map(|a| a.position)
                .max()
                .unwrap_or_default();
            head.send_if_modified(|h| {
                let moved = last > *h;
                *h = last.max(*h);
                moved
            });
            let mut answers: Vec<Option<Result<Appended, StoreError>>> =
                answers.into_iter().map(Some).collect();
            let mut take = |i: usize| answers[i].take().expect("each answer is taken once");
            for reply in replies {
                match reply {
                    Reply::One(reply, i) => drop(reply.send(take(i))),
                    Reply::Many(reply, range) => drop(reply.send(range.map(&mut take).collect())),
                    Reply::Letter(reply) => drop(reply.send(Ok(()))),
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "embedded event log commit failed");
            let failed = || StoreError::Unavailable(format!("commit failed: {err}"));
            for reply in replies {
                match reply {
                    Reply::One(reply, _) => drop(reply.send(Err(failed()))),
                    Reply::Many(reply, range) => {
                        drop(reply.send(range.map(|_| Err(failed())).collect()))
                    }
                    Reply::Letter(reply) => drop(reply.send(Err(failed()))),
                }
            }
        }
    }
}

enum Reply {
    One(oneshot::Sender<Result<Appended, StoreError>>, usize),
    Many(
        oneshot::Sender<Vec<Result<Appended, StoreError>>>,
        std::ops::Range<usize>,
    ),
    Letter(oneshot::Sender<Result<(), StoreError>>),
}

async fn write_group(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
    letters: &[DeadLetter],
) -> Result<Vec<Result<Appended, StoreError>>, sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let answers = super::decide::append_all(&mut tx, requests).await?;
    for letter in letters {
        insert_dead_letter(&mut tx, letter).await?;
    }
    tx.commit().await?;
    Ok(answers)
}

async fn insert_dead_letter(
    conn: &mut SqliteConnection,
    letter: &DeadLetter,
) -> Result<(), sqlx::Error> {
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
