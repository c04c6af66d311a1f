//! A dealer who started on the embedded default moves to the group's
//! JetStream: `aftercare migrate` copies the log in order with every event's
//! id, a second run copies nothing again, and aftercare started on the
//! JetStream log (with a new PostgreSQL database) serves the same customers.

use std::time::{Duration, Instant};

use aftercare_eventstore::{
    EmbeddedStore, EventStore, Filter, JetStreamConfig, JetStreamStore, Position, RecordedEvent,
};
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use futures::StreamExt;

use crate::harness::{Server, authorized, cli, dealer, token};

/// Every event of a log, in order.
async fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let head = store.head().await.expect("head");
    let mut events = store
        .subscribe(&Filter::all(), Position(1))
        .await
        .expect("subscribe");
    let mut all = Vec::new();
    while all.last().is_none_or(|e: &RecordedEvent| e.position < head) {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event in time")
            .expect("the log goes on")
            .expect("readable");
        all.push(event);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_log_moves_to_jetstream_in_order_with_its_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let admin = std::fs::read_to_string(dir.path().join("data/admin.token"))
        .expect("token")
        .trim()
        .to_owned();
    let mut intake_api = IntakeServiceClient::new(server.channel().await);
    let mut customers = Vec::new();
    for (name, phone) in [
        ("陈静", "13811110001"),
        ("林峰", "13811110002"),
        ("黄蕾", "13811110003"),
    ] {
        let id = intake_api
            .register_customer(authorized(
                intake::RegisterCustomerRequest {
                    dealer: dealer("D001"),
                    profile: Some(intake::CustomerInput {
                        name: name.into(),
                        phones: vec![phone.into()],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .expect("customer")
            .into_inner()
            .customer_id;
        customers.push(id);
    }
    assert!(server.terminate().success(), "a clean stop");

    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let target = dir.path().join("cluster.toml");
    let ops = "migrate-admin-token-0000001";
    std::fs::write(
        &target,
        format!(
            "[store]\nbackend = \"jetstream\"\nurl = \"{}\"\n[database]\nurl = \"{}\"\n{}",
            nats.url(),
            database.url,
            token("ops", ops, "admin", "all")
        ),
    )
    .expect("target config");
    let target_arg = target.to_str().expect("utf-8");
    let (ok, stdout, stderr) = cli(dir.path(), &["migrate", "--to-config", target_arg], &[]);
    assert!(ok, "{stderr}");

    let embedded = EmbeddedStore::open(dir.path().join("data/events.db"))
        .await
        .expect("embedded log");
    let jetstream = JetStreamStore::connect(JetStreamConfig {
        url: nats.url(),
        ..Default::default()
    })
    .await
    .expect("jetstream");
    let from = all_events(&embedded).await;
    let to = all_events(&jetstream).await;
    assert!(from.len() >= 3, "{} events", from.len());
    assert!(
        stdout.contains(&format!("copied {} events", from.len())),
        "{stdout}"
    );
    let same = |e: &RecordedEvent| {
        (
            e.stream.to_string(),
            e.data.event_id,
            e.data.event_type.clone(),
            e.data.occurred_at,
            e.data.metadata.actor.clone(),
            e.data.payload.clone(),
        )
    };
    assert_eq!(
        to.iter().map(same).collect::<Vec<_>>(),
        from.iter().map(same).collect::<Vec<_>>(),
        "every event, in order, with its id"
    );
    drop(embedded);

    // Again: nothing more to copy.
    let (ok, stdout, stderr) = cli(dir.path(), &["migrate", "--to-config", target_arg], &[]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "copied 0 events into the JetStream log after the {}",
            from.len()
        )),
        "{stdout}"
    );
    assert_eq!(all_events(&jetstream).await.len(), from.len());

    // The dealer's customers, served from the JetStream log.
    let moved = Server::start(dir.path(), &["--config", target_arg], &[]);
    let mut intake_api = IntakeServiceClient::new(moved.channel().await);
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &customers {
        loop {
            let file = intake_api
                .get_customer(authorized(
                    intake::GetCustomerRequest {
                        dealer: dealer("D001"),
                        customer_id: id.clone(),
                        ..Default::default()
                    },
                    ops,
                ))
                .await;
            match file {
                Ok(_) => break,
                Err(status) => assert!(
                    Instant::now() < deadline,
                    "customer {id} never served from the moved log: {status:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
