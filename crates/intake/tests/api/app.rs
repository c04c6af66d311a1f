//! The intake service as the server runs it, minus the network: an embedded
//! event log in a temporary folder, a read-model database per test (SQLite or
//! PostgreSQL), every intake projection running, and requests handed to the
//! service with the principal the authenticator would have attached.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EmbeddedStore, EventStore};
use aftercare_intake::api::IntakeApi;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::projection::{
    ProgressHandle, Projection, RUNTIME_MIGRATIONS, Runner, RunnerOptions,
};
use aftercare_runtime::{Database, DealerScope, Principal, Role, Secret};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct App {
    pub api: IntakeApi,
    pub store: Arc<dyn EventStore>,
    runners: Vec<tokio::task::JoinHandle<()>>,
    _postgres: Option<aftercare_testkit::TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        for runner in &self.runners {
            runner.abort();
        }
    }
}

pub async fn spawn_app(backend: Backend) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> = Arc::new(
        EmbeddedStore::open(dir.path().join("events.db"))
            .await
            .expect("event log"),
    );
    let (url, postgres) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/read.db?mode=rwc", dir.path().display()),
            None,
        ),
        Backend::Postgres => {
            let database = aftercare_testkit::postgres().create_database();
            (database.url.clone(), Some(database))
        }
    };
    let db = Database::connect(&Secret::new(url), 5)
        .await
        .expect("database");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    db.migrate(&aftercare_intake::projection::MIGRATIONS)
        .await
        .expect("migrate");
    let projections: Vec<Arc<dyn Projection>> = vec![
        Arc::new(aftercare_intake::projection::Visits),
        Arc::new(aftercare_intake::customer_projection::Customers),
        Arc::new(aftercare_intake::vehicle_projection::VehicleFiles),
        Arc::new(aftercare_intake::lead_projection::Leads),
    ];
    let mut handles: Vec<ProgressHandle> = Vec::new();
    let mut runners = Vec::new();
    for projection in projections {
        let runner = Runner::projection(
            projection,
            store.clone(),
            db.clone(),
            RunnerOptions::default(),
        );
        handles.push(runner.handle());
        runners.push(tokio::spawn(runner.run(std::future::pending())));
    }
    let handle = |name: &str| handles.iter().find(|h| h.name() == name).cloned();
    let api = IntakeApi {
        store: store.clone(),
        db,
        visits: handle(aftercare_intake::projection::NAME),
        customers: handle(aftercare_intake::customer_projection::NAME),
        vehicles: handle(aftercare_intake::vehicle_projection::NAME),
        leads: handle(aftercare_intake::lead_projection::NAME),
        read_timeout: Duration::from_secs(30),
        dealers: Arc::new(Default::default()),
    };
    App {
        api,
        store,
        runners,
        _postgres: postgres,
        _dir: dir,
    }
}

pub fn dealer(id: &str) -> Option<common::DealerId> {
    Some(common::DealerId { value: id.into() })
}

pub fn dealer_id(id: &str) -> DealerId {
    DealerId::parse(id).expect("valid dealer")
}

/// A principal with one role, scoped to one dealer.
pub fn principal(role: Role, dealer: &str) -> Principal {
    Principal {
        name: format!("{}@{dealer}", role.as_str()),
        roles: BTreeSet::from([role]),
        scope: DealerScope::Dealer(dealer_id(dealer)),
    }
}

/// A request as the authenticator hands it on.
pub fn request<T>(message: T, principal: &Principal) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(Arc::new(principal.clone()));
    request
}

/// Read-your-writes at `position`.
pub fn after(position: Option<common::Position>) -> Option<common::Consistency> {
    Some(common::Consistency {
        min_position: position,
    })
}
