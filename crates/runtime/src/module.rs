//! A service (intake, complaint, …) as the one binary hosts it: its tables, its
//! projections and policies, and its gRPC services. `aftercare serve --service X`
//! runs the modules named; all by default.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, JetStreamStore};
use tonic::service::RoutesBuilder;

use crate::Authenticator;
use crate::config::Config;
use crate::db::{Database, Migrations};
use crate::projection::{Policy, ProgressHandle, Projection};

/// The tasks a module started, or why it could not start them.
pub type Background =
    futures::future::BoxFuture<'static, Result<Vec<tokio::task::JoinHandle<()>>, String>>;

/// What a module gets to build itself with.
#[derive(Clone)]
pub struct ModuleContext {
    pub config: Arc<Config>,
    pub store: Arc<dyn EventStore>,
    /// The NATS connection when running on JetStream (ingest, outbound subjects).
    pub nats: Option<JetStreamStore>,
    pub db: Database,
    /// The keys of sealed personal data, apart from the read models.
    pub vault: crate::privacy::Vault,
    pub auth: Authenticator,
}

pub trait Module: Send + Sync {
    fn name(&self) -> &'static str;
    fn migrations(&self) -> Option<Migrations> {
        None
    }
    fn projections(&self, _ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        Vec::new()
    }
    fn policies(&self, _ctx: &ModuleContext) -> Vec<Arc<dyn Policy>> {
        Vec::new()
    }
    /// Adds the module's gRPC services (each behind `ctx.auth`). `progress` has
    /// every runner of this process, for `min_position` waits and status.
    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder);
    /// Background work (ingest subscribers, timers) that runs until `stop` turns
    /// true. The future resolves once the work is ready (subscriptions in place),
    /// so the server only announces itself when it can take input.
    fn start(&self, _ctx: &ModuleContext, _stop: tokio::sync::watch::Receiver<bool>) -> Background {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// The keys of the dealer tables this module's configuration section owns.
    fn dealer_keys(&self) -> &'static [&'static str] {
        &[]
    }
    /// Checks this module's part of the configuration, adding every bad value
    /// to `errors`; run when the configuration is loaded, for every module.
    fn check_config(&self, _config: &Config, _errors: &mut Vec<String>) {}
    /// Fully qualified gRPC service names, reported serving by the health service.
    fn service_names(&self) -> Vec<&'static str>;
}

/// The operations module every deployment runs: `SystemService` and the audit trail.
pub struct SystemModule;

impl Module for SystemModule {
    fn name(&self) -> &'static str {
        "system"
    }

    fn projections(&self, _ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(crate::projection::AuditTrail)]
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        use aftercare_proto::system::v1::system_service_server::SystemServiceServer;
        let api =
            crate::system::SystemApi::new(ctx.store.clone(), ctx.db.clone(), progress.to_vec());
        routes.add_service(SystemServiceServer::with_interceptor(api, ctx.auth.clone()));
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec!["aftercare.system.v1.SystemService"]
    }
}
