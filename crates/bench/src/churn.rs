//! Churn at the scale of a dealer group: the analytics rebuild from a log of
//! DMS visits and sales against the raw replay of the same run, and the churn
//! report's latency over counters of 1M vehicles and 10M visits.
//!
//! The large read model is loaded from the counters the domain computes for each
//! generated vehicle history (the same `counters()` the projection moves by; the
//! projection tests show a replay gives identical counters), because replaying
//! 10M events here would measure the rebuild again, not the report.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare_analytics::api::AnalyticsApi;
use aftercare_analytics::config::ChurnDealers;
use aftercare_analytics::domain::Month;
use aftercare_analytics::domain::history::{Counters, VehicleHistory, VisitMark};
use aftercare_analytics::projection::{ChurnCounters, MIGRATIONS, write_counters};
use aftercare_eventstore::{
    AppendRequest, DealerId, EventData, EventStore, Expected, Position, StreamId,
};
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsService;
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::projection::{Runner, RunnerOptions};
use aftercare_runtime::{Database, DealerScope, Principal, Role};
use anyhow::{Context as _, ensure};
use prost::Message;
use serde::Serialize;

use crate::cpu::{Sample, Stopwatch};
use crate::metered::{Meter, RebuildProfile};

pub(crate) const GROUPS: [&str; 5] = ["A组", "B组", "C组", "D组", "E组"];
pub(crate) const MODELS: [&str; 8] = [
    "Lavida", "Passat", "Tiguan", "Magotan", "Sagitar", "Bora", "Teramont", "ID.4",
];
pub(crate) const DISTRICTS: [&str; 12] = [
    "浦东", "闵行", "徐汇", "长宁", "静安", "普陀", "虹口", "杨浦", "宝山", "嘉定", "松江", "青浦",
];

/// A small deterministic generator: the same run every time.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One generated vehicle: its model, purchase month, district, and visits as
/// (month offset from the first month, day, group index, advisor index).
pub(crate) struct Generated {
    pub model: &'static str,
    pub purchased: u32,
    pub district: &'static str,
    pub sold_here: bool,
    pub visits: Vec<(u32, u32, usize, usize)>,
}

/// A vehicle's life over `months` months: bought, then serviced every few months,
/// now and then after a long absence, until it stops coming.
pub(crate) fn vehicle(rng: &mut Rng, months: u32, visits_per_vehicle: u32) -> Generated {
    // Bought in the first two thirds of the history, so most have years of service.
    let purchased = rng.below(u64::from(months * 2 / 3)) as u32;
    let mut visits = Vec::new();
    let mut at = purchased + rng.below(4) as u32;
    let group = rng.below(GROUPS.len() as u64) as usize;
    let wanted = 1 + rng.below(u64::from(2 * visits_per_vehicle - 1)) as u32;
    while at < months && visits.len() < wanted as usize {
        visits.push((at, 1 + rng.below(28) as u32, group, rng.below(6) as usize));
        // Mostly back within half a year; now and then a long absence.
        let longest = if rng.below(10) == 0 { 18 } else { 5 };
        at += 1 + rng.below(longest) as u32;
    }
    Generated {
        model: MODELS[rng.below(MODELS.len() as u64) as usize],
        purchased,
        district: DISTRICTS[rng.below(DISTRICTS.len() as u64) as usize],
        sold_here: rng.below(5) != 0,
        visits,
    }
}

#[derive(Debug, Serialize)]
pub struct ChurnScale {
    pub dealers: usize,
    pub vehicles: u64,
    pub visits: u64,
    pub sales: u64,
    pub cohort_rows: usize,
    pub base_rows: usize,
    pub load_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub name: String,
    pub queries: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub target_p50_ms: f64,
    pub met: bool,
}

pub(crate) const FIRST: (i16, i8) = (2020, 1);
pub(crate) const MONTHS: u32 = 72;

/// Loads the counters of `vehicles` generated vehicles over `dealers` dealers.
pub async fn load(
    db: &Database,
    dealers: usize,
    vehicles: u64,
    visits_per_vehicle: u32,
) -> anyhow::Result<ChurnScale> {
    let started = Instant::now();
    let first = Month::new(FIRST.0, FIRST.1);
    let per_dealer = vehicles / dealers as u64;
    let mut scale = ChurnScale {
        dealers,
        vehicles: per_dealer * dealers as u64,
        visits: 0,
        sales: 0,
        cohort_rows: 0,
        base_rows: 0,
        load_seconds: 0.0,
    };
    let warranty = 36;
    for d in 0..dealers {
        let dealer = format!("D{:03}", d + 1);
        // Counted on two threads, each half of the dealer's vehicles.
        let halves = (0..2u64).map(|half| {
            tokio::task::spawn_blocking(move || {
                let mut rng = Rng::new((d as u64) << 8 | half);
                let mut sum = Counters::default();
                let (mut visits, mut sales) = (0u64, 0u64);
                for _ in 0..per_dealer / 2 + (per_dealer % 2) * (1 - half) {
                    let g = vehicle(&mut rng, MONTHS, visits_per_vehicle);
                    let mut h = VehicleHistory {
                        model: g.model.to_owned(),
                        purchased: Some(first.plus(g.purchased)),
                        district: g.district.to_owned(),
                        ..VehicleHistory::default()
                    };
                    if g.sold_here {
                        h.add_sale(first.plus(g.purchased));
                        sales += 1;
                    }
                    for (month, day, group, advisor) in g.visits {
                        h.add_visit(
                            first.plus(month),
                            VisitMark {
                                closed_at: i64::from(month) * 2_678_400_000_000
                                    + i64::from(day) * 86_400_000_000,
                                group: GROUPS[group].to_owned(),
                                advisor: format!("{}{}", GROUPS[group], advisor),
                            },
                        );
                        visits += 1;
                    }
                    sum.add(&h.counters(warranty), 1);
                }
                (sum, visits, sales)
            })
        });
        let mut total = Counters::default();
        for half in halves.collect::<Vec<_>>() {
            let (sum, visits, sales) = half.await.context("counting")?;
            total.add(&sum, 1);
            scale.visits += visits;
            scale.sales += sales;
        }
        scale.cohort_rows += total.cohorts.len();
        scale.base_rows += total.base.len();
        write(db, &dealer, total).await?;
    }
    scale.load_seconds = started.elapsed().as_secs_f64();
    Ok(scale)
}

/// The counters go in through the projection's own writer, as a rebuild's
/// recount writes them.
async fn write(db: &Database, dealer: &str, counters: Counters) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    write_counters(
        &mut conn,
        HashMap::from([(dealer.to_owned(), counters)]),
        true,
    )
    .await?;
    Ok(())
}

pub(crate) fn principal(scope: DealerScope) -> Arc<Principal> {
    Arc::new(Principal {
        name: "bench".to_owned(),
        roles: [Role::CareManager].into(),
        scope,
    })
}

/// ChurnReport through the gRPC service implementation (no network), over the
/// last two years of months, both rules and every breakdown.
pub async fn latency(
    db: &Database,
    name: &str,
    dealers: Vec<String>,
    scope: DealerScope,
    queries: usize,
) -> anyhow::Result<Latency> {
    let api = AnalyticsApi {
        db: db.clone(),
        store: None,
        churn: None,
        value: None,
        dealers: Arc::new(ChurnDealers::default()),
        read_timeout: Duration::from_secs(5),
    };
    let principal = principal(scope);
    let last = Month::new(FIRST.0, FIRST.1).plus(MONTHS - 1);
    let mut times = Vec::with_capacity(queries);
    for i in 0..queries {
        let month = last.minus((i % 24) as u32);
        let mut request = tonic::Request::new(pb::ChurnReportRequest {
            dealers: dealers
                .iter()
                .map(|d| common::DealerId { value: d.clone() })
                .collect(),
            month: Some(common::YearMonth {
                year: month.year(),
                month: month.month() as u32,
            }),
            rule: if i % 2 == 0 {
                pb::ChurnRule::A
            } else {
                pb::ChurnRule::B
            } as i32,
            threshold_months: 0,
            breakdown: (i % 7) as i32,
            consistency: None,
        });
        request.extensions_mut().insert(principal.clone());
        let started = Instant::now();
        let answer = api
            .churn_report(request)
            .await
            .context("churn report")?
            .into_inner();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(
            answer.total.is_some_and(|t| t.base > 0),
            "an empty report for {month}"
        );
    }
    let p = crate::report::percentiles(times);
    Ok(Latency {
        name: name.to_owned(),
        queries,
        p50_ms: p.p50,
        p99_ms: p.p99,
        max_ms: p.max,
        target_p50_ms: 100.0,
        met: p.p50 <= 100.0,
    })
}

/// Vehicles generated and appended at a time: the log of a large history is
/// written chunk by chunk, each chunk's events in order of time.
const CHUNK_VEHICLES: u64 = 100_000;

/// A log of DMS history for the rebuild: `vehicles` vehicles of one dealer, their
/// sales and visits in order of time (within each chunk of vehicles), as intake
/// records them.
pub async fn append_history(
    store: &dyn EventStore,
    vehicles: u64,
    visits_per_vehicle: u32,
) -> anyhow::Result<u64> {
    let mut rng = Rng::new(99);
    let mut n = 0;
    let mut from = 0;
    while from < vehicles {
        let to = (from + CHUNK_VEHICLES).min(vehicles);
        n += append_chunk(store, &mut rng, from..to, visits_per_vehicle).await?;
        from = to;
    }
    Ok(n)
}

async fn append_chunk(
    store: &dyn EventStore,
    rng: &mut Rng,
    vehicles: std::ops::Range<u64>,
    visits_per_vehicle: u32,
) -> anyhow::Result<u64> {
    let dealer = DealerId::parse("D001")?;
    let first: jiff::Timestamp = "2020-01-01T02:00:00Z".parse()?;
    let mut events: Vec<(i64, StreamId, EventData)> = Vec::new();
    for v in vehicles {
        let g = vehicle(rng, MONTHS, visits_per_vehicle);
        let vehicle_id = format!("veh-{v}");
        let vin = format!("BENCH{v:012}");
        let day = |month: u32, day: u32| i64::from(month) * 30 + i64::from(day);
        if g.sold_here {
            let on = first
                .checked_add(jiff::SignedDuration::from_hours(24 * day(g.purchased, 1)))?
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date();
            let sale = intake::VehicleSold {
                sale_id: format!("sale-{v}"),
                vehicle_id: vehicle_id.clone(),
                vin: vin.clone(),
                buyer_customer_id: format!("cust-{v}"),
                sales_consultant: "赵".to_owned(),
                sold_on: Some(common::Date {
                    year: i32::from(on.year()),
                    month: on.month() as u32,
                    day: on.day() as u32,
                }),
                price: Some(common::Money { fen: 15_000_000 }),
                referrer_customer_id: String::new(),
                model: g.model.to_owned(),
            };
            events.push((
                day(g.purchased, 1),
                StreamId::new(dealer.clone(), "vehicle", vehicle_id.clone())?,
                EventData::new(
                    aftercare_intake::vehicle_events::VEHICLE_SOLD,
                    sale.encode_to_vec(),
                ),
            ));
        }
        for (i, (month, d, group, advisor)) in g.visits.into_iter().enumerate() {
            let closed = first.checked_add(jiff::SignedDuration::from_hours(24 * day(month, d)))?;
            let visit = intake::VisitRecorded {
                visit_id: format!("visit-{v}-{i}"),
                repair_order: format!("RO-{v}-{i}"),
                vehicle_id: vehicle_id.clone(),
                vin: vin.clone(),
                customer_id: format!("cust-{v}"),
                opened_at: Some(aftercare_intake::events::timestamp(closed)),
                closed_at: Some(aftercare_intake::events::timestamp(closed)),
                mileage_km: 10_000 * (i as u32 + 1),
                kind: intake::VisitKind::Maintenance as i32,
                labour: Some(common::Money { fen: 30_000 }),
                parts: Some(common::Money { fen: 50_000 }),
                service_advisor: format!("{}{}", GROUPS[group], advisor),
                advisor_group: GROUPS[group].to_owned(),
                fault_codes: vec![],
            };
            events.push((
                day(month, d),
                StreamId::new(dealer.clone(), "visit", format!("visit-{v}-{i}"))?,
                EventData::new(
                    aftercare_intake::events::VISIT_RECORDED,
                    visit.encode_to_vec(),
                ),
            ));
        }
    }
    events.sort_by_key(|(day, ..)| *day);
    let n = events.len() as u64;
    let mut requests = events.into_iter().map(|(_, stream, event)| AppendRequest {
        stream,
        expected: Expected::Any,
        events: vec![event],
    });
    loop {
        let chunk: Vec<AppendRequest> = requests.by_ref().take(10_000).collect();
        if chunk.is_empty() {
            break;
        }
        for result in store.append_batch(chunk).await {
            result.context("appending the history")?;
        }
    }
    Ok(n)
}

/// `Runner::rebuild` of the churn counters, checked against the log's size.
pub async fn rebuild(
    store: Arc<dyn EventStore>,
    db: &Database,
    n: u64,
) -> anyhow::Result<(Sample, RebuildProfile)> {
    db.migrate(&MIGRATIONS).await?;
    let meter = Meter::default();
    let runner = Runner::projection(
        meter.projection(Arc::new(ChurnCounters {
            dealers: Arc::new(ChurnDealers::default()),
            recount_keys: aftercare_analytics::projection::RECOUNT_KEYS,
        })),
        meter.store(store),
        db.clone(),
        RunnerOptions::default(),
    );
    let watch = Stopwatch::start();
    let progress = runner
        .rebuild()
        .await
        .context("rebuilding the churn counters")?;
    let sample = watch.stop();
    ensure!(
        progress.position == Position(n),
        "rebuild stopped at {}",
        progress.position
    );
    ensure!(
        progress.dead_lettered == 0,
        "{} events dead-lettered",
        progress.dead_lettered
    );
    let visits: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(visits), 0) AS BIGINT) FROM analytics_churn_base WHERE dimension = 'all'",
    )
    .fetch_one(&db.pool)
    .await?;
    ensure!(visits > 0, "no visits counted");
    Ok((sample, meter.profile()))
}
