//! Callbacks and reminders: tasks scheduled from other contexts' events (a
//! delivery, a service visit, a lead, a vehicle that churned, a service falling
//! due), the agents' and advisors' worklist, call attempts and outcomes, and the
//! month's measures.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod events;
pub mod lead_feedback;
pub mod months;
pub mod projection;
pub mod queries;
pub mod sweep;

use std::sync::Arc;

use aftercare_proto::callback::v1::callback_service_server::CallbackServiceServer;
use aftercare_runtime::db::Migrations;
use aftercare_runtime::module::{Background, Module, ModuleContext};
use aftercare_runtime::projection::{Policy, ProgressHandle, Projection};
use tonic::service::RoutesBuilder;

pub struct CallbackModule;

/// The callback rules of every dealer, checked when the configuration was
/// loaded ([`Module::check_config`]).
fn dealers(ctx: &ModuleContext) -> config::CallbackDealers {
    ctx.config.dealers.section(&mut Vec::new())
}

impl Module for CallbackModule {
    fn name(&self) -> &'static str {
        "callback"
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(projection::MIGRATIONS)
    }

    fn projections(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(projection::Tasks {
            dealers: Arc::new(dealers(ctx)),
        })]
    }

    /// The OEM's lead feedback goes out where NATS is (the embedded default has none).
    fn policies(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Policy>> {
        let Some(nats) = ctx.nats.clone() else {
            return Vec::new();
        };
        vec![Arc::new(lead_feedback::LeadFeedbackPolicy {
            store: ctx.store.clone(),
            nats,
            dealers: Arc::new(dealers(ctx)),
        })]
    }

    /// The timer of birthdays, inspections and OEM lead reports.
    fn start(&self, ctx: &ModuleContext, stop: tokio::sync::watch::Receiver<bool>) -> Background {
        let task = tokio::spawn(sweep::run(
            ctx.store.clone(),
            ctx.db.clone(),
            Arc::new(dealers(ctx)),
            stop,
        ));
        Box::pin(async move { Ok(vec![task]) })
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        let api = api::CallbackApi {
            store: ctx.store.clone(),
            db: ctx.db.clone(),
            vault: ctx.vault.clone(),
            tasks: progress
                .iter()
                .find(|p| p.name() == projection::NAME)
                .cloned(),
            dealers: Arc::new(dealers(ctx)),
            read_timeout: ctx.config.projections.read_your_writes_timeout,
            allow_future_as_of: ctx.config.server.allow_future_sweeps,
        };
        routes.add_service(CallbackServiceServer::with_interceptor(
            api,
            ctx.auth.clone(),
        ));
    }

    fn dealer_keys(&self) -> &'static [&'static str] {
        <config::CallbackSection as aftercare_runtime::config::DealerSection>::KEYS
    }

    fn check_config(&self, config: &aftercare_runtime::Config, errors: &mut Vec<String>) {
        config.dealers.section::<config::CallbackSection>(errors);
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec![<CallbackServiceServer<api::CallbackApi> as tonic::server::NamedService>::NAME]
    }
}
