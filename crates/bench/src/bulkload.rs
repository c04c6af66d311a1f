//! Other ways to write the audit trail's rows, measured next to `insert_rows` to
//! show what a rebuild could gain from each.

use aftercare_eventstore::RecordedEvent;
use aftercare_runtime::Database;
use anyhow::ensure;
use sqlx::{Connection, Row};

use crate::cpu::{Sample, Stopwatch};

const COLUMNS: &str =
    "position, event_id, dealer, aggregate, aggregate_id, event_type, actor, occurred_at";

/// Multi-row inserts of `batch` rows with anonymous `?` placeholders (SQLite).
/// SQLite looks every `$N` placeholder up by name in a list, so a statement with
/// P of them costs O(P²) to prepare and bind; `?` costs O(P).
pub async fn sqlite_positional(
    db: &Database,
    events: &[RecordedEvent],
    batch: usize,
) -> anyhow::Result<Sample> {
    let watch = Stopwatch::start();
    for chunk in events.chunks(batch) {
        let mut sql = format!("INSERT INTO audit_events ({COLUMNS}) VALUES ");
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 {
                "(?, ?, ?, ?, ?, ?, ?, ?)"
            } else {
                ", (?, ?, ?, ?, ?, ?, ?, ?)"
            });
        }
        sql.push_str(" ON CONFLICT (position) DO NOTHING");
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(e.position.0 as i64)
                .bind(e.data.event_id.to_string())
                .bind(e.dealer().to_string())
                .bind(e.stream.aggregate().to_owned())
                .bind(e.stream.id().to_owned())
                .bind(e.data.event_type.clone())
                .bind(e.data.metadata.actor.clone())
                .bind(e.data.occurred_at.as_microsecond());
        }
        let mut tx = db.pool.begin().await?;
        query.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    let sample = watch.stop();
    check_rows(db, events.len()).await?;
    Ok(sample)
}

/// `COPY … FROM STDIN` on a native PostgreSQL connection, `batch` rows per
/// transaction, as the PostgreSQL side of a rebuild could write.
pub async fn postgres_copy(
    url: &str,
    db: &Database,
    events: &[RecordedEvent],
    batch: usize,
) -> anyhow::Result<Sample> {
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    let watch = Stopwatch::start();
    for chunk in events.chunks(batch) {
        // Every value is a number or a subject token, UUID or type name: nothing
        // that needs escaping in COPY's text format.
        let mut data = String::with_capacity(chunk.len() * 128);
        for e in chunk {
            data.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                e.position.0,
                e.data.event_id,
                e.dealer(),
                e.stream.aggregate(),
                e.stream.id(),
                e.data.event_type,
                e.data.metadata.actor,
                e.data.occurred_at.as_microsecond()
            ));
        }
        let mut tx = conn.begin().await?;
        let mut copy = tx
            .copy_in_raw(&format!("COPY audit_events ({COLUMNS}) FROM STDIN"))
            .await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
        tx.commit().await?;
    }
    let sample = watch.stop();
    check_rows(db, events.len()).await?;
    Ok(sample)
}

/// Drops the audit trail's two secondary indexes, as a rebuild could before a
/// bulk load (and create them again after it).
pub async fn drop_secondary_indexes(db: &Database) -> anyhow::Result<()> {
    sqlx::query("DROP INDEX audit_events_by_record")
        .execute(&db.pool)
        .await?;
    sqlx::query("DROP INDEX audit_events_by_actor")
        .execute(&db.pool)
        .await?;
    Ok(())
}

async fn check_rows(db: &Database, n: usize) -> anyhow::Result<()> {
    let row = sqlx::query("SELECT count(*) FROM audit_events")
        .fetch_one(&db.pool)
        .await?;
    let rows = row.try_get::<i64, _>(0)? as usize;
    ensure!(rows == n, "audit_events holds {rows} rows, not {n}");
    Ok(())
}
