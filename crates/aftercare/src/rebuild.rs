//! `aftercare rebuild <projection>`, with a progress bar. On PostgreSQL the new
//! version is built beside the live one while the service keeps serving, then
//! swapped in (`OnlineRebuild`); on SQLite, or with `--offline`, the projection
//! is emptied and replayed in place, with the service that owns it stopped.

use std::sync::Arc;
use std::time::Duration;

use aftercare_runtime::module::ModuleContext;
use aftercare_runtime::projection::{OnlineRebuild, Runner, RunnerOptions};
use aftercare_runtime::{Authenticator, Config, TokenTable};
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

pub async fn run(
    config: Config,
    projection: &str,
    show_progress: bool,
    offline: bool,
) -> anyhow::Result<u64> {
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
    let mut owner_migrations = None;
    for module in &modules {
        for p in module.projections(&ctx) {
            names.push(p.name());
            if p.name() == projection {
                if let Some(migrations) = module.migrations() {
                    db.migrate(&migrations).await?;
                    owner_migrations = Some(migrations);
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
    let online = !offline
        && db.backend == aftercare_runtime::db::Backend::Postgres
        && !found.tables().is_empty()
        && owner_migrations.is_some();
    let head = opened.store.head().await?;
    if online {
        let bar = progress_bar(
            show_progress,
            head.0,
            format!("rebuilding {projection} beside the live one"),
        );
        let started = std::time::Instant::now();
        let ticker = std::sync::Arc::new(std::sync::Mutex::new(None));
        let rebuild = OnlineRebuild {
            projection: found,
            migrations: owner_migrations.expect("checked above"),
            store: opened.store.clone(),
            db: db.clone(),
            url: config.database_url(),
            options: RunnerOptions::from(&config.projections),
        };
        let swapped = {
            let bar = bar.clone();
            let ticker = ticker.clone();
            rebuild
                .run(move |handle| {
                    *ticker.lock().expect("not poisoned") = Some(tokio::spawn(async move {
                        loop {
                            bar.set_position(handle.current().position.0);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }));
                })
                .await
        };
        if let Some(task) = ticker.lock().expect("not poisoned").take() {
            task.abort();
        }
        let swapped = swapped?;
        bar.finish_with_message(format!("rebuilt {projection}"));
        eprintln!(
            "rebuilt {projection} to position {} in {:.1} s while it served, swapped it in and dropped the old tables{}",
            swapped.position.0,
            started.elapsed().as_secs_f64(),
            aftercare_runtime::memory::peak_resident_bytes().map_or(String::new(), |b| format!(
                "; at most {} MiB resident",
                b >> 20
            ))
        );
        db.pool.close().await;
        return Ok(swapped.position.0);
    }
    let runner = Runner::projection(
        found,
        opened.store.clone(),
        db.clone(),
        RunnerOptions::from(&config.projections),
    );
    let handle = runner.handle();
    let bar = progress_bar(show_progress, head.0, format!("rebuilding {projection}"));
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

fn progress_bar(show: bool, len: u64, message: String) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}
