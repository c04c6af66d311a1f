//! Intake and loyalty as the server runs them, minus the network: an embedded
//! event log, a read-model database per test (SQLite or PostgreSQL), intake's
//! and loyalty's projections and loyalty's policy running, and requests handed
//! over with the principal the authenticator would have attached.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EmbeddedStore, EventStore};
use aftercare_intake::api::IntakeApi;
use aftercare_loyalty::api::LoyaltyApi;
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
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
    /// Every projection's and policy's progress, for [`App::settled`].
    progress: Vec<ProgressHandle>,
    store: Arc<dyn EventStore>,
    pub intake: IntakeApi,
    pub api: LoyaltyApi,
    runners: Vec<tokio::task::JoinHandle<()>>,
    _postgres: Option<aftercare_testkit::TestDatabase>,
    _dir: tempfile::TempDir,
}

impl App {
    /// Waits until every projection and policy has applied the whole log,
    /// including what the policies appended meanwhile: the log's head then.
    pub async fn settled(&self) -> u64 {
        loop {
            let head = self.store_head().await;
            for handle in &self.progress {
                handle
                    .wait_for(head, Duration::from_secs(30))
                    .await
                    .expect("caught up");
            }
            if self.store_head().await == head {
                return head.0;
            }
        }
    }

    async fn store_head(&self) -> aftercare_eventstore::Position {
        self.store.head().await.expect("head")
    }
}

impl Drop for App {
    fn drop(&mut self) {
        for runner in &self.runners {
            runner.abort();
        }
    }
}

/// The app with the dealers' tables of `dealers` (TOML).
pub async fn spawn_app_with(backend: Backend, dealers: &str) -> App {
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
    db.migrate(&aftercare_intake::projection::MIGRATIONS)
        .await
        .expect("migrate");
    db.migrate(&aftercare_loyalty::projection::MIGRATIONS)
        .await
        .expect("migrate");
    let dealers = aftercare_runtime::config::DealersConfig::from_toml(dealers).expect("dealers");
    let mut errors = Vec::new();
    let loyalty_dealers: Arc<aftercare_loyalty::config::LoyaltyDealers> =
        Arc::new(dealers.section(&mut errors));
    assert!(errors.is_empty(), "{errors:?}");
    let projections: Vec<Arc<dyn Projection>> = vec![
        Arc::new(aftercare_intake::projection::Visits),
        Arc::new(aftercare_intake::customer_projection::Customers),
        Arc::new(aftercare_intake::vehicle_projection::VehicleFiles),
        Arc::new(aftercare_intake::lead_projection::Leads),
        Arc::new(aftercare_loyalty::projection::Members {
            dealers: loyalty_dealers.clone(),
        }),
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
    // Owners join and earn by loyalty's policy.
    let policy = Runner::policy(
        Arc::new(aftercare_loyalty::owners::Owners {
            store: store.clone(),
            dealers: loyalty_dealers.clone(),
        }),
        store.clone(),
        db.clone(),
        RunnerOptions::default(),
    );
    handles.push(policy.handle());
    runners.push(tokio::spawn(policy.run(std::future::pending())));
    let handle = |name: &str| handles.iter().find(|h| h.name() == name).cloned();
    let intake = IntakeApi {
        store: store.clone(),
        db: db.clone(),
        visits: handle(aftercare_intake::projection::NAME),
        customers: handle(aftercare_intake::customer_projection::NAME),
        vehicles: handle(aftercare_intake::vehicle_projection::NAME),
        leads: handle(aftercare_intake::lead_projection::NAME),
        read_timeout: Duration::from_secs(30),
        dealers: Arc::new(dealers),
    };
    let api = LoyaltyApi {
        store: store.clone(),
        db: db.clone(),
        members: handle(aftercare_loyalty::projection::NAME),
        dealers: loyalty_dealers,
        read_timeout: Duration::from_secs(30),
        allow_future_as_of: true,
    };
    App {
        progress: handles.clone(),
        store: store.clone(),
        intake,
        api,
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

/// A principal named `name` with one role, scoped to one dealer.
pub fn person(name: &str, role: Role, dealer: &str) -> Principal {
    Principal {
        name: name.into(),
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

pub fn after(position: u64) -> Option<common::Consistency> {
    Some(common::Consistency {
        min_position: Some(common::Position { value: position }),
    })
}

pub fn admin(dealer: &str) -> Principal {
    person("admin", Role::Admin, dealer)
}

/// A customer at `dealer`, consenting to phone calls or not: (id, position).
pub async fn customer(
    app: &App,
    dealer_name: &str,
    name: &str,
    phone: &str,
    calls: bool,
) -> (String, u64) {
    let consents = if calls {
        vec![intake::Consent {
            channel: intake::ContactChannel::Phone as i32,
            granted: true,
        }]
    } else {
        vec![]
    };
    let done = app
        .intake
        .register_customer(request(
            intake::RegisterCustomerRequest {
                dealer: dealer(dealer_name),
                profile: Some(intake::CustomerInput {
                    name: name.into(),
                    phones: vec![phone.into()],
                    ..Default::default()
                }),
                consents,
                ..Default::default()
            },
            &admin(dealer_name),
        ))
        .await
        .expect("customer")
        .into_inner();
    (done.customer_id, done.position.expect("position").value)
}

/// A valid VIN of a test series.
pub fn vin(series: u32, serial: u32) -> String {
    let draft = format!("LSVAG2180E{series:02}{serial:05}");
    let digit = aftercare_kernel::vin::check_digit(&draft).expect("computable");
    let mut vin = draft.into_bytes();
    vin[8] = digit as u8;
    String::from_utf8(vin).expect("ascii")
}

/// Yesterday at the dealers (China Standard Time).
pub fn yesterday() -> jiff::civil::Date {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24))
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date()
}

/// A sale at `at` of the vehicle `vin`, sold yesterday: the position.
pub async fn sale_at(app: &App, at: &str, vin: String, buyer: &str, referrer: &str) -> u64 {
    app.intake
        .record_sale(request(
            intake::RecordSaleRequest {
                dealer: dealer(at),
                vin,
                buyer_customer_id: buyer.into(),
                referrer_customer_id: referrer.into(),
                sales_consultant: "李娜".into(),
                sold_on: Some(aftercare_proto::calendar::to_date(yesterday())),
                model: "科鲁兹".into(),
                ..Default::default()
            },
            &admin(at),
        ))
        .await
        .expect("sale")
        .into_inner()
        .position
        .expect("position")
        .value
}

/// A maintenance visit at `at` closed at `closed` with its labour and parts
/// in fen: the position.
pub async fn visit_at(
    app: &App,
    at: &str,
    order: &str,
    vin: String,
    owner: &str,
    closed: jiff::Timestamp,
    (labour, parts): (i64, i64),
) -> u64 {
    app.intake
        .record_visit(request(
            intake::RecordVisitRequest {
                dealer: dealer(at),
                repair_order: Some(intake::RepairOrder {
                    repair_order: order.into(),
                    vin,
                    customer_id: owner.into(),
                    opened_at: Some(aftercare_proto::calendar::timestamp(
                        closed - jiff::SignedDuration::from_hours(2),
                    )),
                    closed_at: Some(aftercare_proto::calendar::timestamp(closed)),
                    mileage_km: 20_000,
                    kind: intake::VisitKind::Maintenance as i32,
                    labour: Some(aftercare_proto::common::v1::Money { fen: labour }),
                    parts: Some(aftercare_proto::common::v1::Money { fen: parts }),
                    service_advisor: "张伟".into(),
                    ..Default::default()
                }),
            },
            &admin(at),
        ))
        .await
        .expect("visit")
        .into_inner()
        .position
        .expect("position")
        .value
}
