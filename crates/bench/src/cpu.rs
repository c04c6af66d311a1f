//! Wall time and where the CPU went: this process (client, codec, sqlx) versus the
//! servers it spawned (nats-server, PostgreSQL). On two cores a rate is often
//! bounded by CPU, and this split tells which side spends it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Linux reports process CPU in clock ticks of 1/100 s (`getconf CLK_TCK`) on
/// every architecture this runs on.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub elapsed: Duration,
    /// CPU seconds of this process.
    pub bench_cpu: f64,
    /// CPU seconds of every process descended from this one (the servers).
    pub server_cpu: f64,
}

pub struct Stopwatch {
    started: Instant,
    ticks: (u64, u64),
}

impl Stopwatch {
    pub fn start() -> Self {
        let ticks = cpu_ticks();
        Self {
            started: Instant::now(),
            ticks,
        }
    }

    pub fn stop(self) -> Sample {
        let elapsed = self.started.elapsed();
        let (own, children) = cpu_ticks();
        Sample {
            elapsed,
            bench_cpu: own.saturating_sub(self.ticks.0) as f64 / TICKS_PER_SECOND,
            server_cpu: children.saturating_sub(self.ticks.1) as f64 / TICKS_PER_SECOND,
        }
    }
}

/// `(this process, its live descendants including their reaped children)`; zeros
/// where `/proc` cannot be read, since the split is only an explanation.
fn cpu_ticks() -> (u64, u64) {
    let me = std::process::id();
    let mut parents = HashMap::new();
    let mut ticks = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // rest[0] is the state; ppid is stat field 4, utime..cstime fields 14..17.
        parents.insert(pid, field(1) as u32);
        ticks.insert(pid, (field(11) + field(12), field(13) + field(14)));
    }
    let own = ticks.get(&me).map_or(0, |t| t.0);
    let descends = |mut pid: u32| {
        while let Some(&parent) = parents.get(&pid) {
            if parent == me {
                return true;
            }
            if parent == 0 || parent == pid {
                return false;
            }
            pid = parent;
        }
        false
    };
    let children = ticks
        .iter()
        .filter(|(pid, _)| descends(**pid))
        .map(|(_, t)| t.0 + t.1)
        .sum();
    (own, children)
}
