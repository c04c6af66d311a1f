//! The log file's own schema. It belongs to the store, not to any service, so it is
//! created here rather than through a service's migrations.

use futures::future::BoxFuture;
use sqlx::SqliteConnection;

use crate::StoreError;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY,
    event_id       BLOB    NOT NULL UNIQUE,
    dealer         TEXT    NOT NULL,
    aggregate      TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at    INTEGER NOT NULL,
    correlation_id BLOB,
    causation_id   BLOB,
    actor          TEXT    NOT NULL,
    traceparent    TEXT,
    payload        BLOB    NOT NULL,
    UNIQUE (dealer, aggregate, aggregate_id, version)
);
CREATE INDEX IF NOT EXISTS events_by_aggregate_type ON events (aggregate, position);
CREATE INDEX IF NOT EXISTS events_by_dealer ON events (dealer, position);
CREATE TABLE IF NOT EXISTS dead_letters (
    id              INTEGER PRIMARY KEY,
    dealer          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    source_position INTEGER,
    source_event_id BLOB,
    payload         BLOB    NOT NULL,
    recorded_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_kind ON dead_letters (kind, id);
"#;

pub(super) fn migrate(conn: &mut SqliteConnection) -> BoxFuture<'_, Result<(), StoreError>> {
    Box::pin(async move {
        // One statement at a time: sqlx's multi-statement `raw_sql` future is not `Send`.
        for statement in SCHEMA.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        Ok(())
    })
}
