//! `aftercare serve`: the selected modules, their runners and gRPC services, in
//! one process. `run` takes a bound listener and a shutdown future, so `main` and
//! the tests start the server the same way.

use std::future::Future;
use std::sync::Arc;

use aftercare_runtime::auth::{DealerScope, Principal, Role};
use aftercare_runtime::config::StoreBackend;
use aftercare_runtime::data_dir::{self, DataDirLock};
use aftercare_runtime::metrics::{self, MeteredStore};
use aftercare_runtime::module::{Module, ModuleContext};
use aftercare_runtime::privacy::{self, Vault};
use aftercare_runtime::projection::{Leases, RUNTIME_MIGRATIONS, Runner, RunnerOptions};
use aftercare_runtime::{Authenticator, Config, Database, TokenTable, store};
use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin_token;

/// How clients can authenticate, to tell the person who started the server.
pub enum AuthNotice {
    /// Tokens come from the configuration.
    Configured(usize),
    /// No tokens were configured: a local admin token was written to this file.
    LocalAdmin(std::path::PathBuf),
}

pub struct Started {
    pub listening: std::net::SocketAddr,
    /// Where `/metrics` is served, when it is.
    pub metrics: Option<std::net::SocketAddr>,
    /// Where the web console is served, when it is.
    pub web: Option<std::net::SocketAddr>,
    pub store: String,
    pub auth: AuthNotice,
}

pub async fn run(
    config: Config,
    listener: TcpListener,
    modules: Vec<Box<dyn Module>>,
    shutdown: impl Future<Output = ()> + Send,
    on_started: impl FnOnce(&Started),
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let Backends {
        opened,
        db,
        vault,
        _lock,
    } = backends(&config).await?;
    for module in &modules {
        if let Some(migrations) = module.migrations() {
            db.migrate(&migrations)
                .await
                .with_context(|| format!("migrating {}", module.name()))?;
        }
    }
    let (tokens, auth_notice) = tokens(&config)?;
    let logins = tokens.logins().to_vec();
    let ctx = ModuleContext {
        config: config.clone(),
        store: Arc::new(MeteredStore(opened.store.clone())),
        nats: opened.nats.clone(),
        db: db.clone(),
        vault,
        auth: Authenticator::new(tokens),
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let options = RunnerOptions::from(&config.projections);
    let leases = match &opened.nats {
        Some(nats) => Some(
            Leases::open(
                &async_nats::jetstream::new(nats.client().clone()),
                &config.projections.lease_bucket,
                config.projections.lease_ttl,
                config.store.replicas,
                replica_name(),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?,
        ),
        None => None,
    };
    let leased = |runner: Runner| match &leases {
        Some(leases) => runner.with_leases(leases.clone()),
        None => runner,
    };
    let mut runners = Vec::new();
    for module in &modules {
        for projection in module.projections(&ctx) {
            runners.push(leased(Runner::projection(
                projection,
                ctx.store.clone(),
                db.clone(),
                options,
            )));
        }
        for policy in module.policies(&ctx) {
            runners.push(leased(Runner::policy(
                policy,
                ctx.store.clone(),
                db.clone(),
                options,
            )));
        }
    }
    let progress: Vec<_> = runners.iter().map(Runner::handle).collect();
    let mut metrics_addr = None;
    let mut background = Vec::new();
    if let Some(addr) = config.server.metrics_listen {
        let listener = metrics::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr}"))?;
        metrics_addr = Some(listener.local_addr()?);
        let mut stop = stop_rx.clone();
        background.push(tokio::spawn(async move {
            if let Err(err) = metrics::serve(listener, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            {
                tracing::error!(error = %err, "metrics endpoint failed");
            }
        }));
    }
    let tasks: Vec<_> = runners
        .into_iter()
        .map(|runner| {
            let mut stop = stop_rx.clone();
            tokio::spawn(runner.run(async move {
                let _ = stop.wait_for(|s| *s).await;
            }))
        })
        .collect();

    let mut routes = tonic::service::RoutesBuilder::default();
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(
            metrics::READY_SERVICE,
            tonic_health::ServingStatus::NotServing,
        )
        .await;
    background.push(tokio::spawn(metrics::watch_runners(
        ctx.store.clone(),
        progress.clone(),
        std::time::Duration::from_secs(2),
        metrics::Readiness {
            health: health_reporter.clone(),
            max_lag: config.projections.ready_lag,
        },
        stop_rx.clone(),
    )));
    for module in &modules {
        module.routes(&ctx, &progress, &mut routes);
        for name in module.service_names() {
            health_reporter
                .set_service_status(name, tonic_health::ServingStatus::Serving)
                .await;
        }
    }
    for module in &modules {
        let started = module.start(&ctx, stop_rx.clone()).await;
        background.extend(started.map_err(|e| anyhow::anyhow!("starting {}: {e}", module.name()))?);
    }
    let web_listen = config.server.web_listen.or_else(|| {
        (config.store.backend == StoreBackend::Embedded)
            .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8080)))
    });
    let mut web_addr = None;
    if let Some(addr) = web_listen {
        let web = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for the web console on {addr}"))?;
        web_addr = Some(web.local_addr()?);
        let setup = crate::web::Setup::new(&config, Some(listener.local_addr()?), logins)?;
        let mut stop = stop_rx.clone();
        background.push(tokio::spawn(async move {
            if let Err(err) = crate::web::serve(web, setup, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            {
                tracing::error!(error = %err, "web console failed");
            }
        }));
    }
    on_started(&Started {
        listening: listener.local_addr()?,
        metrics: metrics_addr,
        web: web_addr,
        store: opened.description.clone(),
        auth: auth_notice,
    });
    tracing::info!(addr = %listener.local_addr()?, store = %opened.description, "serving");
    let dealers = config.dealers.clone();
    let served =
        aftercare_runtime::grpc::serve(listener, routes.routes(), dealers, health, shutdown).await;
    let _ = stop_tx.send(true);
    for task in tasks.into_iter().chain(background) {
        let _ = task.await;
    }
    db.pool.close().await;
    served.context("serving grpc")
}

/// What `serve` and `rebuild` both start from: the event store, the read-model
/// database with the runtime's own tables migrated, the key vault, and the
/// data folder held for this process when anything lives in it.
pub struct Backends {
    pub opened: store::OpenedStore,
    pub db: Database,
    pub vault: Vault,
    pub _lock: Option<DataDirLock>,
}

pub async fn backends(config: &Config) -> anyhow::Result<Backends> {
    // The data folder holds the embedded log, and the read models and keys when
    // they are SQLite; a deployment on JetStream and PostgreSQL never touches it.
    let sqlite = |url: &aftercare_runtime::Secret| url.expose().starts_with("sqlite:");
    let uses_data_dir = config.store.backend == StoreBackend::Embedded
        || sqlite(&config.database_url())
        || config.database.keys_url.as_ref().is_some_and(sqlite);
    let lock = if uses_data_dir {
        Some(data_dir::lock(&config.server.data_dir)?)
    } else {
        None
    };
    let opened = store::open(&config.store)
        .await
        .context("opening the event store")?;
    let url = config.database_url();
    let db = Database::connect(&url, config.database.max_connections)
        .await
        .context("connecting to the read-model database")?;
    db.migrate(&RUNTIME_MIGRATIONS)
        .await
        .context("migrating runtime tables")?;
    let keys_url = match &config.database.keys_url {
        Some(url) => url.clone(),
        None => privacy::default_keys_url(&db, &url, &config.server.data_dir)
            .await
            .context("preparing the key vault")?,
    };
    let vault = privacy::open_vault(&db, &keys_url)
        .await
        .context("opening the key vault")?;
    Ok(Backends {
        opened,
        db,
        vault,
        _lock: lock,
    })
}

fn tokens(config: &Config) -> anyhow::Result<(TokenTable, AuthNotice)> {
    let mut tokens = TokenTable::from_config(&config.auth)?;
    if !tokens.is_empty() {
        return Ok((tokens, AuthNotice::Configured(config.auth.tokens.len())));
    }
    let data_dir = &config.server.data_dir;
    let secret = admin_token::ensure(data_dir)
        .with_context(|| format!("preparing the local admin token in {}", data_dir.display()))?;
    tokens.insert(
        secret,
        Principal {
            name: "local-admin".to_owned(),
            roles: [Role::Admin].into(),
            scope: DealerScope::All,
        },
    );
    Ok((tokens, AuthNotice::LocalAdmin(admin_token::path(data_dir))))
}

/// This replica as a lease names it: the host (the pod's name on Kubernetes),
/// the process and a random suffix, so a restarted pod is a new holder.
fn replica_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "aftercare".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &suffix[..8])
}
