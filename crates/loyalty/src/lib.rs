//! The owner club (车友汇): members joined from sales, registrations and
//! transfers, five cards decided by the dealer's rules, a points ledger of
//! earnings (visits, referrals, activities), redemptions and adjustments.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod events;
pub mod membership;
pub mod owners;
pub mod partners;
pub mod projection;
pub mod queries;

use std::sync::Arc;

use aftercare_proto::loyalty::v1::loyalty_service_server::LoyaltyServiceServer;
use aftercare_runtime::db::Migrations;
use aftercare_runtime::module::{Background, Module, ModuleContext};
use aftercare_runtime::projection::{Policy, ProgressHandle, Projection};
use tonic::service::RoutesBuilder;

pub struct LoyaltyModule;

/// The club rules of every dealer, checked when the configuration was loaded.
fn dealers(ctx: &ModuleContext) -> config::LoyaltyDealers {
    ctx.config.dealers.section(&mut Vec::new())
}

impl Module for LoyaltyModule {
    fn name(&self) -> &'static str {
        "loyalty"
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(projection::MIGRATIONS)
    }

    fn projections(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(projection::Members {
            dealers: Arc::new(dealers(ctx)),
        })]
    }

    /// Owners join and earn from intake's events, everywhere.
    fn policies(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Policy>> {
        vec![Arc::new(owners::Owners {
            store: ctx.store.clone(),
            dealers: Arc::new(dealers(ctx)),
        })]
    }

    /// The daily card sweep (points leave the window).
    fn start(&self, ctx: &ModuleContext, stop: tokio::sync::watch::Receiver<bool>) -> Background {
        let task = tokio::spawn(queries::run(
            ctx.store.clone(),
            ctx.db.clone(),
            Arc::new(dealers(ctx)),
            stop,
        ));
        Box::pin(async move { Ok(vec![task]) })
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        let api = api::LoyaltyApi {
            store: ctx.store.clone(),
            db: ctx.db.clone(),
            members: progress
                .iter()
                .find(|p| p.name() == projection::NAME)
                .cloned(),
            dealers: Arc::new(dealers(ctx)),
            read_timeout: ctx.config.projections.read_your_writes_timeout,
            allow_future_as_of: ctx.config.server.allow_future_sweeps,
        };
        routes.add_service(LoyaltyServiceServer::with_interceptor(
            api,
            ctx.auth.clone(),
        ));
    }

    fn dealer_keys(&self) -> &'static [&'static str] {
        <config::LoyaltySection as aftercare_runtime::config::DealerSection>::KEYS
    }

    fn check_config(&self, config: &aftercare_runtime::Config, errors: &mut Vec<String>) {
        let dealers = config.dealers.section::<config::LoyaltySection>(errors);
        config::check_clubs(&dealers, errors);
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec![<LoyaltyServiceServer<api::LoyaltyApi> as tonic::server::NamedService>::NAME]
    }
}
