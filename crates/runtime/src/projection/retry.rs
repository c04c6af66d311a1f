//! Dead letters an operator retries after the fix that makes them apply. A
//! request is a row; whichever replica runs the projection or policy picks it
//! up, applies the event and marks the row applied in the same transaction
//! (the mark first, so a second runner waits and then finds it done): a retry
//! applies its event once however many replicas or requests there are.

use aftercare_eventstore::Position;
use sqlx::{AnyConnection, AnyPool, Row};

/// Where a requested retry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryState {
    Requested,
    Applied,
    Failed,
}

impl RetryState {
    fn code(self) -> &'static str {
        match self {
            RetryState::Requested => "requested",
            RetryState::Applied => "applied",
            RetryState::Failed => "failed",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "requested" => Some(RetryState::Requested),
            "applied" => Some(RetryState::Applied),
            "failed" => Some(RetryState::Failed),
            _ => None,
        }
    }
}

/// One letter's retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    pub runner: String,
    pub position: Position,
    pub state: RetryState,
    pub requested_by: String,
    /// Milliseconds since the epoch.
    pub requested_at: i64,
    pub finished_at: Option<i64>,
    /// Why the last attempt failed.
    pub reason: String,
}

/// Asks for the letter of `runner` at `position` to be applied again. A letter
/// already applied stays applied (`false`); one requested or failed is
/// requested (again).
pub async fn request(
    pool: &AnyPool,
    runner: &str,
    position: Position,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let now = jiff::Timestamp::now().as_millisecond();
    let changed = sqlx::query(
        "INSERT INTO dead_letter_retries (runner, position, state, requested_by, requested_at, reason) \
         VALUES ($1, $2, 'requested', $3, $4, '') \
         ON CONFLICT (runner, position) DO UPDATE SET state = 'requested', \
         requested_by = excluded.requested_by, requested_at = excluded.requested_at, \
         finished_at = NULL, reason = '' \
         WHERE dead_letter_retries.state <> 'applied'",
    )
    .bind(runner)
    .bind(position.0 as i64)
    .bind(by)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(changed.rows_affected() > 0)
}

/// Every retry asked for so far.
pub async fn retries(pool: &AnyPool) -> Result<Vec<Retry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT runner, position, state, requested_by, requested_at, finished_at, reason \
         FROM dead_letter_retries ORDER BY runner, position",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            Ok(Retry {
                runner: row.try_get("runner")?,
                position: Position(row.try_get::<i64, _>("position")? as u64),
                state: RetryState::from_code(&state).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown retry state {state:?}").into())
                })?,
                requested_by: row.try_get("requested_by")?,
                requested_at: row.try_get("requested_at")?,
                finished_at: row.try_get("finished_at")?,
                reason: row.try_get("reason")?,
            })
        })
        .collect()
}

/// The positions whose retry `runner` has yet to attempt, oldest first.
pub(super) async fn requested(pool: &AnyPool, runner: &str) -> Result<Vec<Position>, sqlx::Error> {
    let positions: Vec<i64> = sqlx::query_scalar(
        "SELECT position FROM dead_letter_retries WHERE runner = $1 AND state = 'requested' \
         ORDER BY position",
    )
    .bind(runner)
    .fetch_all(pool)
    .await?;
    Ok(positions.into_iter().map(|p| Position(p as u64)).collect())
}

/// Moves a requested retry to `state`; `false` when it is no longer requested
/// (another runner finished it first). The first statement of the transaction
/// that applies the event, so it also takes the row's lock.
pub(super) async fn finish(
    conn: &mut AnyConnection,
    runner: &str,
    position: Position,
    state: RetryState,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE dead_letter_retries SET state = $1, reason = $2, finished_at = $3 \
         WHERE runner = $4 AND position = $5 AND state = 'requested'",
    )
    .bind(state.code())
    .bind(reason)
    .bind(jiff::Timestamp::now().as_millisecond())
    .bind(runner)
    .bind(position.0 as i64)
    .execute(&mut *conn)
    .await?;
    Ok(moved.rows_affected() > 0)
}
