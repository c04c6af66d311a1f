//! The owner club's measurements of `make bench`: a member's card through the
//! service with 1,000,000 members and 20,000,000 ledger entries (p50, p99), and
//! the club's read-model rebuild against the raw replay of store-shaped
//! messages (same size, the two mandatory headers) of the same run. Written to
//! `target/bench/loyalty-latest.json`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare_eventstore::{
    AppendRequest, DealerId, EmbeddedStore, EventData, EventStore, Expected, JetStreamConfig,
    JetStreamStore, Position, StreamId,
};
use aftercare_loyalty::api::LoyaltyApi;
use aftercare_loyalty::projection::{MIGRATIONS, Members};
use aftercare_proto::common::v1 as common;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_proto::loyalty::v1::loyalty_service_server::LoyaltyService;
use aftercare_runtime::db::{Database, SqlValue, insert_rows};
use aftercare_runtime::projection::{Runner, RunnerOptions};
use aftercare_runtime::{DealerScope, Principal, Role};
use aftercare_testkit::{NatsServer, SyncMode, postgres};
use anyhow::{Context as _, ensure};
use jiff::Timestamp;
use prost::Message;
use serde::Serialize;

use crate::churn::Rng;
use crate::cpu::Stopwatch;
use crate::metered::Meter;
use crate::raw::{self, Shape};
use crate::report::Measurement;
use crate::{measure, store};

#[derive(Debug, clap::Args)]
pub struct LoyaltyArgs {
    /// Members behind the card latency.
    #[arg(long, default_value_t = 1_000_000)]
    loyalty_members: u64,
    /// Ledger entries per member.
    #[arg(long, default_value_t = 20)]
    loyalty_entries: u64,
    /// Cards read.
    #[arg(long, default_value_t = 500)]
    loyalty_queries: usize,
}

#[derive(Debug, Serialize)]
struct Latency {
    queries: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct LoyaltyReport {
    run_at: String,
    nproc: usize,
    cpu: String,
    members: u64,
    entries: u64,
    load_seconds: f64,
    card: Latency,
    rebuild: Vec<Measurement>,
}

const DAY: i64 = 86_400_000_000;

/// Always true: the loyalty figures are reported, not budgeted.
pub async fn run(n: u64, args: &LoyaltyArgs, now: Timestamp) -> anyhow::Result<bool> {
    let db = store::database(&postgres().create_database().url).await?;
    db.migrate(&MIGRATIONS).await?;
    eprintln!(
        "loading {} members with {} ledger entries each",
        args.loyalty_members, args.loyalty_entries
    );
    let started = Instant::now();
    load(&db, args.loyalty_members, args.loyalty_entries, now).await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let card = card_latency(&db, args.loyalty_members, args.loyalty_queries).await?;
    eprintln!(
        "member card: p50 {:.1} ms, p99 {:.1} ms ({} queries, loaded in {load_seconds:.0} s)",
        card.p50_ms, card.p99_ms, card.queries
    );

    // The rebuild against the raw replay of the same run.
    let label = "server-default";
    let server = NatsServer::start_with(SyncMode::ServerDefault);
    let (js, mut raw_stream) = raw::connect(&server.url()).await?;
    raw::publish(&js, &mut raw_stream, n, Shape::Guarantees).await?;
    let replay = measure(
        label,
        Shape::Guarantees.replay_label(),
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
    let events = append_members(jetstream.as_ref(), n, now).await?;
    let pg = store::database(&postgres().create_database().url).await?;
    pg.migrate(&MIGRATIONS).await?;
    let meter = Meter::default();
    let runner = Runner::projection(
        meter.projection(Arc::new(Members {
            dealers: Arc::new(Default::default()),
        })),
        meter.store(jetstream.clone()),
        pg.clone(),
        RunnerOptions::default(),
    );
    let watch = Stopwatch::start();
    let progress = runner.rebuild().await.context("rebuilding the club")?;
    let sample = watch.stop();
    ensure!(
        progress.position >= Position(events),
        "the rebuild stopped at {}",
        progress.position
    );
    ensure!(
        progress.dead_lettered == 0,
        "{} events dead-lettered",
        progress.dead_lettered
    );
    let rebuild = measure(label, "rebuild of the club into PostgreSQL", events, sample)
        .against(&replay, None)
        .with_profile(meter.profile());

    let (cpu, _) = crate::report::cpu_and_kernel();
    let report = LoyaltyReport {
        run_at: now.to_string(),
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        cpu,
        members: args.loyalty_members,
        entries: args.loyalty_members * args.loyalty_entries,
        load_seconds,
        card,
        rebuild: vec![replay, rebuild],
    };
    print(&report);
    let path = crate::report::write_json("loyalty", now, &report)?;
    println!("\nwritten to {} and loyalty-latest.json", path.display());
    Ok(true)
}

/// `members` members of dealer D001 with their names and `per_member` ledger
/// entries each over the last three years, written straight into the read
/// model.
async fn load(db: &Database, members: u64, per_member: u64, now: Timestamp) -> anyhow::Result<()> {
    let mut rng = Rng::new(5);
    let mut conn = db.pool.acquire().await?;
    let mut member_rows = Vec::new();
    let mut customer_rows = Vec::new();
    let mut entry_rows = Vec::new();
    for m in 0..members {
        let customer = uuid::Uuid::from_u128(u128::from(m) + 1).to_string();
        let member = aftercare_loyalty::events::member_id("D001", &customer);
        let mut balance = 0;
        for e in 0..per_member {
            let at = now.as_microsecond() - rng.below(3 * 365) as i64 * DAY;
            let redeemed = e % 5 == 4;
            let points = if redeemed {
                -100
            } else {
                200 + rng.below(800) as i64
            };
            balance += points;
            entry_rows.push(vec![
                SqlValue::Text(format!("entry-{e}")),
                SqlValue::Text(member.clone()),
                SqlValue::Text("D001".into()),
                SqlValue::Text(if redeemed { "redeemed" } else { "earned" }.into()),
                SqlValue::Text(if redeemed { "" } else { "visit" }.into()),
                SqlValue::Int(points),
                SqlValue::Int(i64::from(!redeemed)),
                SqlValue::Int(at),
                SqlValue::Text(format!("RO-{m}-{e}")),
                SqlValue::Text(String::new()),
                SqlValue::Int(0),
            ]);
        }
        member_rows.push(vec![
            SqlValue::Text(member),
            SqlValue::Text("D001".into()),
            SqlValue::Text(customer.clone()),
            SqlValue::Text("green".into()),
            SqlValue::Text(String::new()),
            SqlValue::Int(0),
            SqlValue::Int(1),
            SqlValue::Int(balance),
            SqlValue::Int(rng.below(4) as i64),
            SqlValue::Text(format!("veh-{m}")),
            SqlValue::Int(now.as_microsecond() - 1_000 * DAY),
            SqlValue::Int(0),
        ]);
        customer_rows.push(vec![
            SqlValue::Text(customer),
            SqlValue::Text("D001".into()),
            SqlValue::Text(format!("会员{m}")),
        ]);
        if entry_rows.len() >= 40_000 {
            flush(
                &mut conn,
                &mut member_rows,
                &mut customer_rows,
                &mut entry_rows,
            )
            .await?;
        }
    }
    flush(
        &mut conn,
        &mut member_rows,
        &mut customer_rows,
        &mut entry_rows,
    )
    .await?;
    sqlx::query("VACUUM ANALYZE loyalty_entries")
        .execute(&mut *conn)
        .await?;
    sqlx::query("VACUUM ANALYZE loyalty_members")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn flush(
    conn: &mut sqlx::AnyConnection,
    members: &mut Vec<Vec<SqlValue>>,
    customers: &mut Vec<Vec<SqlValue>>,
    entries: &mut Vec<Vec<SqlValue>>,
) -> anyhow::Result<()> {
    insert_rows(
        conn,
        "loyalty_members",
        &[
            "member_id",
            "dealer",
            "customer_id",
            "card",
            "card_reason",
            "vip",
            "owner",
            "balance",
            "referred",
            "vehicles",
            "joined_at",
            "position",
        ],
        "",
        members,
    )
    .await?;
    insert_rows(
        conn,
        "loyalty_customers",
        &["customer_id", "dealer", "name"],
        "",
        customers,
    )
    .await?;
    insert_rows(
        conn,
        "loyalty_entries",
        &[
            "entry_id",
            "member_id",
            "dealer",
            "kind",
            "source",
            "points",
            "from_spend",
            "at",
            "detail",
            "partner_id",
            "value_fen",
        ],
        "",
        entries,
    )
    .await?;
    members.clear();
    customers.clear();
    entries.clear();
    Ok(())
}

/// Cards of random members through the service implementation (no network).
async fn card_latency(db: &Database, members: u64, queries: usize) -> anyhow::Result<Latency> {
    let dir = tempfile::tempdir()?;
    let api = LoyaltyApi {
        store: Arc::new(EmbeddedStore::open(dir.path().join("events.db")).await?),
        db: db.clone(),
        members: None,
        dealers: Arc::new(Default::default()),
        read_timeout: Duration::from_secs(5),
        allow_future_as_of: false,
    };
    let principal = Arc::new(Principal {
        name: "bench".to_owned(),
        roles: [Role::CareManager].into(),
        scope: DealerScope::Dealer(DealerId::parse("D001")?),
    });
    let mut rng = Rng::new(9);
    let mut times = Vec::with_capacity(queries);
    for _ in 0..queries {
        let customer = uuid::Uuid::from_u128(u128::from(rng.below(members)) + 1).to_string();
        let mut request = tonic::Request::new(pb::GetMemberRequest {
            dealer: Some(common::DealerId {
                value: "D001".into(),
            }),
            customer_id: customer,
            consistency: None,
        });
        request.extensions_mut().insert(principal.clone());
        let started = Instant::now();
        let card = api.get_member(request).await.context("card")?.into_inner();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(card.window_points > 0, "a card without points");
    }
    let p = crate::report::percentiles(times);
    Ok(Latency {
        queries,
        p50_ms: p.p50,
        p99_ms: p.p99,
        max_ms: p.max,
    })
}

/// About `n` member events: members joining with a vehicle and earning on
/// eight visits each.
async fn append_members(store: &dyn EventStore, n: u64, now: Timestamp) -> anyhow::Result<u64> {
    let dealer = DealerId::parse("D001")?;
    let mut requests = Vec::new();
    let ts = |t: Timestamp| Some(aftercare_proto::calendar::timestamp(t));
    for m in 0..(n / 10).max(1) {
        let member = format!("m-{m}");
        let stream = StreamId::new(dealer.clone(), "member", member.clone())?;
        let mut events = vec![
            EventData::new(
                aftercare_proto::event_types::loyalty::MEMBER_JOINED,
                pb::MemberJoined {
                    member_id: member.clone(),
                    customer_id: format!("c-{m}"),
                    card: pb::Card::Green as i32,
                    at: ts(now),
                }
                .encode_to_vec(),
            ),
            EventData::new(
                aftercare_proto::event_types::loyalty::VEHICLE_LINKED,
                pb::VehicleLinked {
                    member_id: member.clone(),
                    vehicle_id: format!("v-{m}"),
                    at: ts(now),
                }
                .encode_to_vec(),
            ),
        ];
        for v in 0..8 {
            events.push(EventData::new(
                aftercare_proto::event_types::loyalty::POINTS_EARNED,
                pb::PointsEarned {
                    member_id: member.clone(),
                    entry_id: format!("visit/{m}-{v}"),
                    source: pb::PointsSource::Visit as i32,
                    reference: format!("{m}-{v}"),
                    points: 500,
                    from_spend: true,
                    at: ts(now),
                    note: format!("RO-{m}-{v}: labour 300.00, parts 200.00"),
                }
                .encode_to_vec(),
            ));
        }
        requests.push(AppendRequest {
            stream,
            expected: Expected::NoStream,
            events,
        });
    }
    let mut appended = 0;
    let mut requests = requests.into_iter();
    loop {
        // Ten events a member: a few dozen members per atomic batch.
        let chunk: Vec<AppendRequest> = requests.by_ref().take(50).collect();
        if chunk.is_empty() {
            break;
        }
        for result in store.append_batch(chunk).await {
            result.context("appending the members")?;
            appended += 10;
        }
    }
    Ok(appended)
}

fn print(r: &LoyaltyReport) {
    println!();
    println!(
        "aftercare loyalty benchmark, {} ({} cores, {})",
        r.run_at, r.nproc, r.cpu
    );
    println!();
    println!(
        "member card over {} members and {} ledger entries (loaded in {:.0} s): {} queries, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        r.members,
        r.entries,
        r.load_seconds,
        r.card.queries,
        r.card.p50_ms,
        r.card.p99_ms,
        r.card.max_ms
    );
    println!();
    println!(
        "{:<52} | {:>8} | {:>9} | {:>5}",
        "rebuild", "events", "events/s", "ratio"
    );
    for m in &r.rebuild {
        println!(
            "{:<52} | {:>8} | {:>9.0} | {:>5}",
            m.name,
            m.events,
            m.events_per_second,
            m.ratio.map_or("-".to_owned(), |x| format!("{x:.2}")),
        );
    }
}
