//! `make bench`: the event store and projection rebuilds measured against the raw
//! bus on this machine, in both durability modes of nats-server, each on a fresh
//! server. The performance budget in DESIGN.md is stated as ratios to the raw bus
//! of the same mode, so a number here means something only next to its baseline.
#![forbid(unsafe_code)]

mod backfill;
mod bulkload;
mod callback_suite;
mod churn;
mod churn_suite;
mod cpu;
mod loyalty_suite;
mod metered;
mod online_suite;
mod raw;
mod report;
mod scale_suite;
mod store;
mod value_suite;

use std::path::Path;
use std::sync::Arc;

use aftercare_eventstore::{EmbeddedStore, EventStore, JetStreamConfig, JetStreamStore};
use aftercare_runtime::projection::RunnerOptions;
use aftercare_testkit::{NatsServer, SyncMode, postgres};
use anyhow::Context as _;
use clap::Parser;

use cpu::Sample;
use raw::Shape;
use report::{Machine, Measurement, Report};

/// The size of one event's payload, about a DMS visit record.
pub(crate) const PAYLOAD_BYTES: usize = 200;
/// Raw publishes kept in flight; the event store's default `max_in_flight` too.
pub(crate) const IN_FLIGHT: usize = 1024;

/// Ratio budgets from DESIGN.md, "Performance budget".
const APPEND_TARGET: f64 = 0.7;
const REBUILD_TARGET: f64 = 0.5;
/// DMS backfill end to end against raw publish (issue: intake).
const BACKFILL_TARGET: f64 = 0.5;

#[derive(Debug, Parser)]
#[command(about = "Measure the event store and projection rebuilds against the raw JetStream bus")]
struct Args {
    /// Events per measurement.
    #[arg(long, env = "BENCH_EVENTS", default_value_t = 100_000)]
    events: u64,
    /// A short run of 10,000 events.
    #[arg(long)]
    quick: bool,
    /// Requests per `append_batch` call.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Exit with failure when a target is not met.
    #[arg(long)]
    check: bool,
    /// Which measurements: the foundation (event store, rebuilds, backfill), churn, callbacks, the club, the value reports, or all.
    #[arg(long, value_enum, default_value_t = Suite::All)]
    suite: Suite,
    #[command(flatten)]
    churn: churn_suite::ChurnArgs,
    #[command(flatten)]
    callback: callback_suite::CallbackArgs,
    #[command(flatten)]
    loyalty: loyalty_suite::LoyaltyArgs,
    #[command(flatten)]
    value: value_suite::ValueArgs,
    #[command(flatten)]
    scale: scale_suite::ScaleArgs,
    #[command(flatten)]
    online: online_suite::OnlineArgs,
    /// Rebuild the churn counters from the log at this NATS URL into
    /// `--child-database` in this process, and print what it took: the scale
    /// suite runs it as a process of its own to read the rebuild's memory.
    #[arg(long, hide = true)]
    rebuild_child: Option<String>,
    #[arg(long, hide = true)]
    child_database: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Suite {
    All,
    Foundation,
    Churn,
    Callback,
    Loyalty,
    Value,
    Scale,
    Online,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    aftercare_testkit::init_tracing();
    let args = Args::parse();
    let n = if args.quick { 10_000 } else { args.events };
    anyhow::ensure!(
        n > 0 && args.batch > 0,
        "--events and --batch must be positive"
    );
    if let (Some(nats), Some(database)) = (&args.rebuild_child, &args.child_database) {
        return scale_suite::rebuild_child(nats, database, n).await;
    }
    let now = jiff::Timestamp::now();
    let mut met = true;
    if matches!(args.suite, Suite::All | Suite::Foundation) {
        met &= foundation(n, args.batch, now).await?;
    }
    if matches!(args.suite, Suite::All | Suite::Churn) {
        met &= churn_suite::run(n, &args.churn, now).await?;
    }
    if matches!(args.suite, Suite::All | Suite::Callback) {
        met &= callback_suite::run(n, &args.callback, now).await?;
    }
    if matches!(args.suite, Suite::All | Suite::Loyalty) {
        met &= loyalty_suite::run(n, &args.loyalty, now).await?;
    }
    if matches!(args.suite, Suite::All | Suite::Value) {
        met &= value_suite::run(&args.value, now).await?;
    }
    if matches!(args.suite, Suite::All | Suite::Scale) {
        met &= scale_suite::run(n, &args.scale, now).await?;
    }
    if matches!(args.suite, Suite::All | Suite::Online) {
        met &= online_suite::run(&args.online, now).await?;
    }
    if args.check && !met {
        anyhow::bail!("a performance target was not met");
    }
    Ok(())
}

/// The event store, projection rebuilds and DMS backfill; true when every target is met.
async fn foundation(n: u64, batch: usize, now: jiff::Timestamp) -> anyhow::Result<bool> {
    let mut measurements = Vec::new();
    let mut postgres_facts = None;
    let mut always_publish = None;
    for (mode, label) in [
        (SyncMode::Always, "always"),
        (SyncMode::ServerDefault, "server-default"),
    ] {
        let run = nats_mode(mode, label, n, batch).await?;
        postgres_facts.get_or_insert(run.postgres);
        if mode == SyncMode::Always {
            always_publish = run.measurements.first().cloned();
        }
        measurements.extend(run.measurements);
    }
    let always_publish = always_publish.context("the raw publish of mode always")?;
    measurements.extend(embedded(n, batch, &always_publish).await?);

    let (cpu, kernel) = report::cpu_and_kernel();
    let (postgres_version, postgres_fsync) = postgres_facts.context("PostgreSQL was measured")?;
    let targets_met = measurements.iter().all(|m| m.met != Some(false));
    let report = Report {
        run_at: now.to_string(),
        events: n,
        payload_bytes: PAYLOAD_BYTES,
        append_batch: batch,
        publishes_in_flight: IN_FLIGHT,
        machine: Machine {
            nproc: std::thread::available_parallelism().map_or(0, usize::from),
            cpu,
            kernel,
            nats_server_version: report::nats_server_version()?,
            postgres_version,
            postgres_fsync,
        },
        durability: durability_notes(postgres_fsync),
        measurements,
        targets_met,
    };
    report.print();
    let path = report.write(now)?;
    println!("\nwritten to {} and foundation-latest.json", path.display());
    Ok(targets_met)
}

struct ModeRun {
    /// Raw publish first: it is the baseline of everything that writes.
    measurements: Vec<Measurement>,
    postgres: (String, bool),
}

/// Everything that depends on the bus, on one fresh nats-server in `mode`.
async fn nats_mode(mode: SyncMode, label: &str, n: u64, batch: usize) -> anyhow::Result<ModeRun> {
    let server = NatsServer::start_with(mode);
    let url = server.url();

    let (js, mut raw_stream) = raw::connect(&url).await?;
    let publish = measure(
        label,
        Shape::Plain.label(),
        n,
        raw::publish(&js, &mut raw_stream, n, Shape::Plain).await?,
    );
    let replay = measure(
        label,
        "raw ordered replay, median of 3",
        n,
        raw::replay_median(&raw_stream, n, raw::REPLAY_RUNS).await?,
    );
    // The rebuilds' baseline: messages shaped like the store's (the same
    // payload, the two headers every append carries), read raw.
    let first = raw::last_sequence(&mut raw_stream).await? + 1;
    raw::publish(&js, &mut raw_stream, n, Shape::Guarantees).await?;
    let shaped_replay = measure(
        label,
        &format!("{}, median of 3", Shape::Guarantees.replay_label()),
        n,
        raw::replay_median_from(&raw_stream, first, n, raw::REPLAY_RUNS).await?,
    )
    .against(&replay, None);

    let jetstream: Arc<dyn EventStore> = Arc::new(
        JetStreamStore::connect(JetStreamConfig {
            url,
            ..Default::default()
        })
        .await?,
    );
    let sample = store::append(jetstream.as_ref(), n, batch).await?;
    let append = measure(label, "EventStore append_batch (JetStream)", n, sample)
        .against(&publish, Some(APPEND_TARGET));

    let pg = store::database(&postgres().create_database().url).await?;
    let facts = store::postgres_facts(&pg).await?;
    let (sample, profile) = store::rebuild(jetstream.clone(), &pg, n).await?;
    let rebuild_pg = measure(label, "rebuild audit trail into PostgreSQL", n, sample)
        .with_profile(profile)
        .against(&shaped_replay, Some(REBUILD_TARGET));

    let dir = tempfile::tempdir().context("temp dir for SQLite")?;
    let lite = store::database(&sqlite_url(dir.path(), "bench")).await?;
    let (sample, profile) = store::rebuild(jetstream.clone(), &lite, n).await?;
    let rebuild_lite = measure(label, "rebuild audit trail into SQLite", n, sample)
        .with_profile(profile)
        .against(&shaped_replay, Some(REBUILD_TARGET));

    let sample = backfill::dms_to_postgres(
        &server.url(),
        &postgres().create_database().url,
        n,
        JetStreamConfig::default().group_commit,
    )
    .await?;
    let backfill = measure(
        label,
        "DMS backfill end to end (ingest → PostgreSQL)",
        n,
        sample,
    )
    .against(&publish, Some(BACKFILL_TARGET));

    let mut out = vec![
        publish.clone(),
        backfill,
        replay.clone(),
        shaped_replay.clone(),
        append,
        rebuild_pg,
        rebuild_lite,
    ];
    // The store's own messages (envelope headers) replayed raw, without decoding:
    // separates the client's header parsing from the store's decoding.
    let events_stream = js
        .get_stream("AFTERCARE_EVENTS")
        .await
        .context("events stream")?;
    let sample = raw::replay(&events_stream, n).await?;
    out.push(diagnostic(
        label,
        "raw ordered replay of the store's messages",
        n,
        sample,
        &replay,
    ));
    out.extend(rebuild_halves(label, jetstream.as_ref(), n, &shaped_replay, dir.path()).await?);
    // With fsync per ack the disk dominates; without it the envelope's cost shows.
    if mode == SyncMode::ServerDefault {
        for shape in [
            Shape::MessageId,
            Shape::ExpectedSequence,
            Shape::Guarantees,
            Shape::StoreEnvelope,
        ] {
            let first = raw::last_sequence(&mut raw_stream).await? + 1;
            let sample = raw::publish(&js, &mut raw_stream, n, shape).await?;
            out.push(
                measure(label, shape.label(), n, sample)
                    .diagnostic()
                    .against(&publish, None),
            );
            // Reading them back: with only the two headers every append needs, this
            // is the most any rebuild could read, wherever the envelope travels.
            if shape == Shape::StoreEnvelope {
                let sample = raw::replay_from(&raw_stream, first, n).await?;
                out.push(diagnostic(label, shape.replay_label(), n, sample, &replay));
            }
        }
    }
    Ok(ModeRun {
        measurements: out,
        postgres: facts,
    })
}

/// The two halves of a rebuild on their own, each into a database of its own.
async fn rebuild_halves(
    label: &str,
    source: &dyn EventStore,
    n: u64,
    replay: &Measurement,
    dir: &Path,
) -> anyhow::Result<Vec<Measurement>> {
    let batch = RunnerOptions::default().batch_size;
    let (sample, events) = store::read_only(source, n).await?;
    let mut out = vec![diagnostic(
        label,
        "read: EventStore subscribe, no writes",
        n,
        sample,
        replay,
    )];
    let pg = store::database(&postgres().create_database().url).await?;
    let sample = store::write_only(&pg, &events, batch).await?;
    out.push(diagnostic(
        label,
        &format!("write: audit apply, PostgreSQL, {batch}/tx"),
        n,
        sample,
        replay,
    ));
    let pg_bare = store::database(&postgres().create_database().url).await?;
    bulkload::drop_secondary_indexes(&pg_bare).await?;
    let sample = store::write_only(&pg_bare, &events, batch).await?;
    out.push(diagnostic(
        label,
        &format!("write: PostgreSQL, {batch}/tx, no 2nd indexes"),
        n,
        sample,
        replay,
    ));
    let target = postgres().create_database().url;
    let pg_copy = store::database(&target).await?;
    let sample = bulkload::postgres_copy(&target, &pg_copy, &events, batch).await?;
    out.push(diagnostic(
        label,
        &format!("write: PostgreSQL COPY, {batch}/tx"),
        n,
        sample,
        replay,
    ));
    for rows in [batch, 100] {
        let lite = store::database(&sqlite_url(dir, &format!("write{rows}"))).await?;
        let sample = store::write_only(&lite, &events, rows).await?;
        out.push(diagnostic(
            label,
            &format!("write: audit apply, SQLite, {rows}/tx"),
            n,
            sample,
            replay,
        ));
    }
    let lite = store::database(&sqlite_url(dir, "positional")).await?;
    let sample = bulkload::sqlite_positional(&lite, &events, batch).await?;
    out.push(diagnostic(
        label,
        &format!("write: SQLite with ? placeholders, {batch}/tx"),
        n,
        sample,
        replay,
    ));
    Ok(out)
}

fn diagnostic(
    mode: &str,
    name: &str,
    events: u64,
    sample: Sample,
    baseline: &Measurement,
) -> Measurement {
    measure(mode, name, events, sample)
        .diagnostic()
        .against(baseline, None)
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}/{name}.db?mode=rwc", dir.display())
}

/// A measurement, also reported on stderr as it completes.
fn measure(mode: &str, name: &str, events: u64, sample: Sample) -> Measurement {
    let m = Measurement::new(mode, name, events, sample);
    eprintln!(
        "{:<15} {:<42} {:>9.0} events/s",
        m.mode, m.name, m.events_per_second
    );
    m
}

/// The embedded SQLite log does not depend on nats-server; its append is shown
/// next to the durable raw publish (`always`) for scale, with no budget.
async fn embedded(
    n: u64,
    batch: usize,
    always_publish: &Measurement,
) -> anyhow::Result<Vec<Measurement>> {
    let label = "embedded";
    let dir = tempfile::tempdir().context("temp dir for the embedded log")?;
    let log = EmbeddedStore::open(dir.path().join("events.db")).await?;
    let source: Arc<dyn EventStore> = Arc::new(log.clone());
    let sample = store::append(source.as_ref(), n, batch).await?;
    let append = measure(label, "EventStore append_batch (embedded)", n, sample)
        .against(always_publish, None);
    let lite = store::database(&sqlite_url(dir.path(), "bench")).await?;
    let (sample, profile) = store::rebuild(source.clone(), &lite, n).await?;
    let rebuild =
        measure(label, "rebuild audit trail into SQLite", n, sample).with_profile(profile);
    let (sample, _) = store::read_only(source.as_ref(), n).await?;
    let read = measure(label, "read: EventStore subscribe, no writes", n, sample).diagnostic();
    log.close().await;
    Ok(vec![append, rebuild, read])
}

fn durability_notes(postgres_fsync: bool) -> Vec<String> {
    vec![
        "always: nats-server with sync_interval: always, every PubAck after fsync (production)"
            .to_owned(),
        "server-default: nats-server's default sync every 2 minutes, PubAck before fsync"
            .to_owned(),
        format!(
            "PostgreSQL: the test cluster of aftercare-testkit, fsync={}; {}",
            if postgres_fsync { "on" } else { "off" },
            if postgres_fsync {
                "commits are synced to disk"
            } else {
                "commits are NOT synced to disk, so PostgreSQL rows/s are higher than a durable server's"
            }
        ),
        "SQLite read models: WAL with synchronous=NORMAL (aftercare-runtime)".to_owned(),
        "embedded event log: WAL with synchronous=FULL, every append batch committed to disk"
            .to_owned(),
    ]
}
