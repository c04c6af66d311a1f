//! The complaint service as the server runs it, minus the network: an embedded
//! event log, a read-model database per test (SQLite or PostgreSQL), the ticket
//! projection running, and requests handed over with the principal the
//! authenticator would have attached.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aftercare_complaint::api::ComplaintApi;
use aftercare_eventstore::{DealerId, EmbeddedStore, EventStore, StreamId};
use aftercare_intake::customer_events::CustomerCodec;
use aftercare_intake::domain::customer::{Customer, CustomerCommand, CustomerType, ProfileInput};
use aftercare_runtime::command::execute;
use aftercare_runtime::privacy;
use aftercare_runtime::projection::{RUNTIME_MIGRATIONS, Runner, RunnerOptions};
use aftercare_runtime::{Database, DealerScope, Principal, Role, Secret};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct App {
    pub api: ComplaintApi,
    pub store: Arc<dyn EventStore>,
    pub db: Database,
    runner: tokio::task::JoinHandle<()>,
    _postgres: Option<aftercare_testkit::TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        self.runner.abort();
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
    let url = Secret::new(url);
    let db = Database::connect(&url, 5).await.expect("database");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    db.migrate(&aftercare_complaint::projection::MIGRATIONS)
        .await
        .expect("migrate");
    // The keys live apart from the read models, as the server keeps them.
    let keys = privacy::default_keys_url(&db, &url, dir.path())
        .await
        .expect("keys url");
    let vault = privacy::open_vault(&db, &keys).await.expect("vault");
    let dealers = Arc::new(dealers());
    let runner = Runner::projection(
        Arc::new(aftercare_complaint::projection::Tickets {
            vault: vault.clone(),
            dealers: dealers.clone(),
        }),
        store.clone(),
        db.clone(),
        RunnerOptions::default(),
    );
    let tickets = runner.handle();
    let runner = tokio::spawn(runner.run(std::future::pending()));
    let api = ComplaintApi {
        store: store.clone(),
        db: db.clone(),
        tickets: Some(tickets),
        vault,
        warnings: None,
        workshop: None,
        dealers,
        read_timeout: Duration::from_secs(30),
        allow_future_sweeps: false,
    };
    App {
        api,
        store,
        db,
        runner,
        _postgres: postgres,
        _dir: dir,
    }
}

/// The dealers' tables of the tests: D001 as configured by default (Chinese,
/// Shanghai), D002 writing in English.
fn dealers() -> aftercare_complaint::config::ComplaintDealers {
    let config =
        aftercare_runtime::config::DealersConfig::from_toml("[dealers.D002]\nlanguage = \"en\"\n")
            .expect("the tests' dealers");
    let mut errors = Vec::new();
    let dealers = config.section(&mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    dealers
}

/// A request's dealer field.
pub fn dealer_field(id: &str) -> Option<aftercare_proto::common::v1::DealerId> {
    Some(aftercare_proto::common::v1::DealerId { value: id.into() })
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

/// A customer file opened at `dealer` through intake's events: its id.
pub async fn customer(store: &dyn EventStore, dealer: &str, id: &str, name: &str) -> String {
    let profile = ProfileInput {
        name: name.into(),
        phones: vec!["13812341234".into()],
        district: String::new(),
        customer_type: CustomerType::Private,
        birthday: None,
    }
    .validate(jiff::civil::date(2026, 11, 26))
    .expect("valid");
    let uuid = uuid::Uuid::parse_str(id).expect("uuid");
    let stream =
        StreamId::new(dealer_id(dealer), "customer", uuid.simple().to_string()).expect("stream");
    let register = CustomerCommand::Register {
        customer_id: uuid.to_string(),
        profile,
        consents: vec![],
    };
    execute::<Customer>(store, &stream, &CustomerCodec, register, |e| e)
        .await
        .expect("registered");
    uuid.to_string()
}
