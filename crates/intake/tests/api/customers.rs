//! The customer file through the real event store: commands decided on the
//! current state, with concurrent writers.

use std::sync::Arc;

use aftercare_eventstore::{DealerId, EmbeddedStore, EventStore, StreamId};
use aftercare_intake::customer_events::CustomerCodec;
use aftercare_intake::domain::customer::{
    Channel, Customer, CustomerCommand, CustomerRejection, CustomerType, ProfileInput,
};
use aftercare_runtime::command::{CommandError, execute};

fn profile() -> aftercare_intake::domain::customer::Profile {
    ProfileInput {
        name: "刘洋".into(),
        phones: vec!["13812341234".into()],
        district: "浦东新区".into(),
        customer_type: CustomerType::Private,
        birthday: None,
    }
    .validate(jiff::civil::date(2026, 11, 26))
    .expect("valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consent_changes_are_all_decided_on_the_current_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> = Arc::new(
        EmbeddedStore::open(dir.path().join("events.db"))
            .await
            .expect("log"),
    );
    let stream =
        StreamId::new(DealerId::parse("D001").expect("valid"), "customer", "c-1").expect("valid");
    let register = CustomerCommand::Register {
        customer_id: "c-1".into(),
        profile: profile(),
        consents: vec![],
    };
    execute::<Customer>(
        store.as_ref(),
        &stream,
        &CustomerCodec,
        register.clone(),
        |e| e,
    )
    .await
    .expect("registered");
    let again = execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, register, |e| e).await;
    assert!(
        matches!(
            again,
            Err(CommandError::Rejected(CustomerRejection::AlreadyRegistered))
        ),
        "{again:?}"
    );

    // Three channels granted at once by three writers: each retries on conflict
    // and decides on what the others wrote, so all three consents end up recorded.
    let mut writers = Vec::new();
    for channel in [Channel::Phone, Channel::Sms, Channel::WeChat] {
        let (store, stream) = (store.clone(), stream.clone());
        writers.push(tokio::spawn(async move {
            let command = CustomerCommand::SetConsent {
                channel,
                granted: true,
            };
            execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, command, |e| e).await
        }));
    }
    for writer in writers {
        let executed = writer.await.expect("task").expect("consent recorded");
        assert_eq!(executed.events.len(), 1);
    }
    let recorded = store.read_stream(&stream).await.expect("read");
    assert_eq!(recorded.len(), 4);
    let customer = recorded.iter().fold(Customer::default(), |c, e| {
        use aftercare_runtime::command::{Aggregate, EventCodec};
        c.evolve(&CustomerCodec.decode(e).expect("decodes"))
    });
    assert!(
        [Channel::Phone, Channel::Sms, Channel::WeChat]
            .iter()
            .all(|c| customer.may_contact(*c))
    );
    // Granting again changes nothing and appends nothing.
    let same = CustomerCommand::SetConsent {
        channel: Channel::Sms,
        granted: true,
    };
    let executed = execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, same, |e| e)
        .await
        .expect("no-op");
    assert!(executed.events.is_empty());
    assert_eq!(store.read_stream(&stream).await.expect("read").len(), 4);
}

async fn customer_read_model_on(url: String) {
    use aftercare_intake::customer_projection::Customers;
    use aftercare_runtime::projection::{RUNTIME_MIGRATIONS, Runner, RunnerOptions};
    use aftercare_runtime::{Database, Secret};
    use sqlx::Row;

    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> = Arc::new(
        EmbeddedStore::open(dir.path().join("events.db"))
            .await
            .expect("log"),
    );
    let db = Database::connect(&Secret::new(url), 5)
        .await
        .expect("database");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    db.migrate(&aftercare_intake::projection::MIGRATIONS)
        .await
        .expect("migrate");
    let d = DealerId::parse("D001").expect("valid");
    for (i, phone) in ["13812341234", "13912345678"].iter().enumerate() {
        let id = format!("00000000-0000-7000-8000-00000000000{i}");
        let stream = StreamId::new(d.clone(), "customer", id.replace('-', "")).expect("valid");
        let mut p = profile();
        p.phones = vec![aftercare_intake::domain::phone::Phone::parse(phone).expect("valid")];
        let register = CustomerCommand::Register {
            customer_id: id.clone(),
            profile: p,
            consents: vec![(Channel::Phone, true)],
        };
        execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, register, |e| e)
            .await
            .expect("register");
        let withdraw = CustomerCommand::SetConsent {
            channel: Channel::Phone,
            granted: false,
        };
        execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, withdraw, |e| e)
            .await
            .expect("consent");
    }
    // The first customer's number changes: the old one is no longer found.
    let first =
        StreamId::new(d.clone(), "customer", "00000000000070008000000000000000").expect("valid");
    let mut changed = profile();
    changed.phones =
        vec![aftercare_intake::domain::phone::Phone::parse("13700001111").expect("valid")];
    let head = execute::<Customer>(
        store.as_ref(),
        &first,
        &CustomerCodec,
        CustomerCommand::Update { profile: changed },
        |e| e,
    )
    .await
    .expect("update")
    .position;
    let runner = Runner::projection(
        Arc::new(Customers),
        store.clone(),
        db.clone(),
        RunnerOptions::default(),
    );
    let progress = runner.handle();
    let task = tokio::spawn(runner.run(std::future::pending()));
    progress
        .wait_for(head, std::time::Duration::from_secs(60))
        .await
        .expect("caught up");
    task.abort();
    let rows = |db: Database| async move {
        sqlx::query(
            "SELECT c.customer_id, c.consents, p.phone FROM intake_customers c \
             JOIN intake_customer_phones p ON p.customer_id = c.customer_id ORDER BY c.customer_id",
        )
        .fetch_all(&db.pool)
        .await
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r.get::<String, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
            )
        })
        .collect::<Vec<_>>()
    };
    let live = rows(db.clone()).await;
    assert_eq!(live.len(), 2);
    assert!(
        live.iter().all(|(_, consents, _)| consents.is_empty()),
        "withdrawn consents: {live:?}"
    );
    assert_eq!(
        live[0].2, "13700001111",
        "the updated number replaced the old one"
    );
    assert_eq!(live[1].2, "13912345678");
    Runner::projection(
        Arc::new(Customers),
        store.clone(),
        db.clone(),
        RunnerOptions::default(),
    )
    .rebuild()
    .await
    .expect("rebuild");
    assert_eq!(
        rows(db.clone()).await,
        live,
        "a rebuild gives the same rows"
    );
}

#[tokio::test]
async fn customer_read_model_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    customer_read_model_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn customer_read_model_on_postgres() {
    customer_read_model_on(aftercare_testkit::postgres().create_database().url).await;
}
