//! The projection and policy runners against real databases (SQLite and a
//! throwaway PostgreSQL cluster) and real event stores.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{
    AppendRequest, DealerId, EmbeddedStore, EventData, EventStore, Expected, Filter,
    JetStreamConfig, JetStreamStore, Position, RecordedEvent, StreamId,
};
use aftercare_runtime::db::{Database, Migrations, SqlMigration, SqlValue, insert_rows};
use aftercare_runtime::projection::{
    ApplyError, AuditTrail, Policy, Projection, RUNTIME_MIGRATIONS, ReactError, Runner,
    RunnerOptions,
};
use aftercare_runtime::{Secret, ServiceError};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

/// Counts events per aggregate with a non-idempotent increment, so applying any
/// event twice shows up as a wrong count.
struct VisitCounts;

const COUNTS_SQL: &str =
    "CREATE TABLE IF NOT EXISTS visit_counts (aggregate_id TEXT PRIMARY KEY, n BIGINT NOT NULL)";
const COUNTS: Migrations = Migrations {
    postgres: &[SqlMigration {
        version: 9001,
        description: "visit counts",
        sql: COUNTS_SQL,
    }],
    sqlite: &[SqlMigration {
        version: 9001,
        description: "visit counts",
        sql: COUNTS_SQL,
    }],
};

#[async_trait]
impl Projection for VisitCounts {
    fn name(&self) -> &'static str {
        "visit_counts"
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("visit")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["visit_counts"]
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM visit_counts")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        for event in events {
            if event.data.payload.as_ref() == b"poison" {
                return Err(ApplyError::Poison {
                    position: event.position,
                    reason: "payload is poison".into(),
                });
            }
            sqlx::query(
                "INSERT INTO visit_counts (aggregate_id, n) VALUES ($1, 1) \
                 ON CONFLICT (aggregate_id) DO UPDATE SET n = visit_counts.n + 1",
            )
            .bind(event.stream.id())
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

enum Engine {
    Sqlite,
    Postgres,
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn EventStore>,
    db: Database,
    url: String,
}

async fn setup(engine: Engine) -> Setup {
    aftercare_testkit::init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        EmbeddedStore::open(dir.path().join("events.db"))
            .await
            .expect("log"),
    );
    let url = match engine {
        Engine::Sqlite => format!("sqlite://{}/read.db?mode=rwc", dir.path().display()),
        Engine::Postgres => aftercare_testkit::postgres().create_database().url,
    };
    let db = Database::connect(&Secret::new(url.clone()), 5)
        .await
        .expect("database");
    db.migrate(&RUNTIME_MIGRATIONS)
        .await
        .expect("runtime migrations");
    db.migrate(&COUNTS).await.expect("test migrations");
    Setup {
        _dir: dir,
        store,
        db,
        url,
    }
}

fn stream(aggregate: &str, id: usize) -> StreamId {
    StreamId::new(
        DealerId::parse("D001").expect("valid"),
        aggregate,
        id.to_string(),
    )
    .expect("valid")
}

/// `per` events on each of `aggregates` visit streams, plus one unrelated
/// complaint event per round that the projection must skip.
async fn seed(store: &dyn EventStore, aggregates: usize, per: usize) -> Position {
    for round in 0..per {
        let mut batch: Vec<AppendRequest> = (0..aggregates)
            .map(|a| AppendRequest {
                stream: stream("visit", a),
                expected: Expected::Any,
                events: vec![EventData::new(
                    "aftercare.test.v1.VisitRecorded",
                    format!("{a}/{round}"),
                )],
            })
            .collect();
        batch.push(AppendRequest {
            stream: stream("complaint", round),
            expected: Expected::Any,
            events: vec![EventData::new("aftercare.test.v1.ComplaintFiled", "x")],
        });
        for r in store.append_batch(batch).await {
            r.expect("append");
        }
    }
    store.head().await.expect("head")
}

async fn counts(db: &Database) -> Vec<(String, i64)> {
    sqlx::query("SELECT aggregate_id, n FROM visit_counts ORDER BY aggregate_id")
        .fetch_all(&db.pool)
        .await
        .expect("counts")
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect()
}

fn options(batch_size: usize) -> RunnerOptions {
    RunnerOptions {
        batch_size,
        max_attempts: 2,
        retry_backoff: Duration::from_millis(5),
        ..RunnerOptions::default()
    }
}

/// Runs a projection until it has applied the log up to `head`.
async fn run_to(
    s: &Setup,
    projection: Arc<dyn Projection>,
    head: Position,
    batch: usize,
) -> Runner {
    let runner = Runner::projection(
        projection.clone(),
        s.store.clone(),
        s.db.clone(),
        options(batch),
    );
    let handle = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    handle
        .wait_for(head, Duration::from_secs(120))
        .await
        .expect("caught up");
    task.abort();
    Runner::projection(projection, s.store.clone(), s.db.clone(), options(batch))
}

async fn crash_between_commit_and_acknowledgement_applies_nothing_twice(engine: Engine) {
    let s = setup(engine).await;
    let head = seed(s.store.as_ref(), 40, 25).await;
    // Kill the runner again and again: each time just after it committed a batch
    // (between the commit and anything that would follow it), or a little later,
    // mid-way through the next batch; then start a new one from the checkpoint.
    let mut kills = 0u64;
    loop {
        let runner = Runner::projection(
            Arc::new(VisitCounts),
            s.store.clone(),
            s.db.clone(),
            options(7),
        );
        let handle = runner.handle();
        let task = tokio::spawn(runner.run(std::future::pending()));
        handle
            .wait_for(Position(1), Duration::from_secs(60))
            .await
            .expect("checkpoint loaded");
        let start = handle.current().position;
        if start >= head {
            task.abort();
            break;
        }
        handle
            .wait_for(start.next(), Duration::from_secs(60))
            .await
            .expect("one more batch");
        if !kills.is_multiple_of(3) {
            // Let the runner get a little way into its next batch before the kill.
            for _ in 0..kills % 7 * 4 {
                tokio::task::yield_now().await;
            }
        }
        task.abort();
        let _ = task.await;
        kills += 1;
    }
    assert!(
        kills > 0,
        "the runner was never interrupted; the test proved nothing"
    );
    let got = counts(&s.db).await;
    assert_eq!(got.len(), 40);
    assert!(
        got.iter().all(|(_, n)| *n == 25),
        "some event was applied twice or lost: {got:?}"
    );
}

async fn rebuild_gives_the_same_rows(engine: Engine) {
    let s = setup(engine).await;
    let head = seed(s.store.as_ref(), 30, 20).await;
    let runner = run_to(&s, Arc::new(VisitCounts), head, 64).await;
    let live = counts(&s.db).await;
    let audit_live = run_to(&s, Arc::new(AuditTrail), head, 500).await;
    let audit_rows = |db: Database| async move {
        sqlx::query("SELECT position, event_id, aggregate, aggregate_id, event_type FROM audit_events ORDER BY position")
            .fetch_all(&db.pool)
            .await
            .expect("audit rows")
            .iter()
            .map(|r| format!("{}|{}|{}|{}|{}", r.get::<i64, _>(0), r.get::<String, _>(1), r.get::<String, _>(2), r.get::<String, _>(3), r.get::<String, _>(4)))
            .collect::<Vec<_>>()
    };
    let audit_before = audit_rows(s.db.clone()).await;
    assert_eq!(audit_before.len() as u64, head.0);

    let progress = runner.rebuild().await.expect("rebuild");
    assert_eq!(progress.position, head);
    assert_eq!(counts(&s.db).await, live);
    audit_live.rebuild().await.expect("rebuild audit");
    assert_eq!(audit_rows(s.db.clone()).await, audit_before);
}

async fn poison_event_is_dead_lettered_and_the_projection_goes_on(engine: Engine) {
    let s = setup(engine).await;
    seed(s.store.as_ref(), 5, 3).await;
    let poison = s
        .store
        .append(
            &stream("visit", 2),
            Expected::Any,
            vec![EventData::new("aftercare.test.v1.VisitRecorded", "poison")],
        )
        .await
        .expect("append poison");
    let head = seed(s.store.as_ref(), 5, 2).await;
    let runner = Runner::projection(
        Arc::new(VisitCounts),
        s.store.clone(),
        s.db.clone(),
        options(100),
    );
    let handle = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    handle
        .wait_for(head, Duration::from_secs(60))
        .await
        .expect("went past the poison event");
    task.abort();
    assert_eq!(handle.current().dead_lettered, 1);
    assert!(
        counts(&s.db).await.iter().all(|(_, n)| *n == 5),
        "every other event applied once"
    );
    let letters = s
        .store
        .dead_letters(Some("projection-visit_counts"))
        .await
        .expect("dead letters");
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].source_position, Some(poison.position));
    assert!(
        letters[0].reason.contains("payload is poison"),
        "{}",
        letters[0].reason
    );
    assert_eq!(letters[0].payload.as_ref(), b"poison");
}

/// Two runners of one projection at once, as two replicas of a service are
/// during a rolling update, each with its own connection pool: every event is
/// applied exactly once, row by row, while both keep following the log.
async fn two_runners_apply_every_event_once(engine: Engine) {
    let s = setup(engine).await;
    let head = seed(s.store.as_ref(), 40, 25).await;
    let second_db = Database::connect(&Secret::new(s.url.clone()), 5)
        .await
        .expect("second pool");
    let start = |db: Database| {
        let runner = Runner::projection(Arc::new(VisitCounts), s.store.clone(), db, options(7));
        let handle = runner.handle();
        (handle, tokio::spawn(runner.run(std::future::pending())))
    };
    let (first, first_task) = start(s.db.clone());
    let (second, second_task) = start(second_db);
    for handle in [&first, &second] {
        handle
            .wait_for(head, Duration::from_secs(120))
            .await
            .expect("caught up");
    }
    let got = counts(&s.db).await;
    assert_eq!(got.len(), 40);
    assert!(
        got.iter().all(|(_, n)| *n == 25),
        "an event was applied twice or lost: {got:?}"
    );
    // And while both follow the live log.
    let head = seed(s.store.as_ref(), 40, 5).await;
    for handle in [&first, &second] {
        handle
            .wait_for(head, Duration::from_secs(120))
            .await
            .expect("caught up again");
    }
    first_task.abort();
    second_task.abort();
    let got = counts(&s.db).await;
    assert!(
        got.iter().all(|(_, n)| *n == 30),
        "an event was applied twice or lost: {got:?}"
    );
}

/// [`VisitCounts`] as one replica runs it: counting the events it applied
/// and, once `fixed` is set (its fix shipped), counting a poison payload like
/// any other event.
#[derive(Default)]
struct Watched {
    fixed: Arc<std::sync::atomic::AtomicBool>,
    applied: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait]
impl Projection for Watched {
    fn name(&self) -> &'static str {
        VisitCounts.name()
    }

    fn filter(&self) -> Filter {
        VisitCounts.filter()
    }

    fn tables(&self) -> &'static [&'static str] {
        VisitCounts.tables()
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let cured: Vec<RecordedEvent> = events
            .iter()
            .cloned()
            .map(|mut e| {
                if self.fixed.load(std::sync::atomic::Ordering::SeqCst)
                    && e.data.payload.as_ref() == b"poison"
                {
                    e.data.payload = "cured".into();
                }
                e
            })
            .collect();
        VisitCounts.apply(tx, &cured).await?;
        self.applied
            .fetch_add(events.len(), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// The retry state of one letter, once it is no longer `requested`.
async fn retried(db: &Database, position: Position) -> aftercare_runtime::projection::Retry {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let retries = aftercare_runtime::projection::retries(&db.pool)
            .await
            .expect("retries");
        if let Some(r) = retries.iter().find(|r| {
            r.position == position
                && r.state != aftercare_runtime::projection::RetryState::Requested
        }) {
            return r.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the retry was never attempted: {retries:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A dead letter retried before its fix fails again with the reason; retried
/// after it, it is applied once, by one of two running replicas, and a third
/// request finds it applied.
async fn a_dead_letter_retried_after_the_fix_applies_once(engine: Engine) {
    use aftercare_runtime::projection::{RetryState, request_retry};
    let s = setup(engine).await;
    seed(s.store.as_ref(), 5, 3).await;
    let poison = s
        .store
        .append(
            &stream("visit", 2),
            Expected::Any,
            vec![EventData::new("aftercare.test.v1.VisitRecorded", "poison")],
        )
        .await
        .expect("append poison")
        .position;
    let head = seed(s.store.as_ref(), 5, 2).await;
    let fixed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let second_db = Database::connect(&Secret::new(s.url.clone()), 5)
        .await
        .expect("second pool");
    let mut tasks = Vec::new();
    let mut handles = Vec::new();
    for db in [s.db.clone(), second_db] {
        let runner = Runner::projection(
            Arc::new(Watched {
                fixed: fixed.clone(),
                ..Watched::default()
            }),
            s.store.clone(),
            db,
            RunnerOptions {
                retry_poll: Duration::from_millis(10),
                ..options(100)
            },
        );
        handles.push(runner.handle());
        tasks.push(tokio::spawn(runner.run(std::future::pending())));
    }
    for handle in &handles {
        handle
            .wait_for(head, Duration::from_secs(60))
            .await
            .expect("went past the poison event");
    }
    assert!(counts(&s.db).await.iter().all(|(_, n)| *n == 5));

    // Before the fix: it fails again, and says why.
    assert!(
        request_retry(&s.db.pool, "visit_counts", poison, "ops")
            .await
            .expect("request")
    );
    let failed = retried(&s.db, poison).await;
    assert_eq!(failed.state, RetryState::Failed);
    assert!(
        failed.reason.contains("payload is poison"),
        "{}",
        failed.reason
    );
    assert_eq!(failed.requested_by, "ops");

    // After it: applied once, though two runners look for it.
    fixed.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        request_retry(&s.db.pool, "visit_counts", poison, "ops")
            .await
            .expect("request")
    );
    let applied = retried(&s.db, poison).await;
    assert_eq!(applied.state, RetryState::Applied, "{}", applied.reason);
    assert!(applied.finished_at.is_some());
    assert!(
        !request_retry(&s.db.pool, "visit_counts", poison, "ops")
            .await
            .expect("request"),
        "an applied letter is not requested again"
    );
    // Both runners keep following the log; the retried event counted once.
    let head = seed(s.store.as_ref(), 5, 1).await;
    for handle in &handles {
        handle
            .wait_for(head, Duration::from_secs(60))
            .await
            .expect("caught up");
    }
    // A position with no event: failed, with the reason.
    let beyond = Position(head.0 + 100);
    assert!(
        request_retry(&s.db.pool, "visit_counts", beyond, "ops")
            .await
            .expect("request")
    );
    let nothing = retried(&s.db, beyond).await;
    assert_eq!(nothing.state, RetryState::Failed);
    assert!(
        nothing.reason.contains("no event at position"),
        "{}",
        nothing.reason
    );
    for task in tasks {
        task.abort();
    }
    let got = counts(&s.db).await;
    let expected: Vec<(String, i64)> = (0..5)
        .map(|a| (a.to_string(), if a == 2 { 7 } else { 6 }))
        .collect();
    assert_eq!(
        got, expected,
        "the retried event is counted once, the others once each"
    );
}

/// Keeps each event's payload as text: a payload PostgreSQL refuses as text (a
/// NUL character) is the event's fault, not the database being down.
struct Notes;

const NOTES_SQL: &str =
    "CREATE TABLE IF NOT EXISTS notes (position BIGINT PRIMARY KEY, body TEXT NOT NULL)";
const NOTES: Migrations = Migrations {
    postgres: &[SqlMigration {
        version: 9002,
        description: "notes",
        sql: NOTES_SQL,
    }],
    sqlite: &[SqlMigration {
        version: 9002,
        description: "notes",
        sql: NOTES_SQL,
    }],
};

#[async_trait]
impl Projection for Notes {
    fn name(&self) -> &'static str {
        "notes"
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("note")
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM notes").execute(&mut *tx).await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let rows: Vec<Vec<SqlValue>> = events
            .iter()
            .map(|e| {
                vec![
                    SqlValue::Int(e.position.0 as i64),
                    SqlValue::Text(String::from_utf8_lossy(&e.data.payload).into_owned()),
                ]
            })
            .collect();
        insert_rows(tx, "notes", &["position", "body"], "", &rows).await?;
        Ok(())
    }
}

/// A value the database refuses for that event alone costs that event alone: the
/// rest of its batch is applied, it is dead-lettered with the database's reason,
/// and the runner does not wait on it as if the database were down.
async fn a_value_the_database_refuses_costs_one_event(engine: Engine) {
    let postgres = matches!(engine, Engine::Postgres);
    let s = setup(engine).await;
    s.db.migrate(&NOTES).await.expect("notes table");
    let note = |id: usize, body: &str| AppendRequest {
        stream: stream("note", id),
        expected: Expected::Any,
        events: vec![EventData::new(
            "aftercare.test.v1.NoteTaken",
            body.to_owned(),
        )],
    };
    let batch = (0..20)
        .map(|i| note(i, if i == 7 { "bad\u{0}value" } else { "fine" }))
        .collect();
    for r in s.store.append_batch(batch).await {
        r.expect("append");
    }
    let head = s.store.head().await.expect("head");
    let runner = Runner::projection(
        Arc::new(Notes),
        s.store.clone(),
        s.db.clone(),
        RunnerOptions {
            batch_size: 100,
            max_attempts: 2,
            // A runner that took the refusal for an outage would back off for
            // good; this one must get past it long before the wait below ends.
            retry_backoff: Duration::from_secs(30),
            ..RunnerOptions::default()
        },
    );
    let handle = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    let reached = handle.wait_for(head, Duration::from_secs(60)).await;
    task.abort();
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM notes")
        .fetch_one(&s.db.pool)
        .await
        .expect("count")
        .get(0);
    if postgres {
        reached.expect("went past the refused event");
        assert_eq!(rows, 19, "every other event of the batch applied");
        assert_eq!(handle.current().dead_lettered, 1);
        let letters = s
            .store
            .dead_letters(Some("projection-notes"))
            .await
            .expect("dead letters");
        assert_eq!(letters.len(), 1, "{letters:?}");
        assert_eq!(letters[0].source_position, Some(Position(8)));
    } else {
        // SQLite stores the NUL as it is.
        reached.expect("caught up");
        assert_eq!(rows, 20);
    }
}

/// NULLs and values of every column type through one multi-row statement shape:
/// a NULL bound once must not change how a later value of that column is read
/// (PostgreSQL caches the statement with the types of its first bind).
async fn nulls_and_values_keep_their_column_types(engine: Engine) {
    let postgres = matches!(engine, Engine::Postgres);
    let s = setup(engine).await;
    let blob = if postgres { "BYTEA" } else { "BLOB" };
    sqlx::query(&format!(
        "CREATE TABLE typed (id TEXT PRIMARY KEY, owner TEXT, n BIGINT, data {blob})"
    ))
    .execute(&s.db.pool)
    .await
    .expect("table");
    let long = "长".repeat(10_000) + "'\"\\%_😀";
    let rows: Vec<Vec<SqlValue>> = vec![
        vec![
            SqlValue::Text("a".into()),
            SqlValue::NullText,
            SqlValue::NullInt,
            SqlValue::NullBytes,
        ],
        vec![
            SqlValue::Text("b".into()),
            SqlValue::Text("C0000042".into()),
            SqlValue::Int(i64::MIN),
            SqlValue::Bytes(vec![0, 1, 255]),
        ],
        vec![
            SqlValue::Text("c".into()),
            SqlValue::Text(long.clone()),
            SqlValue::Int(i64::MAX),
            SqlValue::Bytes(Vec::new()),
        ],
    ];
    // One row per statement, in this order, so the NULL row prepares the
    // statement that the others reuse; then all at once.
    let mut conn = s.db.pool.acquire().await.expect("connection");
    for row in &rows {
        insert_rows(
            &mut conn,
            "typed",
            &["id", "owner", "n", "data"],
            "",
            std::slice::from_ref(row),
        )
        .await
        .expect("insert one");
    }
    sqlx::query("DELETE FROM typed")
        .execute(&mut *conn)
        .await
        .expect("empty");
    insert_rows(&mut conn, "typed", &["id", "owner", "n", "data"], "", &rows)
        .await
        .expect("insert all");
    for row in &rows {
        insert_rows(
            &mut conn,
            "typed",
            &["id", "owner", "n", "data"],
            "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, n = excluded.n, data = excluded.data",
            std::slice::from_ref(row),
        )
        .await
        .expect("upsert one");
    }
    type Typed = (String, Option<String>, Option<i64>, Option<Vec<u8>>);
    let got: Vec<Typed> = sqlx::query("SELECT id, owner, n, data FROM typed ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".to_owned(), None, None, None),
            (
                "b".to_owned(),
                Some("C0000042".to_owned()),
                Some(i64::MIN),
                Some(vec![0, 1, 255])
            ),
            ("c".to_owned(), Some(long), Some(i64::MAX), Some(Vec::new())),
        ]
    );
}

macro_rules! on_both_engines {
    ($($case:ident),*) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::Engine::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::Engine::Postgres).await })*
        }
    };
}

on_both_engines!(
    two_runners_apply_every_event_once,
    a_value_the_database_refuses_costs_one_event,
    nulls_and_values_keep_their_column_types,
    crash_between_commit_and_acknowledgement_applies_nothing_twice,
    rebuild_gives_the_same_rows,
    poison_event_is_dead_lettered_and_the_projection_goes_on,
    a_dead_letter_retried_after_the_fix_applies_once
);

/// Remembers the size of every batch it is given; writes nothing.
#[derive(Default)]
struct BatchSizes(std::sync::Mutex<Vec<usize>>);

#[async_trait]
impl Projection for BatchSizes {
    fn name(&self) -> &'static str {
        "batch_sizes"
    }

    fn filter(&self) -> Filter {
        Filter::all()
    }

    async fn reset(&self, _tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        self.0.lock().expect("not poisoned").clear();
        Ok(())
    }

    async fn apply(
        &self,
        _tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        self.0.lock().expect("not poisoned").push(events.len());
        Ok(())
    }
}

/// A rebuild reads ahead until a batch is full (or the log's head is reached),
/// so a read model whose rows absorb many events writes each row as few times
/// as the batch size allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_applies_full_batches() {
    let s = setup(Engine::Sqlite).await;
    let head = seed(s.store.as_ref(), 30, 20).await;
    assert_eq!(head, Position(620), "30 × 20 visits and 20 complaints");
    let sizes = Arc::new(BatchSizes::default());
    let runner = Runner::projection(sizes.clone(), s.store.clone(), s.db.clone(), options(64));
    let progress = runner.rebuild().await.expect("rebuild");
    assert_eq!(progress.position, head);
    let mut expected = vec![64; 9];
    expected.push(620 - 9 * 64);
    assert_eq!(*sizes.0.lock().expect("not poisoned"), expected);
}

/// The poison event lands on the JetStream dead-letter subject, with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_event_reaches_the_jetstream_dead_letter_subject() {
    aftercare_testkit::init_tracing();
    let server = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let store = JetStreamStore::connect(JetStreamConfig {
        url: server.url(),
        ..Default::default()
    })
    .await
    .expect("jetstream");
    let db = Database::connect(
        &Secret::new(aftercare_testkit::postgres().create_database().url),
        5,
    )
    .await
    .expect("postgres");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    db.migrate(&COUNTS).await.expect("migrate");
    let store: Arc<dyn EventStore> = Arc::new(store.clone());
    let visit = |n: usize, payload: &'static str| {
        let store = store.clone();
        async move {
            let event = EventData::new("aftercare.test.v1.VisitRecorded", payload);
            store
                .append(&stream("visit", n), Expected::Any, vec![event])
                .await
                .expect("append")
                .position
        }
    };
    visit(1, "ok").await;
    let poison = visit(2, "poison").await;
    let head = visit(3, "ok").await;
    let runner = Runner::projection(
        Arc::new(VisitCounts),
        store.clone(),
        db.clone(),
        options(100),
    );
    let handle = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    handle
        .wait_for(head, Duration::from_secs(60))
        .await
        .expect("caught up");
    task.abort();
    // Read the subject directly, as an operator's tool would.
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let mut dlq = js.get_stream("AFTERCARE_DLQ").await.expect("dlq stream");
    let message = dlq
        .get_last_raw_message_by_subject("aftercare.dlq.D001.projection-visit_counts")
        .await
        .expect("dead letter");
    assert_eq!(
        message
            .headers
            .get("Aftercare-Source-Position")
            .map(|v| v.as_str().to_owned()),
        Some(poison.to_string())
    );
    assert!(
        message
            .headers
            .get("Aftercare-Reason")
            .is_some_and(|r| r.as_str().contains("payload is poison"))
    );
    assert_eq!(dlq.info().await.expect("info").state.messages, 1);
    assert_eq!(
        counts(&db).await,
        vec![("1".to_owned(), 1), ("3".to_owned(), 1)]
    );
}

/// Read-your-writes: waiting for a position the projection never reaches ends
/// with `NotCaughtUp`, not a hang.
#[tokio::test]
async fn waiting_beyond_the_log_is_not_caught_up() {
    let s = setup(Engine::Sqlite).await;
    let head = seed(s.store.as_ref(), 2, 2).await;
    let runner = Runner::projection(
        Arc::new(VisitCounts),
        s.store.clone(),
        s.db.clone(),
        options(10),
    );
    let handle = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    handle
        .wait_for(head, Duration::from_secs(60))
        .await
        .expect("reaches the head");
    let err = handle
        .wait_for(head.next(), Duration::from_millis(50))
        .await
        .expect_err("beyond the head");
    assert!(
        matches!(err, ServiceError::NotCaughtUp { at, wanted, .. } if at == head.0 && wanted == head.0 + 1)
    );
    task.abort();
}

/// A policy issues one derived command per event; running it again from the
/// start (a replay, a lost checkpoint) creates nothing twice.
struct ScheduleCallback {
    store: Arc<dyn EventStore>,
}

#[async_trait]
impl Policy for ScheduleCallback {
    fn name(&self) -> &'static str {
        "schedule_callback"
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("visit")
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        let task = StreamId::new(
            event.dealer().clone(),
            "callback",
            event.data.event_id.to_string(),
        )
        .map_err(|e| ReactError::Poison(e.to_string()))?;
        let scheduled = EventData::new(
            "aftercare.test.v1.CallbackScheduled",
            event.data.event_id.to_string(),
        );
        match self
            .store
            .append(&task, Expected::NoStream, vec![scheduled])
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_conflict() => Ok(()), // already scheduled
            Err(e) => Err(ReactError::Transient(e.to_string())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_replay_issues_each_command_once() {
    let s = setup(Engine::Sqlite).await;
    let head = seed(s.store.as_ref(), 10, 3).await;
    for _ in 0..2 {
        sqlx::query("DELETE FROM projection_checkpoints")
            .execute(&s.db.pool)
            .await
            .expect("forget");
        let policy = Arc::new(ScheduleCallback {
            store: s.store.clone(),
        });
        let runner = Runner::policy(policy, s.store.clone(), s.db.clone(), options(8));
        let handle = runner.handle();
        let task = tokio::spawn(runner.run(std::future::pending()));
        handle
            .wait_for(head, Duration::from_secs(60))
            .await
            .expect("caught up");
        task.abort();
    }
    let mut callbacks = s
        .store
        .subscribe(&Filter::aggregate("callback"), Position::ZERO)
        .await
        .expect("sub");
    let mut seen = 0;
    while let Ok(Some(event)) = tokio::time::timeout(
        Duration::from_millis(500),
        futures::StreamExt::next(&mut callbacks),
    )
    .await
    {
        event.expect("event");
        seen += 1;
    }
    assert_eq!(
        seen, 30,
        "one callback per visit event, however often the policy ran"
    );
}

/// The checkpoint the database holds for `name`.
async fn saved_position(db: &Database, name: &str) -> Position {
    aftercare_runtime::projection::read_checkpoints(&db.pool)
        .await
        .expect("checkpoints")
        .into_iter()
        .find(|cp| cp.name == name)
        .map_or(Position::ZERO, |cp| cp.position)
}

/// Three replicas of one projection, each with its own NATS connections and
/// database pool, as three pods: one holds the lease and applies, the others
/// follow its checkpoint; the holder killed (its lease not given back), another
/// takes over from the checkpoint once the lease expires, and every event is
/// applied exactly once, row by row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_holds_the_lease_and_another_takes_over_when_it_dies() {
    use aftercare_runtime::projection::Leases;
    aftercare_testkit::init_tracing();
    let server = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let url = aftercare_testkit::postgres().create_database().url;
    let db = Database::connect(&Secret::new(url.clone()), 5)
        .await
        .expect("postgres");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    db.migrate(&COUNTS).await.expect("migrate");
    let connect = || async {
        let store: Arc<dyn EventStore> = Arc::new(
            JetStreamStore::connect(JetStreamConfig {
                url: server.url(),
                ..Default::default()
            })
            .await
            .expect("jetstream"),
        );
        store
    };
    let writer = connect().await;
    let head = seed(writer.as_ref(), 20, 10).await;
    let ttl = Duration::from_secs(2);
    let mut replicas = Vec::new();
    let mut appliers = Vec::new();
    for i in 0..3 {
        let client = async_nats::connect(server.url())
            .await
            .expect("nats client");
        let leases = Leases::open(
            &async_nats::jetstream::new(client),
            "TEST_LEASES",
            ttl,
            1,
            format!("replica-{i}"),
        )
        .await
        .expect("lease bucket");
        let pool = Database::connect(&Secret::new(url.clone()), 3)
            .await
            .expect("pool");
        let applied = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let runner = Runner::projection(
            Arc::new(Watched {
                applied: applied.clone(),
                ..Watched::default()
            }),
            connect().await,
            pool,
            RunnerOptions {
                lease_poll: Duration::from_millis(50),
                ..options(7)
            },
        )
        .with_leases(leases.clone());
        let handle = runner.handle();
        replicas.push((
            leases,
            handle,
            tokio::spawn(runner.run(std::future::pending())),
        ));
        appliers.push(applied);
    }
    // Every replica's progress reaches the head: the holder's by applying,
    // the others' by reading the checkpoint it moves.
    for (_, handle, _) in &replicas {
        handle
            .wait_for(head, Duration::from_secs(60))
            .await
            .expect("caught up");
    }
    let holder = replicas[0]
        .0
        .holder_of("visit_counts")
        .await
        .expect("somebody holds the lease");
    let dead = replicas
        .iter()
        .position(|(leases, _, _)| leases.holder() == holder)
        .expect("a replica's name");
    assert!(counts(&db).await.iter().all(|(_, n)| *n == 10));
    let applied: Vec<usize> = appliers
        .iter()
        .map(|a| a.load(std::sync::atomic::Ordering::SeqCst))
        .collect();
    let mut expected = vec![0; 3];
    expected[dead] = 200;
    assert_eq!(applied, expected, "only the holder applies");

    // The holder dies without giving the lease back.
    replicas[dead].2.abort();
    let head = seed(writer.as_ref(), 20, 5).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while saved_position(&db, "visit_counts").await < head {
        assert!(
            std::time::Instant::now() < deadline,
            "nobody took over from the dead holder"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let successor = replicas[0]
        .0
        .holder_of("visit_counts")
        .await
        .expect("somebody holds the lease");
    assert_ne!(successor, holder, "the dead replica still holds the lease");
    let got = counts(&db).await;
    assert_eq!(got.len(), 20);
    assert!(
        got.iter().all(|(_, n)| *n == 15),
        "an event was applied twice or lost: {got:?}"
    );
    for (_, _, task) in replicas {
        task.abort();
    }
}

/// A read model rebuilt while it serves (PostgreSQL): the live runner keeps
/// applying and queries keep reading while the new tables are built beside the
/// live ones and swapped in; no query fails or sees an empty table, and every
/// event — those appended during the rebuild too — counts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_rebuilt_online_keeps_answering_and_counts_every_event_once() {
    use aftercare_runtime::projection::OnlineRebuild;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let s = setup(Engine::Postgres).await;
    let head = seed(s.store.as_ref(), 40, 25).await;
    let live = Runner::projection(
        Arc::new(VisitCounts),
        s.store.clone(),
        s.db.clone(),
        options(50),
    );
    let live_progress = live.handle();
    let live_task = tokio::spawn(live.run(std::future::pending()));
    live_progress
        .wait_for(head, Duration::from_secs(60))
        .await
        .expect("the live read model caught up");

    // Queries all along, on the live pool as the service's would be.
    let done = Arc::new(AtomicBool::new(false));
    let (queries, failures, empties) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let reader = {
        let (db, done) = (s.db.clone(), done.clone());
        let (queries, failures, empties) = (queries.clone(), failures.clone(), empties.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                match sqlx::query("SELECT COUNT(*) FROM visit_counts")
                    .fetch_one(&db.pool)
                    .await
                {
                    Ok(row) if row.get::<i64, _>(0) == 0 => {
                        empties.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        eprintln!("query failed: {err}");
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
                queries.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // And events appended while it rebuilds.
    let writer = {
        let store = s.store.clone();
        tokio::spawn(async move { seed(store.as_ref(), 40, 5).await })
    };
    let swapped = OnlineRebuild {
        projection: Arc::new(VisitCounts),
        migrations: COUNTS,
        store: s.store.clone(),
        db: s.db.clone(),
        url: Secret::new(s.url.clone()),
        options: options(50),
    }
    .run(|_| {})
    .await
    .expect("rebuilt online");
    let head = writer.await.expect("writer");
    assert!(swapped.position >= Position(1));
    live_progress
        .wait_for(head, Duration::from_secs(60))
        .await
        .expect("the live runner goes on after the swap");
    // Once more past the head, so the live runner has moved the swapped-in
    // checkpoint (it reloads it at its first move after the swap).
    let head = seed(s.store.as_ref(), 40, 1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while saved_position(&s.db, "visit_counts").await < head {
        assert!(
            std::time::Instant::now() < deadline,
            "the live runner stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done.store(true, Ordering::SeqCst);
    reader.await.expect("reader");
    live_task.abort();
    let got = counts(&s.db).await;
    assert_eq!(got.len(), 40);
    assert!(
        got.iter().all(|(_, n)| *n == 31),
        "an event was applied twice or lost across the swap: {got:?}"
    );
    assert!(queries.load(Ordering::SeqCst) > 0);
    assert_eq!(failures.load(Ordering::SeqCst), 0, "a query failed");
    assert_eq!(
        empties.load(Ordering::SeqCst),
        0,
        "a query saw an empty table"
    );
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'aftercare_re%'",
    )
    .fetch_all(&s.db.pool)
    .await
    .expect("schemas");
    assert!(
        left.is_empty(),
        "the old and building schemas are dropped: {left:?}"
    );
    let names: Vec<String> = aftercare_runtime::projection::read_checkpoints(&s.db.pool)
        .await
        .expect("checkpoints")
        .into_iter()
        .map(|cp| cp.name)
        .collect();
    assert_eq!(names, ["visit_counts"]);
}

/// A second online rebuild of the same read model while one runs is refused:
/// it would drop the first one's new tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_online_rebuild_of_one_read_model_is_refused() {
    use aftercare_runtime::projection::{OnlineError, OnlineRebuild};
    let s = setup(Engine::Postgres).await;
    seed(s.store.as_ref(), 3, 2).await;
    // What a running rebuild of visit_counts holds.
    let mut running = s.db.pool.acquire().await.expect("connection").detach();
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind("aftercare online rebuild visit_counts")
        .fetch_one(&mut running)
        .await
        .expect("lock");
    assert!(held);
    let rebuild = || OnlineRebuild {
        projection: Arc::new(VisitCounts),
        migrations: COUNTS,
        store: s.store.clone(),
        db: s.db.clone(),
        url: Secret::new(s.url.clone()),
        options: options(50),
    };
    match rebuild().run(|_| {}).await {
        Err(OnlineError::NotPossible(reason)) => {
            assert!(reason.contains("another rebuild"), "{reason}")
        }
        other => panic!("a second rebuild ran: {other:?}"),
    }
    sqlx::Connection::close(running)
        .await
        .expect("the first ends");
    rebuild().run(|_| {}).await.expect("once the first is done");
    assert!(counts(&s.db).await.iter().all(|(_, n)| *n == 2));
}
