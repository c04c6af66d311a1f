//! The reports of part 2 at a dealer group's scale: RFM, ABC and lifetime
//! value (`ValueReport`), one vehicle's value (`VehicleValue`), the churn table
//! (`ChurnTable`), targets against actuals (`TargetsReport`), the scorecard
//! (`ChurnScorecard`) and the churn-risk model (`RiskReport`: its fit, its
//! judgement and the scoring) over read models of 1M vehicles and 10M visits
//! on 20 dealers. Written to `target/bench/value-latest.json`.
//!
//! The read model is loaded with the rows the projection writes (one per visit
//! and per sale, the vehicle files beside them) for the generated fleet of the
//! churn suite, because replaying 10M events here would measure a rebuild,
//! not the reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare_analytics::api::AnalyticsApi;
use aftercare_analytics::config::ChurnDealers;
use aftercare_analytics::domain::Month;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsService;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::db::{SqlValue, insert_rows};
use aftercare_runtime::{Database, DealerScope};
use aftercare_testkit::postgres;
use anyhow::Context as _;
use serde::Serialize;

use crate::churn::{DISTRICTS, FIRST, MONTHS, Rng, principal, vehicle};
use crate::store;

#[derive(Debug, clap::Args)]
pub struct ValueArgs {
    /// Vehicles of the dealer group.
    #[arg(long, default_value_t = 1_000_000)]
    value_vehicles: u64,
    /// Dealers the fleet is spread over.
    #[arg(long, default_value_t = 20)]
    value_dealers: usize,
    /// Visits a vehicle would make over six years, on average (12: about 10M
    /// visits for 1M vehicles).
    #[arg(long, default_value_t = 12)]
    value_visits: u32,
    /// Reports timed per kind.
    #[arg(long, default_value_t = 10)]
    value_queries: usize,
}

#[derive(Debug, Serialize)]
struct Scale {
    dealers: usize,
    vehicles: u64,
    visits: u64,
    sales: u64,
    load_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Latency {
    name: String,
    queries: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct ValueReport {
    run_at: String,
    nproc: usize,
    cpu: String,
    scale: Scale,
    latency: Vec<Latency>,
}

/// A valid VIN for the `n`th vehicle of dealer `d`.
fn vin(d: usize, n: u64) -> anyhow::Result<String> {
    let draft = format!("LSVBE{d:03}0A{n:07}");
    let digit = aftercare_kernel::vin::check_digit(&draft).context("check digit")?;
    let mut bytes = draft.into_bytes();
    bytes[8] = digit as u8;
    Ok(String::from_utf8(bytes)?)
}

/// The rows of `vehicles` generated vehicles over `dealers` dealers.
async fn load(db: &Database, args: &ValueArgs) -> anyhow::Result<Scale> {
    let started = Instant::now();
    let first = Month::new(FIRST.0, FIRST.1);
    let zone = jiff::tz::TimeZone::get("Asia/Shanghai").context("zone")?;
    let per_dealer = args.value_vehicles / args.value_dealers as u64;
    let mut scale = Scale {
        dealers: args.value_dealers,
        vehicles: per_dealer * args.value_dealers as u64,
        visits: 0,
        sales: 0,
        load_seconds: 0.0,
    };
    let micros = |month: u32, day: u32| -> anyhow::Result<i64> {
        let m = first.plus(month);
        Ok(
            jiff::civil::date(m.year() as i16, m.month() as i8, day.clamp(1, 28) as i8)
                .at(10, 0, 0, 0)
                .to_zoned(zone.clone())?
                .timestamp()
                .as_microsecond(),
        )
    };
    for d in 0..args.value_dealers {
        let dealer = format!("D{:03}", d + 1);
        let mut rng = Rng::new(0xA11 << 8 | d as u64);
        let mut vehicles = Vec::new();
        let mut contacts = Vec::new();
        for n in 0..per_dealer {
            let g = vehicle(&mut rng, MONTHS, args.value_visits);
            let id = format!("{dealer}-v{n:07}");
            vehicles.push(vec![
                SqlValue::Text(id.clone()),
                SqlValue::Text(dealer.clone()),
                SqlValue::Text(vin(d, n)?),
                SqlValue::Text(g.model.to_owned()),
                SqlValue::Int(i64::from(first.plus(g.purchased).index())),
                SqlValue::Text(format!("{dealer}-c{:07}", n - n % 5 + rng.below(3))),
                SqlValue::Text(DISTRICTS[(n % 12) as usize].to_owned()),
                SqlValue::Text("{}".to_owned()),
            ]);
            if g.sold_here {
                scale.sales += 1;
                contacts.push(vec![
                    SqlValue::Text(format!("sale/{id}")),
                    SqlValue::Text(dealer.clone()),
                    SqlValue::Text(id.clone()),
                    SqlValue::Int(micros(g.purchased, 1)?),
                    SqlValue::Int(0),
                    SqlValue::Int(0),
                    SqlValue::Int(0),
                ]);
            }
            for (i, (month, day, _, _)) in g.visits.iter().enumerate() {
                scale.visits += 1;
                contacts.push(vec![
                    SqlValue::Text(format!("{id}-{i}")),
                    SqlValue::Text(dealer.clone()),
                    SqlValue::Text(id.clone()),
                    SqlValue::Int(micros(*month, *day)?),
                    SqlValue::Int(1),
                    SqlValue::Int(20_000 + rng.below(60_000) as i64),
                    SqlValue::Int(30_000 + rng.below(120_000) as i64),
                ]);
            }
            if contacts.len() >= 20_000 {
                write(db, &mut vehicles, &mut contacts).await?;
            }
        }
        write(db, &mut vehicles, &mut contacts).await?;
        eprintln!("  {dealer} loaded");
    }
    scale.load_seconds = started.elapsed().as_secs_f64();
    Ok(scale)
}

async fn write(
    db: &Database,
    vehicles: &mut Vec<Vec<SqlValue>>,
    contacts: &mut Vec<Vec<SqlValue>>,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    for chunk in vehicles.chunks(1_000) {
        insert_rows(
            &mut tx,
            "analytics_vehicles",
            &[
                "vehicle_id",
                "dealer",
                "vin",
                "model",
                "purchased",
                "owner_customer_id",
                "district",
                "contacts",
            ],
            "",
            chunk,
        )
        .await?;
    }
    for chunk in contacts.chunks(1_000) {
        insert_rows(
            &mut tx,
            "analytics_value_contacts",
            aftercare_analytics::value_projection::COLUMNS,
            "",
            chunk,
        )
        .await?;
    }
    tx.commit().await?;
    vehicles.clear();
    contacts.clear();
    Ok(())
}

fn latency(name: &str, times: Vec<f64>) -> Latency {
    let queries = times.len();
    let p = crate::report::percentiles(times);
    Latency {
        name: name.to_owned(),
        queries,
        p50_ms: p.p50,
        p99_ms: p.p99,
        max_ms: p.max,
    }
}

async fn timed<F, Fut>(queries: usize, mut run: F) -> anyhow::Result<Vec<f64>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(queries);
    for i in 0..queries {
        let started = Instant::now();
        run(i).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

pub async fn run(args: &ValueArgs, now: jiff::Timestamp) -> anyhow::Result<bool> {
    let db = store::database(&postgres().create_database().url).await?;
    db.migrate(&aftercare_analytics::projection::MIGRATIONS)
        .await?;
    eprintln!(
        "loading the value read model of {} vehicles over {} dealers",
        args.value_vehicles, args.value_dealers
    );
    let scale = load(&db, args).await?;
    // The churn counters of a fleet of the same size, for the churn table.
    crate::churn::load(
        &db,
        args.value_dealers,
        args.value_vehicles,
        args.value_visits,
    )
    .await?;
    sqlx::query("ANALYZE").execute(&db.pool).await?;
    let api = AnalyticsApi {
        db: db.clone(),
        store: None,
        churn: None,
        value: None,
        dealers: Arc::new(ChurnDealers::default()),
        read_timeout: Duration::from_secs(5),
    };
    let dealers: Vec<String> = (1..=args.value_dealers)
        .map(|d| format!("D{d:03}"))
        .collect();
    let group = DealerScope::Group {
        name: "bench".to_owned(),
        dealers: dealers
            .iter()
            .map(|d| aftercare_eventstore::DealerId::parse(d.as_str()))
            .collect::<Result<_, _>>()?,
    };
    let who = principal(group);
    // The last month of the generated history, and its last day.
    let last = Month::new(FIRST.0, FIRST.1).plus(MONTHS - 1);
    let last_day = common::Date {
        year: last.year(),
        month: last.month() as u32,
        day: 28,
    };
    let value = |dealers: Vec<String>, unit: pb::ValueUnit| {
        let mut request = tonic::Request::new(pb::ValueReportRequest {
            dealers: dealers
                .into_iter()
                .map(|d| common::DealerId { value: d })
                .collect(),
            as_of: Some(last_day),
            unit: unit as i32,
            consistency: None,
        });
        request.extensions_mut().insert(who.clone());
        request
    };
    let mut out = Vec::new();
    let q = args.value_queries;
    let per_dealer = args.value_vehicles / args.value_dealers as u64;
    let one = || vec!["D001".to_owned()];
    out.push(latency(
        "ValueReport (RFM, ABC, lifetime value), one dealer, by vehicle",
        timed(q, |_| {
            let r = value(one(), pb::ValueUnit::Vehicle);
            let api = &api;
            async move {
                let a = api
                    .value_report(r)
                    .await
                    .context("value report")?
                    .into_inner();
                anyhow::ensure!(a.units > 0, "an empty report");
                Ok(())
            }
        })
        .await?,
    ));
    out.push(latency(
        "ValueReport, one dealer, by customer",
        timed(q, |_| {
            let r = value(one(), pb::ValueUnit::Customer);
            let api = &api;
            async move {
                api.value_report(r).await.context("value report")?;
                Ok(())
            }
        })
        .await?,
    ));
    out.push(latency(
        &format!("ValueReport, group of {} dealers", args.value_dealers),
        timed(q.min(3), |_| {
            let r = value(Vec::new(), pb::ValueUnit::Vehicle);
            let api = &api;
            async move {
                api.value_report(r).await.context("group value report")?;
                Ok(())
            }
        })
        .await?,
    ));
    out.push(latency(
        "VehicleValue, one vehicle of one dealer",
        timed(q, |i| {
            let mut r = tonic::Request::new(pb::VehicleValueRequest {
                dealer: Some(common::DealerId {
                    value: "D001".into(),
                }),
                vin: vin(0, (i as u64 * 997) % per_dealer).unwrap_or_default(),
                as_of: Some(last_day),
                consistency: None,
            });
            r.extensions_mut().insert(who.clone());
            let api = &api;
            async move {
                // A vehicle whose first contact came after the day is not on
                // file then: found, or refused as such.
                match api.vehicle_value(r).await {
                    Ok(_) => Ok(()),
                    Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
                    Err(s) => Err(anyhow::anyhow!("vehicle value: {s}")),
                }
            }
        })
        .await?,
    ));
    for (name, asked) in [
        ("ChurnTable by model, one dealer", one()),
        ("ChurnTable by model, the group", Vec::new()),
    ] {
        out.push(latency(
            name,
            timed(q, |i| {
                let month = last.minus((i % 24) as u32);
                let mut r = tonic::Request::new(pb::ChurnTableRequest {
                    dealers: asked
                        .iter()
                        .map(|d| common::DealerId { value: d.clone() })
                        .collect(),
                    month: Some(common::YearMonth {
                        year: month.year(),
                        month: month.month() as u32,
                    }),
                    threshold_months: 0,
                    breakdown: pb::Breakdown::Model as i32,
                    consistency: None,
                });
                r.extensions_mut().insert(who.clone());
                let api = &api;
                async move {
                    let t = api
                        .churn_table(r)
                        .await
                        .context("churn table")?
                        .into_inner();
                    anyhow::ensure!(t.total.is_some_and(|t| t.base > 0), "an empty table");
                    Ok(())
                }
            })
            .await?,
        ));
    }
    out.push(latency(
        "TargetsReport, one dealer, a year of every metric",
        timed(q, |_| {
            let mut r = tonic::Request::new(pb::TargetsReportRequest {
                dealer: Some(common::DealerId {
                    value: "D001".into(),
                }),
                year: last.year(),
                consistency: None,
            });
            r.extensions_mut().insert(who.clone());
            let api = &api;
            async move {
                let t = api
                    .targets_report(r)
                    .await
                    .context("targets report")?
                    .into_inner();
                anyhow::ensure!(t.metrics.len() == 9, "a line per metric");
                Ok(())
            }
        })
        .await?,
    ));
    out.push(latency(
        "ChurnScorecard, one dealer",
        timed(q, |i| {
            let month = last.minus((i % 12) as u32);
            let mut r = tonic::Request::new(pb::ChurnScorecardRequest {
                dealer: Some(common::DealerId {
                    value: "D001".into(),
                }),
                month: Some(common::YearMonth {
                    year: month.year(),
                    month: month.month() as u32,
                }),
                rule: pb::ChurnRule::A as i32,
                consistency: None,
                threshold_months: 0,
            });
            r.extensions_mut().insert(who.clone());
            let api = &api;
            async move {
                api.churn_scorecard(r).await.context("scorecard")?;
                Ok(())
            }
        })
        .await?,
    ));
    out.push(latency(
        "RiskReport (fit, judgement, scoring), one dealer",
        timed(q.min(5), |_| {
            let mut r = tonic::Request::new(pb::RiskReportRequest {
                dealer: Some(common::DealerId {
                    value: "D001".into(),
                }),
                month: Some(common::YearMonth {
                    year: last.year(),
                    month: last.month() as u32,
                }),
                top: 20,
                consistency: None,
            });
            r.extensions_mut().insert(who.clone());
            let api = &api;
            async move {
                let a = api
                    .risk_report(r)
                    .await
                    .context("risk report")?
                    .into_inner();
                eprintln!(
                    "  risk model: AUC {:?} on {} snapshots, fitted on {}",
                    a.auc, a.evaluated_on, a.trained_on
                );
                Ok(())
            }
        })
        .await?,
    ));
    let (cpu, _) = crate::report::cpu_and_kernel();
    let report = ValueReport {
        run_at: now.to_string(),
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        cpu,
        scale,
        latency: out,
    };
    println!();
    println!(
        "aftercare value benchmark, {} ({} cores, {})",
        report.run_at, report.nproc, report.cpu
    );
    let s = &report.scale;
    println!(
        "{} dealers, {} vehicles, {} visits, {} sales (loaded in {:.0} s)",
        s.dealers, s.vehicles, s.visits, s.sales, s.load_seconds
    );
    for l in &report.latency {
        println!(
            "{:<62} | {:>3} queries | p50 {:>8.1} ms | p99 {:>8.1} ms | max {:>8.1} ms",
            l.name, l.queries, l.p50_ms, l.p99_ms, l.max_ms
        );
    }
    let path = crate::report::write_json("value", now, &report)?;
    println!("\nwritten to {} and value-latest.json", path.display());
    // The reports have no latency target of their own yet: reported, not judged.
    Ok(true)
}
