//! The event store and the projection runner under the same workload as the raw
//! bus, plus the two halves of a rebuild measured apart (reading the log,
//! writing the rows) so a slow rebuild shows which half is slow.

use std::sync::Arc;

use aftercare_eventstore::{
    AppendRequest, DealerId, EventData, EventStore, Expected, Filter, Metadata, Position,
    RecordedEvent, StreamId,
};
use aftercare_runtime::projection::{
    AuditTrail, Projection, RUNTIME_MIGRATIONS, Runner, RunnerOptions,
};
use aftercare_runtime::{Database, Secret};
use anyhow::{Context as _, ensure};
use bytes::Bytes;
use futures::TryStreamExt;
use sqlx::Row;

use crate::PAYLOAD_BYTES;
use crate::cpu::{Sample, Stopwatch};
use crate::metered::{Meter, RebuildProfile};

const EVENT_TYPE: &str = aftercare_proto::event_types::intake::VISIT_RECORDED;

/// One 200-byte event per request, each to a new visit of dealer D001 with
/// `Expected::NoStream`, sent through the bulk path `batch` requests at a time.
pub async fn append(store: &dyn EventStore, n: u64, batch: usize) -> anyhow::Result<Sample> {
    let dealer = DealerId::parse("D001")?;
    let payload = Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let metadata = Metadata {
        actor: "dms:bench".to_owned(),
        ..Metadata::default()
    };
    let watch = Stopwatch::start();
    let mut next = 0u64;
    while next < n {
        let end = (next + batch as u64).min(n);
        let requests = (next..end)
            .map(|i| {
                Ok(AppendRequest {
                    stream: StreamId::new(dealer.clone(), "visit", i.to_string())?,
                    expected: Expected::NoStream,
                    events: vec![
                        EventData::new(EVENT_TYPE, payload.clone()).with_metadata(metadata.clone()),
                    ],
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let results = store.append_batch(requests).await;
        ensure!(
            results.len() as u64 == end - next,
            "{} results for {} requests",
            results.len(),
            end - next
        );
        for (i, result) in (next..end).zip(results) {
            result.with_context(|| format!("append of visit {i}"))?;
        }
        next = end;
    }
    let sample = watch.stop();
    let head = store.head().await?;
    ensure!(head == Position(n), "the log ends at {head}, not {n}");
    Ok(sample)
}

/// A read-model database with the runtime's tables.
pub async fn database(url: &str) -> anyhow::Result<Database> {
    let db = Database::connect(&Secret::new(url), 10)
        .await
        .context("connecting to the read-model database")?;
    db.migrate(&RUNTIME_MIGRATIONS)
        .await
        .context("migrating the read-model database")?;
    Ok(db)
}

/// `Runner::rebuild` of the audit trail, then a check that every event has its row.
pub async fn rebuild(
    store: Arc<dyn EventStore>,
    db: &Database,
    n: u64,
) -> anyhow::Result<(Sample, RebuildProfile)> {
    let meter = Meter::default();
    let runner = Runner::projection(
        meter.projection(Arc::new(AuditTrail)),
        meter.store(store),
        db.clone(),
        RunnerOptions::default(),
    );
    let watch = Stopwatch::start();
    let progress = runner
        .rebuild()
        .await
        .context("rebuilding the audit trail")?;
    let sample = watch.stop();
    ensure!(
        progress.position == Position(n),
        "rebuild stopped at {}, not {n}",
        progress.position
    );
    ensure!(
        progress.dead_lettered == 0,
        "{} events dead-lettered",
        progress.dead_lettered
    );
    let rows = audit_rows(db).await?;
    ensure!(rows == n, "audit_events holds {rows} rows, not {n}");
    Ok((sample, meter.profile()))
}

async fn audit_rows(db: &Database) -> anyhow::Result<u64> {
    let row = sqlx::query("SELECT count(*) FROM audit_events")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

/// The read half of a rebuild: the store's subscription from the start, as the
/// runner opens it, consumed without writing anything. The events are kept for
/// [`write_only`].
pub async fn read_only(
    store: &dyn EventStore,
    n: u64,
) -> anyhow::Result<(Sample, Vec<RecordedEvent>)> {
    let watch = Stopwatch::start();
    let mut subscription = store.subscribe(&Filter::all(), Position(1)).await?;
    let mut events = Vec::with_capacity(n as usize);
    while (events.len() as u64) < n {
        let event = subscription
            .try_next()
            .await?
            .context("subscription ended early")?;
        events.push(event);
    }
    let sample = watch.stop();
    ensure!(
        events.last().map(|e| e.position) == Some(Position(n)),
        "events out of order"
    );
    Ok((sample, events))
}

/// The write half of a rebuild: the audit trail's `apply` on `batch` events per
/// transaction, from events already in memory.
pub async fn write_only(
    db: &Database,
    events: &[RecordedEvent],
    batch: usize,
) -> anyhow::Result<Sample> {
    let watch = Stopwatch::start();
    for chunk in events.chunks(batch) {
        let mut tx = db.pool.begin().await?;
        AuditTrail.apply(&mut tx, chunk).await?;
        tx.commit().await?;
    }
    let sample = watch.stop();
    let rows = audit_rows(db).await?;
    ensure!(
        rows == events.len() as u64,
        "audit_events holds {rows} rows, not {}",
        events.len()
    );
    Ok(sample)
}

/// PostgreSQL's version string and whether it syncs its writes to disk.
pub async fn postgres_facts(db: &Database) -> anyhow::Result<(String, bool)> {
    let row = sqlx::query("SELECT version(), current_setting('fsync')")
        .fetch_one(&db.pool)
        .await?;
    Ok((
        row.try_get::<String, _>(0)?,
        row.try_get::<String, _>(1)? == "on",
    ))
}
