//! The churn measurements of `make bench`: the analytics rebuild against the raw
//! replay of the same run, and the churn report's latency at group scale. Written
//! to `target/bench/churn-latest.json`.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, JetStreamConfig, JetStreamStore};
use aftercare_runtime::DealerScope;
use aftercare_testkit::{NatsServer, SyncMode, postgres};
use anyhow::Context as _;
use serde::Serialize;

use crate::churn::{self, ChurnScale, Latency};
use crate::raw::{self, Shape};
use crate::report::Measurement;
use crate::{measure, sqlite_url, store};

const REBUILD_TARGET: f64 = 0.5;

#[derive(Debug, clap::Args)]
pub struct ChurnArgs {
    /// Vehicles behind the report latency (a dealer group's fleet).
    #[arg(long, default_value_t = 1_000_000)]
    churn_vehicles: u64,
    /// Dealers the fleet is spread over.
    #[arg(long, default_value_t = 20)]
    churn_dealers: usize,
    /// Service visits a vehicle would make over the six years of history, on
    /// average, were it not sold late or lost; 12 gives about 10M visits for 1M
    /// vehicles.
    #[arg(long, default_value_t = 12)]
    churn_visits: u32,
    /// Reports timed per scope.
    #[arg(long, default_value_t = 200)]
    churn_queries: usize,
}

#[derive(Debug, Serialize)]
struct ChurnReport {
    run_at: String,
    nproc: usize,
    cpu: String,
    nats_server_version: String,
    rebuild: Vec<Measurement>,
    scale: ChurnScale,
    latency: Vec<Latency>,
    targets_met: bool,
}

/// True when every target is met.
pub async fn run(n: u64, args: &ChurnArgs, now: jiff::Timestamp) -> anyhow::Result<bool> {
    let label = "server-default";
    // The replay rate does not depend on when the server syncs; the default mode
    // writes the log quickly.
    let server = NatsServer::start_with(SyncMode::ServerDefault);
    let (js, mut raw_stream) = raw::connect(&server.url()).await?;
    raw::publish(&js, &mut raw_stream, n, Shape::Plain).await?;
    let replay = measure(
        label,
        "raw ordered replay, median of 3",
        n,
        raw::replay_median(&raw_stream, n, raw::REPLAY_RUNS).await?,
    );
    let jetstream: Arc<dyn EventStore> = Arc::new(
        JetStreamStore::connect(JetStreamConfig {
            url: server.url(),
            ..Default::default()
        })
        .await?,
    );
    // About n events: a tenth as many vehicles, their sales and visits.
    let events = churn::append_history(jetstream.as_ref(), n / 10, 10).await?;
    let pg = store::database(&postgres().create_database().url).await?;
    let (sample, profile) = churn::rebuild(jetstream.clone(), &pg, events).await?;
    let rebuild_pg = measure(
        label,
        "rebuild churn counters into PostgreSQL",
        events,
        sample,
    )
    .against(&replay, Some(REBUILD_TARGET))
    .with_profile(profile);
    let dir = tempfile::tempdir().context("temp dir for SQLite")?;
    let lite = store::database(&sqlite_url(dir.path(), "churn")).await?;
    let (sample, profile) = churn::rebuild(jetstream.clone(), &lite, events).await?;
    let rebuild_lite = measure(label, "rebuild churn counters into SQLite", events, sample)
        .against(&replay, Some(REBUILD_TARGET))
        .with_profile(profile);

    let big = store::database(&postgres().create_database().url).await?;
    big.migrate(&aftercare_analytics::projection::MIGRATIONS)
        .await?;
    eprintln!(
        "loading churn counters of {} vehicles over {} dealers",
        args.churn_vehicles, args.churn_dealers
    );
    let scale = churn::load(
        &big,
        args.churn_dealers,
        args.churn_vehicles,
        args.churn_visits,
    )
    .await?;
    let dealers: Vec<String> = (1..=args.churn_dealers)
        .map(|d| format!("D{d:03}"))
        .collect();
    let group = DealerScope::Group {
        name: "bench".to_owned(),
        dealers: dealers
            .iter()
            .map(|d| aftercare_eventstore::DealerId::parse(d.as_str()))
            .collect::<Result<_, _>>()?,
    };
    let mut latency = Vec::new();
    latency.push(
        churn::latency(
            &big,
            &format!("ChurnReport, group of {} dealers", args.churn_dealers),
            Vec::new(),
            group.clone(),
            args.churn_queries,
        )
        .await?,
    );
    latency.push(
        churn::latency(
            &big,
            "ChurnReport, one dealer",
            vec!["D001".to_owned()],
            group,
            args.churn_queries,
        )
        .await?,
    );

    let (cpu, _) = crate::report::cpu_and_kernel();
    let rebuild = vec![replay, rebuild_pg, rebuild_lite];
    let targets_met = rebuild.iter().all(|m| m.met != Some(false)) && latency.iter().all(|l| l.met);
    let report = ChurnReport {
        run_at: now.to_string(),
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        cpu,
        nats_server_version: crate::report::nats_server_version()?,
        rebuild,
        scale,
        latency,
        targets_met,
    };
    print(&report);
    let path = crate::report::write_json("churn", now, &report)?;
    println!("\nwritten to {} and churn-latest.json", path.display());
    Ok(targets_met)
}

fn print(r: &ChurnReport) {
    println!();
    println!(
        "aftercare churn benchmark, {} ({} cores, {})",
        r.run_at, r.nproc, r.cpu
    );
    println!();
    println!(
        "{:<44} | {:>8} | {:>9} | {:>5} | target",
        "rebuild", "events", "events/s", "ratio"
    );
    for m in &r.rebuild {
        println!(
            "{:<44} | {:>8} | {:>9.0} | {:>5} | {}",
            m.name,
            m.events,
            m.events_per_second,
            m.ratio.map_or("-".to_owned(), |x| format!("{x:.2}")),
            m.target.map_or("baseline".to_owned(), |t| format!(
                "≥ {t} {}",
                if m.met == Some(true) {
                    "met"
                } else {
                    "NOT met"
                }
            )),
        );
    }
    for m in &r.rebuild {
        if let Some(p) = &m.rebuild_profile {
            println!(
                "  {}: reading {:.2} s (alongside), applying {:.2} s in {} transactions, recounting {:.2} s",
                m.name, p.reading_seconds, p.applying_seconds, p.batches, p.finishing_seconds
            );
        }
    }
    let s = &r.scale;
    println!();
    println!(
        "report latency over {} dealers, {} vehicles, {} visits, {} sales ({} cohort + {} base counter rows, loaded in {:.0} s)",
        s.dealers, s.vehicles, s.visits, s.sales, s.cohort_rows, s.base_rows, s.load_seconds
    );
    for l in &r.latency {
        println!(
            "{:<44} | {:>4} queries | p50 {:>6.1} ms | p99 {:>6.1} ms | max {:>6.1} ms | p50 ≤ {} ms {}",
            l.name,
            l.queries,
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
            l.target_p50_ms,
            if l.met { "met" } else { "NOT met" }
        );
    }
}
