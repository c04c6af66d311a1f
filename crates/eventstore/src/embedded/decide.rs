//! Deciding and writing a whole group of appends with a few statements: one lookup
//! of the event ids already in the log, one of the touched streams' heads, then
//! multi-row inserts. Positions are assigned here, after the max position read
//! inside the write transaction, so they are gapless and in decision order.

use std::collections::{HashMap, HashSet};

use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::{AppendRequest, Appended, Expected, Position, StoreError, StreamId};

const COLUMNS: &str = "position, event_id, dealer, aggregate, aggregate_id, version, event_type, \
    schema_version, occurred_at, correlation_id, causation_id, actor, traceparent, payload";
const WIDTH: usize = 14;
/// Rows per insert: 14 parameters each, under SQLite's 32,766 parameters.
const ROWS_PER_INSERT: usize = 2000;
const KEYS_PER_LOOKUP: usize = 900;

type Answer = Result<Appended, StoreError>;

/// Decides every request in order and writes the accepted events. The outer error
/// aborts the transaction; the inner results are each request's own answer.
pub(super) async fn append_all(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
) -> Result<Vec<Answer>, sqlx::Error> {
    let mut answers: Vec<Option<Answer>> = requests
        .iter()
        .map(|r| super::writer::validate(r).err().map(Err))
        .collect();
    let valid: Vec<usize> = (0..requests.len())
        .filter(|&i| answers[i].is_none())
        .collect();
    let ids: Vec<Uuid> = valid
        .iter()
        .flat_map(|&i| requests[i].events.iter().map(|e| e.event_id))
        .collect();
    let mut known = known_ids(conn, &ids).await?;
    let mut seen = HashSet::new();
    let streams: Vec<&StreamId> = valid
        .iter()
        .map(|&i| &requests[i].stream)
        .filter(|s| seen.insert(*s))
        .collect();
    let mut heads = stream_heads(conn, &streams).await?;
    let max: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let mut next = max.unwrap_or(0) as u64 + 1;

    let mut rows: Vec<Row14> = Vec::new();
    for &i in &valid {
        let request = &requests[i];
        let found: Vec<Option<Position>> = request
            .events
            .iter()
            .map(|e| known.get(&e.event_id).copied())
            .collect();
        if found.iter().any(Option::is_some) {
            answers[i] = Some(match found.iter().copied().collect::<Option<Vec<_>>>() {
                // A retry of an append that is already in: where it landed.
                Some(positions) => Ok(Appended {
                    position: positions.into_iter().max().unwrap_or_default(),
                }),
                None => Err(StoreError::InvalidInput {
                    field: "event_id",
                    reason: "some of these event ids are already in the log and some are not"
                        .to_owned(),
                }),
            });
            continue;
        }
        let (current, mut version) = heads
            .get(&request.stream)
            .copied()
            .unwrap_or((Position::ZERO, 0));
        let holds = match request.expected {
            Expected::Any => true,
            Expected::NoStream => current == Position::ZERO,
            Expected::Version(v) => current == v,
        };
        if !holds {
            answers[i] = Some(Err(StoreError::Conflict {
                stream: request.stream.clone(),
                expected: request.expected,
                current,
            }));
            continue;
        }
        let mut position = current;
        for event in &request.events {
            position = Position(next);
            next += 1;
            version += 1;
            known.insert(event.event_id, position);
            rows.push(Row14 {
                position,
                version,
                request: i,
                event: event.clone(),
            });
        }
        heads.insert(request.stream.clone(), (position, version));
        answers[i] = Some(Ok(Appended { position }));
    }
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert(conn, requests, chunk).await?;
    }
    Ok(answers
        .into_iter()
        .map(|a| a.expect("every request was answered"))
        .collect())
}

struct Row14 {
    position: Position,
    version: i64,
    request: usize,
    event: crate::EventData,
}

async fn insert(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
    rows: &[Row14],
) -> Result<(), sqlx::Error> {
    let mut sql = format!("INSERT INTO events ({COLUMNS}) VALUES ");
    let one = format!("({})", vec!["?"; WIDTH].join(", "));
    sql.push_str(&vec![one; rows.len()].join(", "));
    let mut query = sqlx::query(&sql);
    for row in rows {
        let stream = &requests[row.request].stream;
        let (event, meta) = (&row.event, &row.event.metadata);
        query = query
            .bind(row.position.0 as i64)
            .bind(event.event_id.as_bytes().to_vec())
            .bind(stream.dealer().as_str().to_owned())
            .bind(stream.aggregate().to_owned())
            .bind(stream.id().to_owned())
            .bind(row.version)
            .bind(event.event_type.clone())
            .bind(i64::from(event.schema_version))
            .bind(event.occurred_at.as_microsecond())
            .bind(meta.correlation_id.map(|u| u.as_bytes().to_vec()))
            .bind(meta.causation_id.map(|u| u.as_bytes().to_vec()))
            .bind(meta.actor.clone())
            .bind(meta.traceparent.clone())
            .bind(event.payload.to_vec());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn known_ids(
    conn: &mut SqliteConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Position>, sqlx::Error> {
    let mut known = HashMap::new();
    for chunk in ids.chunks(KEYS_PER_LOOKUP) {
        let sql = format!(
            "SELECT event_id, position FROM events WHERE event_id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.as_bytes().to_vec());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let bytes: Vec<u8> = row.try_get(0)?;
            if let Ok(id) = Uuid::from_slice(&bytes) {
                known.insert(id, Position(row.try_get::<i64, _>(1)? as u64));
            }
        }
    }
    Ok(known)
}

async fn stream_heads(
    conn: &mut SqliteConnection,
    streams: &[&StreamId],
) -> Result<HashMap<StreamId, (Position, i64)>, sqlx::Error> {
    let mut heads = HashMap::new();
    for chunk in streams.chunks(KEYS_PER_LOOKUP / 3) {
        let sql = format!(
            "SELECT dealer, aggregate, aggregate_id, max(version), max(position) FROM events \
             WHERE (dealer, aggregate, aggregate_id) IN (VALUES {}) \
             GROUP BY dealer, aggregate, aggregate_id",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for stream in chunk {
            query = query
                .bind(stream.dealer().as_str())
                .bind(stream.aggregate())
                .bind(stream.id());
        }
        let by_key: HashMap<(String, String, String), &StreamId> = chunk
            .iter()
            .map(|s| {
                (
                    (
                        s.dealer().to_string(),
                        s.aggregate().to_owned(),
                        s.id().to_owned(),
                    ),
                    *s,
                )
            })
            .collect();
        for row in query.fetch_all(&mut *conn).await? {
            let key: (String, String, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if let Some(stream) = by_key.get(&key) {
                let head = (
                    Position(row.try_get::<i64, _>(4)? as u64),
                    row.try_get::<i64, _>(3)?,
                );
                heads.insert((*stream).clone(), head);
            }
        }
    }
    Ok(heads)
}
