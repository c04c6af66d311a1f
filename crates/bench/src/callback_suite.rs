//! The callback measurements of `make bench`: the worklist query with 100,000
//! open tasks over 50 agents (p50 and p99, per agent and for the whole
//! dealer), and the scheduler against a DMS backfill of recent visits in the
//! same run (tasks scheduled per second; the backfill's append rate to the log
//! as the baseline). Written to `target/bench/callback-latest.json`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare_callback::api::CallbackApi;
use aftercare_callback::projection::{MIGRATIONS, Tasks};
use aftercare_eventstore::{
    AppendRequest, DealerId, EmbeddedStore, EventData, EventStore, Expected, JetStreamConfig,
    JetStreamStore, Position, StreamId,
};
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::callback::v1::callback_service_server::CallbackService;
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::db::{Database, SqlValue, insert_rows};
use aftercare_runtime::projection::{Runner, RunnerOptions};
use aftercare_runtime::{DealerScope, Principal, Role};
use aftercare_testkit::{NatsServer, SyncMode, postgres};
use anyhow::{Context as _, ensure};
use jiff::{SignedDuration, Timestamp};
use prost::Message;
use serde::Serialize;

use crate::churn::Rng;
use crate::cpu::Stopwatch;
use crate::metered::Meter;
use crate::report::Measurement;
use crate::{measure, store};

#[derive(Debug, clap::Args)]
pub struct CallbackArgs {
    /// Open tasks behind the worklist latency.
    #[arg(long, default_value_t = 100_000)]
    callback_tasks: u64,
    /// Agents the tasks are spread over.
    #[arg(long, default_value_t = 50)]
    callback_agents: u64,
    /// Worklist queries timed per view.
    #[arg(long, default_value_t = 500)]
    callback_queries: usize,
}

#[derive(Debug, Serialize)]
struct WorklistLatency {
    name: String,
    queries: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct CallbackReport {
    run_at: String,
    nproc: usize,
    cpu: String,
    open_tasks: u64,
    agents: u64,
    latency: Vec<WorklistLatency>,
    backfill: Vec<Measurement>,
    /// Tasks the scheduler wrote, and how many a second.
    tasks_scheduled: u64,
    tasks_per_second: f64,
}

/// Always true: the callback figures are reported, not budgeted.
pub async fn run(n: u64, args: &CallbackArgs, now: Timestamp) -> anyhow::Result<bool> {
    let db = store::database(&postgres().create_database().url).await?;
    db.migrate(&MIGRATIONS).await?;
    eprintln!(
        "loading {} open tasks over {} agents",
        args.callback_tasks, args.callback_agents
    );
    load_tasks(&db, args.callback_tasks, args.callback_agents, now).await?;
    let latency = vec![
        worklist_latency(
            &db,
            "worklist of one agent",
            Some(args.callback_agents),
            args.callback_queries,
        )
        .await?,
        worklist_latency(
            &db,
            "worklist of the whole dealer",
            None,
            args.callback_queries,
        )
        .await?,
    ];

    // The scheduler against a backfill of recent visits.
    let server = NatsServer::start_with(SyncMode::ServerDefault);
    let jetstream: Arc<dyn EventStore> = Arc::new(
        JetStreamStore::connect(JetStreamConfig {
            url: server.url(),
            ..Default::default()
        })
        .await?,
    );
    let label = "server-default";
    let (events, sample) = append_backfill(jetstream.as_ref(), n, now).await?;
    let append = measure(label, "DMS backfill appended to the log", events, sample);
    let pg = store::database(&postgres().create_database().url).await?;
    pg.migrate(&MIGRATIONS).await?;
    let meter = Meter::default();
    let runner = Runner::projection(
        meter.projection(Arc::new(Tasks {
            dealers: Arc::new(Default::default()),
        })),
        meter.store(jetstream.clone()),
        pg.clone(),
        RunnerOptions::default(),
    );
    let watch = Stopwatch::start();
    let progress = runner
        .rebuild()
        .await
        .context("scheduling from the backfill")?;
    let sample = watch.stop();
    ensure!(
        progress.position == Position(events),
        "the scheduler stopped at {}",
        progress.position
    );
    ensure!(
        progress.dead_lettered == 0,
        "{} events dead-lettered",
        progress.dead_lettered
    );
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM callback_tasks")
        .fetch_one(&pg.pool)
        .await?;
    ensure!(tasks > 0, "nothing scheduled");
    let tasks_per_second = tasks as f64 / sample.elapsed.as_secs_f64().max(f64::EPSILON);
    let scheduler = measure(
        label,
        "callback scheduler over the backfill (PostgreSQL)",
        events,
        sample,
    )
    .against(&append, None)
    .with_profile(meter.profile());

    let (cpu, _) = crate::report::cpu_and_kernel();
    let report = CallbackReport {
        run_at: now.to_string(),
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        cpu,
        open_tasks: args.callback_tasks,
        agents: args.callback_agents,
        latency,
        backfill: vec![append, scheduler],
        tasks_scheduled: tasks as u64,
        tasks_per_second,
    };
    print(&report);
    let path = crate::report::write_json("callback", now, &report)?;
    println!("\nwritten to {} and callback-latest.json", path.display());
    Ok(true)
}

const KINDS: [&str; 6] = [
    "post-service",
    "post-service",
    "post-sale",
    "lead",
    "maintenance",
    "winback",
];

/// `count` open tasks of dealer D001 over `agents` agents (half claimed), due
/// from 30 days ago to 30 days ahead, with their customers; and a few other
/// dealers' tasks beside them.
async fn load_tasks(db: &Database, count: u64, agents: u64, now: Timestamp) -> anyhow::Result<()> {
    let mut rng = Rng::new(7);
    let customers = (count / 5).max(1);
    let mut conn = db.pool.acquire().await?;
    let mut rows = Vec::new();
    for c in 0..customers {
        rows.push(vec![
            SqlValue::Text(format!("cust-{c}")),
            SqlValue::Text("D001".into()),
            SqlValue::Text(format!("客户{c}")),
            SqlValue::Text(format!("138{c:08}")),
            SqlValue::Int(1),
        ]);
    }
    insert_rows(
        &mut conn,
        "callback_customers",
        &["customer_id", "dealer", "name", "phone", "phone_consent"],
        "",
        &rows,
    )
    .await?;
    let day = 86_400_000_000i64;
    let mut rows = Vec::new();
    for t in 0..count + count / 10 {
        let dealer = if t < count { "D001" } else { "D002" };
        let due = now.as_microsecond() + (rng.below(60 * 24) as i64 - 30 * 24) * day / 24;
        let agent = format!("agent-{}", rng.below(agents));
        let claimed = rng.below(2) == 0;
        rows.push(vec![
            SqlValue::Text(format!("task-{t}")),
            SqlValue::Text(dealer.into()),
            SqlValue::Text(KINDS[rng.below(KINDS.len() as u64) as usize].into()),
            SqlValue::Text(if claimed { "claimed" } else { "open" }.into()),
            SqlValue::Text(format!("cust-{}", rng.below(customers))),
            SqlValue::Text(format!("veh-{t}")),
            SqlValue::Text(format!("LSVAG2180E{t:07}")),
            SqlValue::Text("科鲁兹".into()),
            SqlValue::Text(String::new()),
            SqlValue::Text(String::new()),
            SqlValue::Text(String::new()),
            SqlValue::Text(agent.clone()),
            SqlValue::Text(if claimed { agent } else { String::new() }),
            SqlValue::Text(format!("visit RO-{t}")),
            SqlValue::Int(due - 3 * day),
            SqlValue::Int(due),
            SqlValue::Int(due + 14 * day),
            SqlValue::Int(0),
            SqlValue::Text(String::new()),
        ]);
        if rows.len() == 10_000 {
            insert_task_rows(&mut conn, &rows).await?;
            rows.clear();
        }
    }
    insert_task_rows(&mut conn, &rows).await?;
    if db.backend == aftercare_runtime::db::Backend::Postgres {
        sqlx::query("ANALYZE callback_tasks")
            .execute(&mut *conn)
            .await?;
        sqlx::query("ANALYZE callback_customers")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_task_rows(
    conn: &mut sqlx::AnyConnection,
    rows: &[Vec<SqlValue>],
) -> anyhow::Result<()> {
    insert_rows(
        conn,
        "callback_tasks",
        &[
            "task_id",
            "dealer",
            "kind",
            "status",
            "customer_id",
            "vehicle_id",
            "vin",
            "model",
            "lead_id",
            "contact_name",
            "contact_phone",
            "assignee",
            "claimed_by",
            "cause",
            "opens_at",
            "due_at",
            "closes_at",
            "attempts",
            "caller",
        ],
        "",
        rows,
    )
    .await?;
    Ok(())
}

/// `queries` first pages of the worklist through the service implementation
/// (no network): one agent's (of `agents`, in turn) or the whole dealer's.
async fn worklist_latency(
    db: &Database,
    name: &str,
    agents: Option<u64>,
    queries: usize,
) -> anyhow::Result<WorklistLatency> {
    let dir = tempfile::tempdir()?;
    let api = CallbackApi {
        store: Arc::new(EmbeddedStore::open(dir.path().join("events.db")).await?),
        db: db.clone(),
        vault: aftercare_runtime::privacy::Vault::new(db.clone()),
        tasks: None,
        dealers: Arc::new(Default::default()),
        read_timeout: Duration::from_secs(5),
        allow_future_as_of: false,
    };
    let principal = Arc::new(Principal {
        name: "bench".to_owned(),
        roles: [Role::CareManager].into(),
        scope: DealerScope::Dealer(DealerId::parse("D001")?),
    });
    let mut times = Vec::with_capacity(queries);
    for i in 0..queries {
        let assignee = agents.map_or(String::new(), |a| format!("agent-{}", i as u64 % a));
        let mut request = tonic::Request::new(pb::WorklistRequest {
            dealer: Some(common::DealerId {
                value: "D001".into(),
            }),
            assignee,
            ..Default::default()
        });
        request.extensions_mut().insert(principal.clone());
        let started = Instant::now();
        let answer = api
            .worklist(request)
            .await
            .context("worklist")?
            .into_inner();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(
            !answer.tasks.is_empty() && answer.total > 0,
            "an empty worklist"
        );
    }
    let p = crate::report::percentiles(times);
    Ok(WorklistLatency {
        name: name.to_owned(),
        queries,
        p50_ms: p.p50,
        p99_ms: p.p99,
        max_ms: p.max,
    })
}

/// A DMS backfill of `n` events: customers who take calls (one in five
/// events) and their maintenance and repair visits of the last two days, so
/// that every visit schedules calls. The append's time and the event count.
async fn append_backfill(
    store: &dyn EventStore,
    n: u64,
    now: Timestamp,
) -> anyhow::Result<(u64, crate::cpu::Sample)> {
    let dealer = DealerId::parse("D001")?;
    let mut rng = Rng::new(11);
    let mut requests = Vec::with_capacity(n as usize);
    let mut customer = 0u64;
    for i in 0..n {
        if i % 5 == 0 {
            customer = i / 5;
            let id = format!("cust-{customer}");
            let event = intake::CustomerRegistered {
                customer_id: id.clone(),
                profile: Some(intake::CustomerProfile {
                    name: format!("客户{customer}"),
                    phones: vec![intake::Phone {
                        number: format!("139{customer:08}"),
                        kind: intake::PhoneKind::Mobile as i32,
                    }],
                    ..Default::default()
                }),
                consents: vec![intake::Consent {
                    channel: intake::ContactChannel::Phone as i32,
                    granted: true,
                }],
            };
            requests.push(AppendRequest {
                stream: StreamId::new(dealer.clone(), "customer", id)?,
                expected: Expected::Any,
                events: vec![EventData::new(
                    aftercare_proto::event_types::intake::CUSTOMER_REGISTERED,
                    event.encode_to_vec(),
                )],
            });
            continue;
        }
        let closed = now - SignedDuration::from_mins(rng.below(48 * 60) as i64 + 1);
        let visit = intake::VisitRecorded {
            visit_id: format!("visit-{i}"),
            repair_order: format!("RO-{i}"),
            vehicle_id: format!("veh-{customer}"),
            vin: format!("BENCH{customer:012}"),
            customer_id: format!("cust-{customer}"),
            opened_at: Some(aftercare_proto::calendar::timestamp(closed)),
            closed_at: Some(aftercare_proto::calendar::timestamp(closed)),
            mileage_km: 10_000 + (i as u32 % 5) * 3_000,
            kind: if rng.below(10) < 7 {
                intake::VisitKind::Maintenance
            } else {
                intake::VisitKind::Repair
            } as i32,
            labour: Some(common::Money { fen: 30_000 }),
            parts: Some(common::Money { fen: 50_000 }),
            service_advisor: format!("顾问{}", rng.below(12)),
            advisor_group: "A组".to_owned(),
            fault_codes: vec![],
        };
        requests.push(AppendRequest {
            stream: StreamId::new(dealer.clone(), "visit", format!("visit-{i}"))?,
            expected: Expected::Any,
            events: vec![EventData::new(
                aftercare_proto::event_types::intake::VISIT_RECORDED,
                visit.encode_to_vec(),
            )],
        });
    }
    let watch = Stopwatch::start();
    let mut requests = requests.into_iter();
    loop {
        let chunk: Vec<AppendRequest> = requests.by_ref().take(10_000).collect();
        if chunk.is_empty() {
            break;
        }
        for result in store.append_batch(chunk).await {
            result.context("appending the backfill")?;
        }
    }
    Ok((n, watch.stop()))
}

fn print(r: &CallbackReport) {
    println!();
    println!(
        "aftercare callback benchmark, {} ({} cores, {})",
        r.run_at, r.nproc, r.cpu
    );
    println!();
    println!(
        "worklist over {} open tasks of one dealer (and a tenth as many of another), {} agents",
        r.open_tasks, r.agents
    );
    for l in &r.latency {
        println!(
            "{:<44} | {:>4} queries | p50 {:>6.1} ms | p99 {:>6.1} ms | max {:>6.1} ms",
            l.name, l.queries, l.p50_ms, l.p99_ms, l.max_ms
        );
    }
    println!();
    println!(
        "{:<52} | {:>8} | {:>9} | {:>5}",
        "backfill", "events", "events/s", "ratio"
    );
    for m in &r.backfill {
        println!(
            "{:<52} | {:>8} | {:>9.0} | {:>5}",
            m.name,
            m.events,
            m.events_per_second,
            m.ratio.map_or("-".to_owned(), |x| format!("{x:.2}")),
        );
    }
    println!(
        "tasks scheduled: {} ({:.0} a second)",
        r.tasks_scheduled, r.tasks_per_second
    );
}
