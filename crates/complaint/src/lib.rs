//! Complaints: OEM hotline and walk-in complaints as tickets with five grades, a
//! first-contact owner, deadlines at the dealer, and escalation.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod events;
pub mod feedback;
pub mod filing;
pub mod from_callback;
pub mod projection;
pub mod rate;
pub mod sweep;
pub mod tickets;
pub mod warning_feed;
pub mod warning_list;
pub mod warnings;
pub mod watch;
pub mod workshop;

use std::sync::Arc;

use aftercare_proto::complaint::v1::complaint_service_server::ComplaintServiceServer;
use aftercare_runtime::db::Migrations;
use aftercare_runtime::module::{Background, Module, ModuleContext};
use aftercare_runtime::projection::{Policy, ProgressHandle, Projection};
use tonic::service::RoutesBuilder;

pub struct ComplaintModule;

/// The complaint rules of every dealer. The configuration was checked when it
/// was loaded ([`Module::check_config`]), so reading it again finds nothing wrong.
fn dealers(ctx: &ModuleContext) -> config::ComplaintDealers {
    ctx.config.dealers.section(&mut Vec::new())
}

impl Module for ComplaintModule {
    fn name(&self) -> &'static str {
        "complaint"
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(projection::MIGRATIONS)
    }

    fn projections(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![
            Arc::new(projection::Tickets {
                vault: ctx.vault.clone(),
                dealers: Arc::new(dealers(ctx)),
            }),
            Arc::new(workshop::Workshop),
            Arc::new(warnings::Warnings),
        ]
    }

    /// Complaints made on callback calls are filed everywhere; OEM feedback
    /// and warnings go out where NATS is (the embedded default has none).
    fn policies(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Policy>> {
        let from_callbacks: Arc<dyn Policy> = Arc::new(from_callback::CallbackComplaints {
            store: ctx.store.clone(),
            vault: ctx.vault.clone(),
            dealers: Arc::new(dealers(ctx)),
        });
        let Some(nats) = ctx.nats.clone() else {
            return vec![from_callbacks];
        };
        vec![
            from_callbacks,
            Arc::new(feedback::OemFeedback {
                store: ctx.store.clone(),
                nats: nats.clone(),
                vault: ctx.vault.clone(),
                dealers: Arc::new(dealers(ctx)),
            }),
            Arc::new(warning_feed::WarningFeed { nats }),
        ]
    }

    /// The deadline and early-warning sweep.
    fn start(&self, ctx: &ModuleContext, stop: tokio::sync::watch::Receiver<bool>) -> Background {
        let task = tokio::spawn(sweep::run(
            ctx.store.clone(),
            ctx.db.clone(),
            ctx.vault.clone(),
            Arc::new(dealers(ctx)),
            stop,
        ));
        Box::pin(async move { Ok(vec![task]) })
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        let api = api::ComplaintApi {
            store: ctx.store.clone(),
            db: ctx.db.clone(),
            vault: ctx.vault.clone(),
            tickets: progress
                .iter()
                .find(|p| p.name() == projection::NAME)
                .cloned(),
            warnings: progress
                .iter()
                .find(|p| p.name() == warnings::NAME)
                .cloned(),
            workshop: progress
                .iter()
                .find(|p| p.name() == workshop::NAME)
                .cloned(),
            dealers: Arc::new(dealers(ctx)),
            read_timeout: ctx.config.projections.read_your_writes_timeout,
            allow_future_sweeps: ctx.config.server.allow_future_sweeps,
        };
        routes.add_service(ComplaintServiceServer::with_interceptor(
            api,
            ctx.auth.clone(),
        ));
    }

    fn dealer_keys(&self) -> &'static [&'static str] {
        <config::ComplaintSection as aftercare_runtime::config::DealerSection>::KEYS
    }

    fn check_config(&self, config: &aftercare_runtime::Config, errors: &mut Vec<String>) {
        config.dealers.section::<config::ComplaintSection>(errors);
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec![<ComplaintServiceServer<api::ComplaintApi> as tonic::server::NamedService>::NAME]
    }
}
