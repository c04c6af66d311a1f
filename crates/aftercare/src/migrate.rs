//! `aftercare migrate --to-config <file>`: copies a dealer's embedded event log
//! into the JetStream deployment the file describes, event by event in log
//! order, each keeping its id, type, time, metadata and payload — so a dealer
//! who started on one machine can move to the group's cluster. A second run
//! goes on after the last event already copied; a target holding other events
//! is refused.

use std::time::Duration;

use aftercare_eventstore::{EventStore, Expected, Filter, Position, RecordedEvent};
use aftercare_runtime::config::StoreBackend;
use aftercare_runtime::{Config, store};
use anyhow::{Context, bail, ensure};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

/// How long reading the next event of a log may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What a run copied.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    /// Events copied by this run.
    pub copied: u64,
    /// Events found already copied by an earlier run.
    pub skipped: u64,
}

/// The last event of `store`, if any.
async fn last_event(store: &dyn EventStore) -> anyhow::Result<Option<RecordedEvent>> {
    let head = store.head().await?;
    if head == Position::ZERO {
        return Ok(None);
    }
    let mut events = store.subscribe(&Filter::all(), head).await?;
    let last = tokio::time::timeout(READ_TIMEOUT, events.next())
        .await
        .context("reading the target's last event timed out")?
        .context("the target's log ended")??;
    Ok(Some(last))
}

pub async fn run(source: Config, target: Config, show_progress: bool) -> anyhow::Result<Migrated> {
    ensure!(
        source.store.backend == StoreBackend::Embedded,
        "the source (--config) must be an embedded event log, not {:?}",
        source.store.backend
    );
    ensure!(
        target.store.backend == StoreBackend::JetStream,
        "the target (--to-config) must set [store] backend = \"jetstream\""
    );
    let _lock = aftercare_runtime::data_dir::lock(&source.server.data_dir)
        .map_err(|e| anyhow::anyhow!("{e} (stop `aftercare serve` on this data folder first)"))?;
    let from = store::open(&source.store).await?;
    let to = store::open(&target.store).await?;
    let head = from.store.head().await?;
    // Where an earlier run stopped: the target's last event must be one of ours.
    let resume_after = last_event(to.store.as_ref()).await?;
    let mut events = from.store.subscribe(&Filter::all(), Position(1)).await?;
    let mut skipped = 0;
    if let Some(last) = &resume_after {
        loop {
            let event = tokio::time::timeout(READ_TIMEOUT, events.next())
                .await
                .context("reading the embedded log timed out")?;
            match event {
                Some(event) => {
                    let event = event?;
                    skipped += 1;
                    if event.data.event_id == last.data.event_id {
                        break;
                    }
                    if event.position >= head {
                        bail!(
                            "the target's stream already holds events that are not this log's (its last, {}, is not here)",
                            last.data.event_id
                        );
                    }
                }
                None => bail!("the embedded log ended before {head}"),
            }
        }
    }
    let bar = if show_progress {
        ProgressBar::new(head.0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(skipped);
    let mut copied = 0;
    let mut at = Position(skipped);
    while at < head {
        let event = tokio::time::timeout(READ_TIMEOUT, events.next())
            .await
            .context("reading the embedded log timed out")?
            .context("the embedded log ended early")??;
        at = event.position;
        // In log order, one at a time: the cluster gives positions in the
        // order the events are appended. The event id is the message id, so
        // a repeat after a lost answer is recognised, not stored twice.
        to.store
            .append(&event.stream, Expected::Any, vec![event.data])
            .await
            .with_context(|| format!("copying the event at {}", event.position))?;
        copied += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(Migrated { copied, skipped })
}
