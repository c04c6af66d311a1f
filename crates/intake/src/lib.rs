//! Intake: who the customers are, which vehicles they own, what was sold, every
//! service visit the DMS reports, and every lead. Every other service reads its
//! events.
#![forbid(unsafe_code)]

pub mod api;
pub mod bulk;
pub mod calendar;
pub mod customer_api;
pub mod customer_events;
pub mod customer_projection;
pub mod customer_queries;
pub mod domain;
pub mod events;
pub mod ingest;
pub mod json;
pub mod lead_api;
pub mod lead_events;
pub mod lead_projection;
pub mod projection;
pub mod record;
pub mod sale_api;
pub mod vehicle_events;
pub mod vehicle_history;
pub mod vehicle_projection;
pub mod wrong_numbers;

use std::sync::Arc;

use aftercare_proto::intake::v1::intake_service_server::IntakeServiceServer;
use aftercare_runtime::db::Migrations;
use aftercare_runtime::module::{Background, Module, ModuleContext};
use aftercare_runtime::projection::{Policy, ProgressHandle, Projection};
use tonic::service::RoutesBuilder;

pub struct IntakeModule;

impl Module for IntakeModule {
    fn name(&self) -> &'static str {
        "intake"
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(projection::MIGRATIONS)
    }

    fn projections(&self, _ctx: &ModuleContext) -> Vec<Arc<dyn Projection>> {
        vec![
            Arc::new(projection::Visits),
            Arc::new(customer_projection::Customers),
            Arc::new(vehicle_projection::VehicleFiles),
            Arc::new(lead_projection::Leads),
        ]
    }

    /// Wrong numbers found by callbacks mark the customer file.
    fn policies(&self, ctx: &ModuleContext) -> Vec<Arc<dyn Policy>> {
        vec![Arc::new(wrong_numbers::WrongNumbers {
            store: ctx.store.clone(),
        })]
    }

    fn routes(&self, ctx: &ModuleContext, progress: &[ProgressHandle], routes: &mut RoutesBuilder) {
        let api = api::IntakeApi {
            store: ctx.store.clone(),
            db: ctx.db.clone(),
            visits: progress
                .iter()
                .find(|p| p.name() == projection::NAME)
                .cloned(),
            customers: progress
                .iter()
                .find(|p| p.name() == customer_projection::NAME)
                .cloned(),
            vehicles: progress
                .iter()
                .find(|p| p.name() == vehicle_projection::NAME)
                .cloned(),
            leads: progress
                .iter()
                .find(|p| p.name() == lead_projection::NAME)
                .cloned(),
            read_timeout: ctx.config.projections.read_your_writes_timeout,
            dealers: Arc::new(ctx.config.dealers.clone()),
        };
        routes.add_service(IntakeServiceServer::with_interceptor(api, ctx.auth.clone()));
    }

    fn start(&self, ctx: &ModuleContext, stop: tokio::sync::watch::Receiver<bool>) -> Background {
        // The ingest subjects exist where NATS does; the embedded default has gRPC only.
        let Some(nats) = ctx.nats.clone() else {
            return Box::pin(async { Ok(Vec::new()) });
        };
        let store = ctx.store.clone();
        Box::pin(async move {
            let client = nats.client().clone();
            let subscriptions = ingest::subscribe(&client, nats.prefix()).await?;
            if !nats.replies_confined() {
                tracing::warn!(
                    "dms ingest replies go out on the service's own connection; set store.reply_url to a NATS user that may publish only to _INBOX.> (deploy/nats/nats.conf)"
                );
            }
            Ok(vec![tokio::spawn(ingest::serve(
                subscriptions,
                nats.reply_client().clone(),
                store,
                stop,
            ))])
        })
    }

    fn service_names(&self) -> Vec<&'static str> {
        vec![<IntakeServiceServer<api::IntakeApi> as tonic::server::NamedService>::NAME]
    }
}
