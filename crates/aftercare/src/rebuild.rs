//! `aftercare rebuild <projection>`: empty one projection and replay the log into
//! it, with a progress bar. Run it while the service that owns the projection is
//! stopped, so two runners do not write the same tables.

use std::sync::Arc;
use std::time::Duration;

use aftercare_runtime::module::ModuleContext;
use aftercare_runtime::projection::{Runner, RunnerOptions};
use aftercare_runtime::{Authenticator, Config, TokenTable};
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

pub async fn run(config: Config, projection: &str, show_progress: bool) -> anyhow::Result<u64> {
    let config = Arc::new(config);
    let crate::serve::Backends {
        opened,
        db,
        vault,
        _lock,
    } = crate::serve::backends(&config).await?;
    let ctx = ModuleContext {
        config: config.clone(),
        store: opened.store.clone(),
        nats: opened.nats.clone(),
        db: db.clone(),
        vault,
        auth: Authenticator::new(TokenTable::default()),
    };
    let modules = crate::modules::all();
    let mut names = Vec::new();
    let mut found = None;
    for module in &modules {
        for p in module.projections(&ctx) {
            names.push(p.name());
            if p.name() == projection {
                if let Some(migrations) = module.migrations() {
                    db.migrate(&migrations).await?;
                }
                found = Some(p);
            }
        }
    }
    let Some(found) = found else {
        bail!(
            "unknown projection {projection:?}; projections: {}",
            names.join(", ")
        );
    };
    let head = opened.store.head().await?;
    let runner = Runner::projection(
        found,
        opened.store.clone(),
        db.clone(),
        RunnerOptions::from(&config.projections),
    );
    let handle = runner.handle();
    let bar = if show_progress {
        ProgressBar::new(head.0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(format!("rebuilding {projection}"));
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(handle.current().position.0);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = std::time::Instant::now();
    let result = runner.rebuild().await;
    ticker.abort();
    let progress = result?;
    bar.set_position(progress.position.0);
    bar.finish_with_message(format!("rebuilt {projection}"));
    let peak = aftercare_runtime::memory::peak_resident_bytes().map_or(String::new(), |b| {
        format!(", at most {} MiB resident", b >> 20)
    });
    eprintln!(
        "rebuilt {projection} to position {} in {:.1} s{peak}",
        progress.position.0,
        started.elapsed().as_secs_f64()
    );
    if progress.dead_lettered > 0 {
        eprintln!(
            "{} events could not be applied and were dead-lettered",
            progress.dead_lettered
        );
    }
    db.pool.close().await;
    Ok(progress.position.0)
}
