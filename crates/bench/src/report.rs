//! The run's results: a table on stdout and a JSON file under `target/bench`.

use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use crate::cpu::Sample;
use crate::metered::RebuildProfile;

/// Where results go: the workspace's `target/bench`.
pub(crate) const OUT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench");

#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub mode: String,
    pub name: String,
    /// `true` for the halves of a rebuild measured apart; they explain, they are not budgeted.
    pub diagnostic: bool,
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    /// CPU seconds of the bench process (client, codec, sqlx) during the measurement.
    pub bench_cpu_seconds: f64,
    /// CPU seconds of nats-server and PostgreSQL during the measurement.
    pub server_cpu_seconds: f64,
    pub baseline: Option<String>,
    pub ratio: Option<f64>,
    /// The lowest acceptable ratio, when this measurement has a budget.
    pub target: Option<f64>,
    pub met: Option<bool>,
    /// For a rebuild: where the runner's time went.
    pub rebuild_profile: Option<RebuildProfile>,
}

impl Measurement {
    pub fn new(mode: &str, name: &str, events: u64, sample: Sample) -> Self {
        let seconds = sample.elapsed.as_secs_f64();
        Self {
            mode: mode.to_owned(),
            name: name.to_owned(),
            diagnostic: false,
            events,
            seconds,
            events_per_second: events as f64 / seconds.max(f64::EPSILON),
            bench_cpu_seconds: sample.bench_cpu,
            server_cpu_seconds: sample.server_cpu,
            baseline: None,
            ratio: None,
            target: None,
            met: None,
            rebuild_profile: None,
        }
    }

    /// This rate as a fraction of `baseline`'s.
    pub fn against(mut self, baseline: &Measurement, target: Option<f64>) -> Self {
        let ratio = self.events_per_second / baseline.events_per_second;
        self.baseline = Some(format!("{} ({})", baseline.name, baseline.mode));
        self.ratio = Some(ratio);
        self.target = target;
        self.met = target.map(|t| ratio >= t);
        self
    }

    pub fn with_profile(mut self, profile: RebuildProfile) -> Self {
        self.rebuild_profile = Some(profile);
        self
    }

    pub fn diagnostic(mut self) -> Self {
        self.diagnostic = true;
        self
    }
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub kernel: String,
    pub nats_server_version: String,
    pub postgres_version: String,
    /// The test cluster runs with `fsync=off`: PostgreSQL numbers are not durable writes.
    pub postgres_fsync: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub run_at: String,
    pub events: u64,
    pub payload_bytes: usize,
    pub append_batch: usize,
    pub publishes_in_flight: usize,
    pub machine: Machine,
    pub durability: Vec<String>,
    pub measurements: Vec<Measurement>,
    pub targets_met: bool,
}

impl Report {
    pub fn print(&self) {
        let m = &self.machine;
        println!();
        println!(
            "aftercare foundation benchmark, {} events of {} bytes, {} ({} cores, {})",
            self.events, self.payload_bytes, self.run_at, m.nproc, m.cpu
        );
        println!(
            "nats-server {} | {}",
            m.nats_server_version, m.postgres_version
        );
        println!();
        println!(
            "{:<14} | {:<46} | {:>7} | {:>7} | {:>9} | {:>5} | {:>13} | baseline",
            "mode", "measurement", "events", "seconds", "events/s", "ratio", "cpu s bench/srv"
        );
        println!("{}", "-".repeat(154));
        for x in &self.measurements {
            let name = if x.diagnostic {
                format!("  {} *", x.name)
            } else {
                x.name.clone()
            };
            println!(
                "{:<14} | {:<46} | {:>7} | {:>7.2} | {:>9.0} | {:>5} | {:>6.2}/{:<6.2} | {}",
                x.mode,
                name,
                x.events,
                x.seconds,
                x.events_per_second,
                x.ratio.map_or(String::new(), |r| format!("{r:.2}")),
                x.bench_cpu_seconds,
                x.server_cpu_seconds,
                x.baseline.as_deref().unwrap_or("")
            );
        }
        println!();
        println!("where each rebuild's time went:");
        for x in &self.measurements {
            if let Some(p) = &x.rebuild_profile {
                println!(
                    "  {:<14} {:<36} reading {:>5.2} s (alongside), applying {:>5.2} s in {} transactions ({:.0} events each), finishing {:>5.2} s",
                    x.mode,
                    x.name,
                    p.reading_seconds,
                    p.applying_seconds,
                    p.batches,
                    p.events as f64 / p.batches.max(1) as f64,
                    p.finishing_seconds
                );
            }
        }
        println!();
        println!("targets:");
        for x in self.measurements.iter().filter(|x| x.target.is_some()) {
            println!(
                "  {:<14} {:<46} {:.2} of {:<34} target >= {:.2}: {}",
                x.mode,
                x.name,
                x.ratio.unwrap_or_default(),
                x.baseline.as_deref().unwrap_or(""),
                x.target.unwrap_or_default(),
                if x.met == Some(true) {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
        println!();
        println!("* diagnostic: a part of a measurement on its own, to explain it; not budgeted");
        println!(
            "cpu s bench/srv: CPU seconds of this process / of nats-server and PostgreSQL ({} cores)",
            m.nproc
        );
        for note in &self.durability {
            println!("note: {note}");
        }
    }

    /// Writes `foundation-<timestamp>.json` and `foundation-latest.json`.
    pub fn write(&self, now: jiff::Timestamp) -> anyhow::Result<PathBuf> {
        write_json("foundation", now, self)
    }
}

/// Writes a suite's report as `<suite>-<timestamp>.json` under `target/bench`
/// and copies it to `<suite>-latest.json`; the path written.
pub fn write_json(
    suite: &str,
    now: jiff::Timestamp,
    report: &impl Serialize,
) -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(OUT_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    let stamp = now.strftime("%Y%m%dT%H%M%SZ");
    let path = dir.join(format!("{suite}-{stamp}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let latest = dir.join(format!("{suite}-latest.json"));
    std::fs::copy(&path, &latest).with_context(|| format!("writing {}", latest.display()))?;
    Ok(path)
}

/// The first CPU model name and the kernel release, best effort.
pub fn cpu_and_kernel() -> (String, String) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown kernel".to_owned());
    (cpu, kernel)
}

/// `nats-server --version` of the binary the servers are spawned from.
pub fn nats_server_version() -> anyhow::Result<String> {
    let bin = aftercare_testkit::nats_server_binary();
    let output = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", bin.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The median, the 99th percentile and the slowest of some timings.
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Percentiles of `times` (nearest rank); all zero without timings.
pub fn percentiles(mut times: Vec<f64>) -> Percentiles {
    if times.is_empty() {
        return Percentiles {
            p50: 0.0,
            p99: 0.0,
            max: 0.0,
        };
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    }
}
