//! Analytics: churn segments, monthly churn rates (rule A and rule B), their
//! breakdowns and the churn incentive scorecard, built from intake's events.
//! It owns its read models and one event of its own: a vehicle's churn segment
//! changed, announced by the churn sweep.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod contacts;
pub mod domain;
pub mod projection;
pub mod queries;
pub mod risk_alert;
pub mod risk_api;
pub mod status_events;
pub mod sweep;
pub mod targets_api;
pub mod targets_events;
pub mod value_api;
pub mod value_projection;

use std::sync::Arc;

use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsServiceServer;
use aftercare_runtime::db::Migrations;
use aftercare_runtime::module::{Background, Module, ModuleContext};
use aftercare_runtime::projection::{ProgressHandle, Projection};
use tonic::service::RoutesBuilder;

pub struct AnalyticsModule;

/// The churn rules of every dealer. The configuration was checked when it was
/// loaded ([`Module::check_config`]), so reading it again finds nothing wrong.
fn dealers(ctx: &ModuleContext) -> config::ChurnDealers {
    ctx.config.dealers.section(&mut Vec::new())
}

impl Module for AnalyticsModule {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(projection::MIGRATIONS)
    }

    fn projections(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![
            Arc::new(projection::ChurnCounters {
                dealers: Arc::new(dealers(ctx)),
                recount_keys: projection::RECOUNT_KEYS,
            }),
            Arc::new(value_projection::VisitValues {
                dealers: Arc::new(dealers(ctx)),
                vault: ctx.vault.clone(),
            }),
        ]
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        let api = api::AnalyticsApi {
            db: ctx.db.clone(),
            store: Some(ctx.store.clone()),
            churn: progress
                .iter()
                .find(|p| p.name() == projection::NAME)
                .cloned(),
            value: progress
                .iter()
                .find(|p| p.name() == value_projection::NAME)
                .cloned(),
            dealers: Arc::new(dealers(ctx)),
            read_timeout: ctx.config.projections.read_your_writes_timeout,
        };
        routes.add_service(AnalyticsServiceServer::with_interceptor(
            api,
            ctx.auth.clone(),
        ));
    }

    /// The churn sweep, announcing segment changes as they come due.
    fn start(&self, ctx: &ModuleContext, stop: tokio::sync::watch::Receiver<bool>) -> Background {
        let sweep = tokio::spawn(sweep::run(
            ctx.store.clone(),
            ctx.db.clone(),
            Arc::new(dealers(ctx)),
            stop.clone(),
        ));
        let risk = tokio::spawn(risk_api::run(
            ctx.store.clone(),
            ctx.db.clone(),
            Arc::new(dealers(ctx)),
            stop,
        ));
        Box::pin(async move { Ok(vec![sweep, risk]) })
    }

    fn dealer_keys(&self) -> &'static [&'static str] {
        <config::ChurnRules as aftercare_runtime::config::DealerSection>::KEYS
    }

    fn check_config(&self, config: &aftercare_runtime::Config, errors: &mut Vec<String>) {
        config.dealers.section::<config::ChurnRules>(errors);
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec![<AnalyticsServiceServer<api::AnalyticsApi> as tonic::server::NamedService>::NAME]
    }
}
