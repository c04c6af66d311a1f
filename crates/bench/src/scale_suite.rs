//! The scale measurements of `make bench --suite scale`: what grouping many
//! repair orders into one durable flush is worth in the production mode
//! (`sync_interval: always`), against the raw single publish of the same run,
//! and what that means for a 500-dealer group's backfill; the churn counters'
//! rebuild of generated logs of 1M and 10M events in a process of its own, its
//! peak resident memory (bounded: the bench's `--check` fails above the bound)
//! and its rate against the raw replay of store-shaped messages of the same
//! run. Written to `target/bench/scale-latest.json`.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, JetStreamConfig, JetStreamStore};
use aftercare_testkit::{NatsServer, SyncMode, postgres};
use anyhow::{Context as _, ensure};
use serde::Serialize;

use crate::measure;
use crate::raw::{self, Shape};
use crate::report::Measurement;

/// DMS backfill end to end with group commit against the raw single publish.
const BACKFILL_TARGET: f64 = 4.0;
/// Ten years of a 500-dealer group's repair orders.
const GROUP_REPAIR_ORDERS: f64 = 150e6;

/// A 500-dealer group's log to rebuild.
const GROUP_EVENTS: f64 = 300e6;

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Log sizes the churn rebuild is measured at, in events.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000u64, 10_000_000])]
    scale_rebuild_events: Vec<u64>,
    /// The most resident memory the rebuild process may hold, in MiB.
    #[arg(long, default_value_t = 512)]
    scale_memory_mib: u64,
}

#[derive(Debug, Serialize)]
struct RebuildMemory {
    events: u64,
    seconds: f64,
    events_per_second: f64,
    /// The rebuild process's peak resident memory (VmHWM).
    peak_resident_mib: f64,
    bound_mib: u64,
    within_bound: bool,
    /// Against the raw ordered replay of store-shaped messages of this run.
    ratio_to_raw_replay: f64,
}

#[derive(Debug, Serialize)]
struct ScaleReport {
    run_at: String,
    nproc: usize,
    cpu: String,
    nats_server_version: String,
    ingest: Vec<Measurement>,
    /// Hours to backfill 150 million repair orders at each measured rate.
    group_backfill_hours: Vec<(String, f64)>,
    /// Raw ordered replay of messages with the two headers every append
    /// carries, 200-byte payloads (the median of three).
    raw_replay: Measurement,
    churn_rebuild: Vec<RebuildMemory>,
    /// Hours to rebuild a 500-dealer group's 300 million events at the rate
    /// of the largest log measured, in the memory measured there.
    group_rebuild_hours: f64,
    targets_met: bool,
}

/// The churn counters rebuilt from the log at `nats` into `database`, in this
/// process; prints the seconds and the process's peak resident memory as one
/// JSON line for the suite that started it.
pub async fn rebuild_child(nats: &str, database: &str, events: u64) -> anyhow::Result<()> {
    let store: Arc<dyn EventStore> = Arc::new(
        JetStreamStore::connect(JetStreamConfig {
            url: nats.to_owned(),
            ..Default::default()
        })
        .await?,
    );
    let db = crate::store::database(database).await?;
    let (sample, _) = crate::churn::rebuild(store, &db, events).await?;
    println!(
        "{}",
        serde_json::json!({
            "seconds": sample.elapsed.as_secs_f64(),
            "peak_resident_bytes": aftercare_runtime::memory::peak_resident_bytes().unwrap_or(0),
        })
    );
    Ok(())
}

/// A generated history of about `events` events, rebuilt by a process of its own.
async fn rebuild_in_a_process(
    events: u64,
    bound_mib: u64,
    replay: &Measurement,
) -> anyhow::Result<RebuildMemory> {
    let server = NatsServer::start_with(SyncMode::ServerDefault);
    let store = JetStreamStore::connect(JetStreamConfig {
        url: server.url(),
        ..Default::default()
    })
    .await?;
    eprintln!("appending a generated history of about {events} events");
    let n = crate::churn::append_history(&store, events / 10, 10).await?;
    let database = postgres().create_database().url;
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "--rebuild-child",
            &server.url(),
            "--child-database",
            &database,
        ])
        .args(["--events", &n.to_string()])
        .output()
        .await
        .context("starting the rebuild process")?;
    ensure!(
        output.status.success(),
        "the rebuild process failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("the rebuild process said nothing")?;
    let said: serde_json::Value = serde_json::from_str(line)?;
    let seconds = said["seconds"].as_f64().context("seconds")?;
    let peak = said["peak_resident_bytes"].as_u64().context("peak")? as f64 / 1048576.0;
    let rate = n as f64 / seconds;
    let measured = RebuildMemory {
        events: n,
        seconds,
        events_per_second: rate,
        peak_resident_mib: peak,
        bound_mib,
        within_bound: peak <= bound_mib as f64,
        ratio_to_raw_replay: rate / replay.events_per_second,
    };
    eprintln!(
        "rebuilt the churn counters of {n} events in {seconds:.1} s ({rate:.0}/s, {:.2} of the raw replay), at most {peak:.0} MiB resident",
        measured.ratio_to_raw_replay
    );
    Ok(measured)
}

/// Atomic batches of these sizes, a few in flight.
const BATCH_SIZES: [usize; 3] = [10, 100, 500];
const BATCHES_IN_FLIGHT: usize = 4;
/// nats-server 2.14's fast-ingest batches (not atomic), for comparison.
const FAST_BATCH_SIZES: [usize; 2] = [100, 500];

/// True when every target is met.
pub async fn run(n: u64, args: &ScaleArgs, now: jiff::Timestamp) -> anyhow::Result<bool> {
    let label = "always";
    let server = NatsServer::start_with(SyncMode::Always);
    let (js, mut raw_stream) = raw::connect(&server.url()).await?;
    let single = measure(
        label,
        Shape::Plain.label(),
        n,
        raw::publish(&js, &mut raw_stream, n, Shape::Plain).await?,
    );
    let guarantees = measure(
        label,
        Shape::Guarantees.label(),
        n,
        raw::publish(&js, &mut raw_stream, n, Shape::Guarantees).await?,
    )
    .diagnostic()
    .against(&single, None);
    let mut ingest = vec![single.clone(), guarantees];
    for size in BATCH_SIZES {
        let sample = raw::publish_atomic(&js, &mut raw_stream, n, size, BATCHES_IN_FLIGHT).await?;
        ingest.push(
            measure(
                label,
                &format!("raw atomic batches of {size}, Msg-Id + expected seq"),
                n,
                sample,
            )
            .diagnostic()
            .against(&single, None),
        );
    }
    for size in FAST_BATCH_SIZES {
        let sample = raw::publish_fast(&js, &mut raw_stream, n, size, BATCHES_IN_FLIGHT).await?;
        ingest.push(
            measure(
                label,
                &format!("raw fast-ingest batches of {size}, Msg-Id + expected seq"),
                n,
                sample,
            )
            .diagnostic()
            .against(&single, None),
        );
    }
    drop(server);
    for (group, name, target) in [
        (
            1,
            "DMS backfill end to end, each append alone".to_owned(),
            None,
        ),
        (
            JetStreamConfig::default().group_commit,
            format!(
                "DMS backfill end to end, group commit of {}",
                JetStreamConfig::default().group_commit
            ),
            Some(BACKFILL_TARGET),
        ),
        (
            1000,
            "DMS backfill end to end, group commit of 1000 (the most)".to_owned(),
            None,
        ),
    ] {
        // A fresh server each: the same repair orders are sent again.
        let server = NatsServer::start_with(SyncMode::Always);
        let sample = crate::backfill::dms_to_postgres(
            &server.url(),
            &postgres().create_database().url,
            n,
            group,
        )
        .await?;
        ingest.push(measure(label, &name, n, sample).against(&single, target));
    }
    let group_backfill_hours = ingest
        .iter()
        .filter(|m| m.name.starts_with("DMS backfill") || m.name == Shape::Plain.label())
        .map(|m| {
            (
                m.name.clone(),
                GROUP_REPAIR_ORDERS / m.events_per_second / 3600.0,
            )
        })
        .collect();
    // The replay baseline: messages shaped like the store's, read raw.
    let server = NatsServer::start_with(SyncMode::ServerDefault);
    let (js, mut raw_stream) = raw::connect(&server.url()).await?;
    raw::publish(&js, &mut raw_stream, n, Shape::Guarantees).await?;
    let raw_replay = measure(
        "server-default",
        &format!("{}, median of 3", Shape::Guarantees.replay_label()),
        n,
        raw::replay_median(&raw_stream, n, raw::REPLAY_RUNS).await?,
    );
    drop(server);
    let mut churn_rebuild = Vec::new();
    for events in &args.scale_rebuild_events {
        churn_rebuild
            .push(rebuild_in_a_process(*events, args.scale_memory_mib, &raw_replay).await?);
    }
    let group_rebuild_hours = churn_rebuild
        .last()
        .map_or(0.0, |r| GROUP_EVENTS / r.events_per_second / 3600.0);
    let (cpu, _) = crate::report::cpu_and_kernel();
    let report = ScaleReport {
        run_at: now.to_string(),
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        cpu,
        nats_server_version: crate::report::nats_server_version()?,
        targets_met: ingest.iter().all(|m| m.met != Some(false))
            && churn_rebuild.iter().all(|r| r.within_bound),
        ingest,
        group_backfill_hours,
        raw_replay,
        churn_rebuild,
        group_rebuild_hours,
    };
    println!();
    for m in &report.ingest {
        println!(
            "{:<55} {:>9.0}/s {}",
            m.name,
            m.events_per_second,
            m.ratio.map_or(String::new(), |r| format!(
                "{r:.2} of the raw single publish{}",
                m.target.map_or(String::new(), |t| format!(
                    " (target ≥ {t}: {})",
                    if m.met == Some(true) {
                        "met"
                    } else {
                        "NOT met"
                    }
                ))
            ))
        );
    }
    for (name, hours) in &report.group_backfill_hours {
        println!("150M repair orders at the rate of {name}: {hours:.1} h");
    }
    println!(
        "{:<55} {:>9.0}/s",
        report.raw_replay.name, report.raw_replay.events_per_second
    );
    for r in &report.churn_rebuild {
        println!(
            "churn rebuild of {:>10} events: {:>7.0}/s ({:.2} of the raw replay), peak {:.0} MiB resident (bound {} MiB: {})",
            r.events,
            r.events_per_second,
            r.ratio_to_raw_replay,
            r.peak_resident_mib,
            r.bound_mib,
            if r.within_bound { "held" } else { "NOT held" }
        );
    }
    println!(
        "a 500-dealer group's 300M events rebuild in {:.1} h at the largest log's rate",
        report.group_rebuild_hours
    );
    let path = crate::report::write_json("scale", now, &report)?;
    println!("\nwritten to {} and scale-latest.json", path.display());
    Ok(report.targets_met)
}
