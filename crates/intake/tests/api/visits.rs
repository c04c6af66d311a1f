//! Recording visits through the real event stores, and the visits read model on
//! SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EmbeddedStore, EventStore, Metadata};
use aftercare_intake::domain::visit::{RepairOrder, VisitKind};
use aftercare_intake::projection::{MIGRATIONS, Visits};
use aftercare_intake::record::{RecordError, record_visit};
use aftercare_runtime::projection::{RUNTIME_MIGRATIONS, Runner, RunnerOptions};
use aftercare_runtime::{Database, Secret};
use jiff::Timestamp;
use sqlx::Row;

fn now() -> Timestamp {
    "2026-09-30T08:00:00Z".parse().expect("timestamp")
}

fn dealer(id: &str) -> DealerId {
    DealerId::parse(id).expect("valid")
}

fn order(ro: &str, vin: &str, closed: &str) -> RepairOrder {
    let closed: Timestamp = closed.parse().expect("timestamp");
    RepairOrder {
        repair_order: ro.into(),
        vin: vin.into(),
        customer_id: String::new(),
        opened_at: Some(closed - jiff::SignedDuration::from_hours(5)),
        closed_at: Some(closed),
        mileage_km: 12_000,
        kind: Some(VisitKind::Maintenance),
        labour_fen: 20_000,
        parts_fen: 35_000,
        service_advisor: "李娜".into(),
        advisor_group: "B组".into(),
        fault_codes: vec![],
    }
}

const VIN_A: &str = "LSVAG2186E2100001";
const VIN_B: &str = "1M8GDM9AXKP042788";

async fn store() -> (tempfile::TempDir, Arc<dyn EventStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path().join("events.db"))
        .await
        .expect("log");
    (dir, Arc::new(store))
}

#[tokio::test]
async fn a_repair_order_is_recorded_once_for_ever() {
    let (_dir, store) = store().await;
    let first = record_visit(
        store.as_ref(),
        &dealer("D001"),
        &order("RO-1", VIN_A, "2026-09-02T09:00:00Z"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("recorded");
    assert!(!first.already_recorded);
    // The same repair order again, even with other details: already recorded,
    // answered with the original position.
    let again = record_visit(
        store.as_ref(),
        &dealer("D001"),
        &RepairOrder {
            mileage_km: 99_999,
            ..order("RO-1", VIN_A, "2026-09-02T09:00:00Z")
        },
        now(),
        Metadata::default(),
    )
    .await
    .expect("answered");
    assert!(again.already_recorded);
    assert_eq!(
        (again.visit_id, again.position),
        (first.visit_id, first.position)
    );
    // The same number at another dealer is another visit.
    let other = record_visit(
        store.as_ref(),
        &dealer("D002"),
        &order("RO-1", VIN_A, "2026-09-02T09:00:00Z"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("recorded");
    assert!(!other.already_recorded);
    assert_ne!(other.visit_id, first.visit_id);
    assert_eq!(store.head().await.expect("head").0, 2);
}

#[tokio::test]
async fn an_invalid_repair_order_appends_nothing() {
    let (_dir, store) = store().await;
    let bad = RepairOrder {
        vin: "LSVAG2181E2100001".into(),
        mileage_km: -1,
        ..order("RO-2", VIN_A, "2026-09-02T09:00:00Z")
    };
    match record_visit(
        store.as_ref(),
        &dealer("D001"),
        &bad,
        now(),
        Metadata::default(),
    )
    .await
    {
        Err(RecordError::Invalid(errors)) => {
            let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["vin", "mileage_km"]);
        }
        other => panic!("expected field errors, got {other:?}"),
    }
    assert_eq!(store.head().await.expect("head").0, 0);
}

async fn read_model_on(url: String) {
    let (_dir, store) = store().await;
    let db = Database::connect(&Secret::new(url), 5)
        .await
        .expect("database");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    db.migrate(&MIGRATIONS).await.expect("migrate");
    let d = dealer("D001");
    let visits = [
        ("RO-10", VIN_A, "2026-03-02T09:00:00Z"),
        ("RO-11", VIN_A, "2026-09-02T09:00:00Z"),
        ("RO-12", VIN_B, "2026-05-02T09:00:00Z"),
        ("RO-10", VIN_A, "2026-03-02T09:00:00Z"),
    ];
    let mut head = aftercare_eventstore::Position::ZERO;
    for (ro, vin, closed) in visits {
        head = head.max(
            record_visit(
                store.as_ref(),
                &d,
                &order(ro, vin, closed),
                now(),
                Metadata::default(),
            )
            .await
            .expect("record")
            .position,
        );
    }
    let runner = Runner::projection(
        Arc::new(Visits),
        store.clone(),
        db.clone(),
        RunnerOptions::default(),
    );
    let progress = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    progress
        .wait_for(head, Duration::from_secs(60))
        .await
        .expect("caught up");
    task.abort();
    let vehicles = |db: Database| async move {
        sqlx::query("SELECT vin, visits, last_visit_at FROM intake_vehicles ORDER BY vin")
            .fetch_all(&db.pool)
            .await
            .expect("vehicles")
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<i64, _>(1),
                    r.get::<i64, _>(2),
                )
            })
            .collect::<Vec<_>>()
    };
    let at = |t: &str| t.parse::<Timestamp>().expect("timestamp").as_microsecond();
    let live = vehicles(db.clone()).await;
    assert_eq!(
        live,
        vec![
            (VIN_B.to_owned(), 1, at("2026-05-02T09:00:00Z")),
            (VIN_A.to_owned(), 2, at("2026-09-02T09:00:00Z")),
        ],
        "the repeated repair order counts once"
    );
    let runner = Runner::projection(
        Arc::new(Visits),
        store.clone(),
        db.clone(),
        RunnerOptions::default(),
    );
    runner.rebuild().await.expect("rebuild");
    assert_eq!(
        vehicles(db.clone()).await,
        live,
        "a rebuild gives the same rows"
    );
}

#[tokio::test]
async fn visits_read_model_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    read_model_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn visits_read_model_on_postgres() {
    read_model_on(aftercare_testkit::postgres().create_database().url).await;
}

fn opening(ro: &str) -> aftercare_intake::domain::visit::OpenedOrder {
    aftercare_intake::domain::visit::OpenedOrder {
        repair_order: ro.into(),
        vin: VIN_A.into(),
        opened_at: Some("2026-09-10T01:00:00Z".parse().expect("timestamp")),
        promised_at: None,
        kind: Some(VisitKind::Repair),
        service_advisor: "李娜".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_opened_repair_order_is_closed_by_its_visit() {
    use aftercare_intake::record::open_repair_order;
    let (_dir, store) = store().await;
    let d = dealer("D001");
    let opened = open_repair_order(
        store.as_ref(),
        &d,
        &opening("RO-30"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("opened");
    assert!(!opened.already_recorded);
    let again = open_repair_order(
        store.as_ref(),
        &d,
        &opening("RO-30"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("again");
    assert!(again.already_recorded, "opened once");
    // Closing the opened order records the visit after the opening, same visit id.
    let closed = record_visit(
        store.as_ref(),
        &d,
        &order("RO-30", VIN_A, "2026-09-12T09:00:00Z"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("recorded");
    assert!(!closed.already_recorded);
    assert_eq!(closed.visit_id, opened.visit_id);
    let repeat = record_visit(
        store.as_ref(),
        &d,
        &order("RO-30", VIN_A, "2026-09-12T09:00:00Z"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("repeat");
    assert!(repeat.already_recorded);
    assert_eq!(repeat.position, closed.position);
    // A repair order first reported closed: its late opening is already recorded.
    record_visit(
        store.as_ref(),
        &d,
        &order("RO-31", VIN_A, "2026-09-12T09:00:00Z"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("recorded");
    let late = open_repair_order(
        store.as_ref(),
        &d,
        &opening("RO-31"),
        now(),
        Metadata::default(),
    )
    .await
    .expect("late");
    assert!(late.already_recorded);
    let stream = aftercare_intake::record::visit_stream(&d, opened.visit_id).expect("stream");
    let types: Vec<_> = store
        .read_stream(&stream)
        .await
        .expect("read")
        .iter()
        .map(|e| e.data.event_type.clone())
        .collect();
    assert_eq!(
        types,
        [
            "aftercare.intake.v1.RepairOrderOpened",
            "aftercare.intake.v1.VisitRecorded"
        ]
    );
}
