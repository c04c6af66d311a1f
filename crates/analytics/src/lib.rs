//! Analytics: churn segments, monthly churn rates (rule A and rule B), their
//! breakdowns and the churn incentive scorecard, built from intake's events.
//! It owns no tables but its read models, and no commands.
#![forbid(unsafe_code)]

pub mod api;
pub mod contacts;
pub mod domain;
pub mod projection;
pub mod queries;

use std::sync::Arc;

use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsServiceServer;
use aftercare_runtime::db::Migrations;
use aftercare_runtime::module::{Module, ModuleContext};
use aftercare_runtime::projection::{ProgressHandle, Projection};
use tonic::service::RoutesBuilder;

pub struct AnalyticsModule;

impl Module for AnalyticsModule {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(projection::MIGRATIONS)
    }

    fn projections(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(projection::ChurnCounters {
            dealers: Arc::new(ctx.config.dealers.clone()),
        })]
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        let api = api::AnalyticsApi {
            db: ctx.db.clone(),
            churn: progress
                .iter()
                .find(|p| p.name() == projection::NAME)
                .cloned(),
            dealers: Arc::new(ctx.config.dealers.clone()),
            read_timeout: ctx.config.projections.read_your_writes_timeout,
        };
        routes.add_service(AnalyticsServiceServer::with_interceptor(
            api,
            ctx.auth.clone(),
        ));
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec!["aftercare.analytics.v1.AnalyticsService"]
    }
}
