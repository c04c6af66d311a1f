//! `make bench --suite online`: a read model rebuilt while it serves. The
//! churn counters of a generated history are live (their runner following the
//! log) while clients query them at a held rate; `OnlineRebuild` builds the new
//! version beside them and swaps it in. Reported: the rebuild's own rate, the
//! query rate held during it, the queries' latency, and how many failed or saw
//! an empty table (the check fails unless both are 0). Written to
//! `target/bench/online-latest.json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aftercare_analytics::config::ChurnDealers;
use aftercare_analytics::projection::{ChurnCounters, MIGRATIONS, RECOUNT_KEYS};
use aftercare_eventstore::{EventStore, JetStreamConfig, JetStreamStore};
use aftercare_runtime::Secret;
use aftercare_runtime::projection::{OnlineRebuild, RUNTIME_MIGRATIONS, Runner, RunnerOptions};
use aftercare_testkit::{NatsServer, SyncMode, postgres};
use anyhow::Context as _;
use serde::Serialize;
use tokio::sync::Mutex;

#[derive(Debug, clap::Args)]
pub struct OnlineArgs {
    /// Vehicles of the generated history (ten visits each).
    #[arg(long, default_value_t = 20_000)]
    online_vehicles: u64,
    /// Queries a second the clients hold during the rebuild.
    #[arg(long, default_value_t = 50)]
    online_query_rate: u32,
}

#[derive(Debug, Serialize)]
struct OnlineReport {
    run_at: String,
    nproc: usize,
    cpu: String,
    events: u64,
    rebuild_seconds: f64,
    rebuild_events_per_second: f64,
    /// The rate asked for, and the rate the clients held while it rebuilt.
    query_rate_asked: u32,
    query_rate_held: f64,
    queries: u64,
    failed: u64,
    saw_empty: u64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
    every_query_answered: bool,
}

fn churn() -> Arc<ChurnCounters> {
    Arc::new(ChurnCounters {
        dealers: Arc::new(ChurnDealers::default()),
        recount_keys: RECOUNT_KEYS,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// True when every query was answered and none saw an empty table.
pub async fn run(args: &OnlineArgs, now: jiff::Timestamp) -> anyhow::Result<bool> {
    let server = NatsServer::start_with(SyncMode::ServerDefault);
    let jetstream = JetStreamStore::connect(JetStreamConfig {
        url: server.url(),
        ..Default::default()
    })
    .await?;
    eprintln!("appending a history of {} vehicles", args.online_vehicles);
    let events = crate::churn::append_history(&jetstream, args.online_vehicles, 10).await?;
    let store: Arc<dyn EventStore> = Arc::new(jetstream);
    let url = postgres().create_database().url;
    let db = crate::store::database(&url).await?;
    db.migrate(&RUNTIME_MIGRATIONS).await?;
    db.migrate(&MIGRATIONS).await?;
    let live = Runner::projection(churn(), store.clone(), db.clone(), RunnerOptions::default());
    let live_progress = live.handle();
    let live_task = tokio::spawn(live.run(std::future::pending()));
    live_progress
        .wait_for(store.head().await?, Duration::from_secs(1800))
        .await
        .context("the live read model catching up")?;

    // Clients asking one dealer's vehicles and counters at a held rate.
    let done = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (failed, empty) = (Arc::new(Mutex::new(0u64)), Arc::new(Mutex::new(0u64)));
    let clients = {
        let (db, done, latencies) = (db.clone(), done.clone(), latencies.clone());
        let (failed, empty) = (failed.clone(), empty.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(args.online_query_rate.max(1)));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut asked = Vec::new();
            while !done.load(Ordering::SeqCst) {
                tick.tick().await;
                let (db, latencies) = (db.clone(), latencies.clone());
                let (failed, empty) = (failed.clone(), empty.clone());
                asked.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let answer: Result<(i64, i64), sqlx::Error> = async {
                        let vehicles: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM analytics_vehicles WHERE dealer = $1",
                        )
                        .bind("D001")
                        .fetch_one(&db.pool)
                        .await?;
                        let base: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM analytics_churn_base WHERE dealer = $1",
                        )
                        .bind("D001")
                        .fetch_one(&db.pool)
                        .await?;
                        Ok((vehicles, base))
                    }
                    .await;
                    let took = started.elapsed().as_secs_f64() * 1000.0;
                    match answer {
                        Ok((0, _) | (_, 0)) => *empty.lock().await += 1,
                        Ok(_) => {}
                        Err(err) => {
                            eprintln!("a query failed: {err}");
                            *failed.lock().await += 1;
                        }
                    }
                    latencies.lock().await.push(took);
                }));
            }
            for query in asked {
                let _ = query.await;
            }
        })
    };
    let started = Instant::now();
    OnlineRebuild {
        projection: churn(),
        migrations: MIGRATIONS,
        store: store.clone(),
        db: db.clone(),
        url: Secret::new(url.clone()),
        options: RunnerOptions::default(),
    }
    .run(|_| {})
    .await
    .context("the online rebuild")?;
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    clients.await?;
    live_task.abort();
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_by(f64::total_cmp);
    let queries = latencies.len() as u64;
    let (failed, saw_empty) = (*failed.lock().await, *empty.lock().await);
    let (cpu, _) = crate::report::cpu_and_kernel();
    let report = OnlineReport {
        run_at: now.to_string(),
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        cpu,
        events,
        rebuild_seconds: seconds,
        rebuild_events_per_second: events as f64 / seconds,
        query_rate_asked: args.online_query_rate,
        query_rate_held: queries as f64 / seconds,
        queries,
        failed,
        saw_empty,
        latency_p50_ms: percentile(&latencies, 0.50),
        latency_p99_ms: percentile(&latencies, 0.99),
        latency_max_ms: latencies.last().copied().unwrap_or(0.0),
        every_query_answered: failed == 0 && saw_empty == 0,
    };
    println!();
    println!(
        "online rebuild of the churn counters: {} events in {:.1} s ({:.0}/s) while it served",
        report.events, report.rebuild_seconds, report.rebuild_events_per_second
    );
    println!(
        "queries during it: {} at {:.1}/s (asked {}/s), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; failed {}, saw an empty table {}",
        report.queries,
        report.query_rate_held,
        report.query_rate_asked,
        report.latency_p50_ms,
        report.latency_p99_ms,
        report.latency_max_ms,
        report.failed,
        report.saw_empty
    );
    let path = crate::report::write_json("online", now, &report)?;
    println!("\nwritten to {} and online-latest.json", path.display());
    Ok(report.every_query_answered)
}
