//! aftercare on a three-node JetStream cluster (R3 streams, `sync_interval:
//! always`) while it fails: a DMS sends 10,000 repair orders, retrying each
//! until it is answered, while the events stream's leader is killed twice and
//! a killed node comes back. Every request is answered, the log holds each
//! order exactly once, and the read model has them all.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aftercare_eventstore::{
    EventStore, Filter, JetStreamConfig, JetStreamStore, Position, StreamSettings,
};
use aftercare_testkit::NatsCluster;
use futures::StreamExt;

use crate::harness::{Server, token, vin};

const ORDERS: usize = 10_000;

/// The node that leads the events stream now (`n<i>`), once there is one.
async fn leader(js: &async_nats::jetstream::Context) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = match js.get_stream("AFTERCARE_EVENTS").await {
            Ok(mut stream) => stream.info().await.ok().map(|i| i.cluster.clone()),
            Err(_) => None,
        };
        if let Some(name) = info.flatten().and_then(|c| c.leader)
            && let Some(i) = name.strip_prefix('n').and_then(|i| i.parse().ok())
        {
            return i;
        }
        assert!(Instant::now() < deadline, "the events stream has no leader");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends one repair order until it is answered accepted or already recorded
/// (a DMS's retry: a timeout, a node gone or "unavailable" is sent again).
async fn send_until_answered(dms: &async_nats::Client, i: usize) -> String {
    let body = serde_json::json!({
        "repair_order": format!("RO-C{i:05}"), "vin": vin(81, i as u32),
        "opened_at": "2026-11-02T09:00:00+08:00", "closed_at": "2026-11-02T11:00:00+08:00",
        "mileage_km": 12000, "kind": "maintenance", "labour_fen": 30000, "parts_fen": 50000,
        "service_advisor": "王工", "advisor_group": "A",
    })
    .to_string();
    loop {
        let request = async_nats::Request::new()
            .payload(body.clone().into())
            .timeout(Some(Duration::from_secs(5)));
        if let Ok(reply) = dms.send_request("aftercare.in.D001.visits", request).await {
            let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
            match reply["status"].as_str() {
                Some(s @ ("STATUS_ACCEPTED" | "STATUS_ALREADY_RECORDED")) => return s.to_owned(),
                Some("STATUS_UNAVAILABLE") => {}
                _ => panic!("order {i} refused: {reply}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_orders_survive_two_leader_kills_and_a_node_restart() {
    let cluster = tokio::task::spawn_blocking(|| NatsCluster::start(3))
        .await
        .expect("cluster");
    let urls = cluster.urls();
    let cluster = Arc::new(Mutex::new(cluster));
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("aftercare.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nbackend = \"jetstream\"\nurl = \"{urls}\"\nreplicas = 3\nack_timeout = \"5s\"\n\
             [database]\nurl = \"{}\"\n{}",
            database.url,
            token("ops", "cluster-admin-token-000001", "admin", "all")
        ),
    )
    .expect("config");
    // The cluster elects its leaders while the server starts; the server
    // retries its connection until the streams can be made.
    let server = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let dir = dir.path().to_owned();
            let config = config.clone();
            let started = tokio::task::spawn_blocking(move || {
                std::panic::catch_unwind(|| {
                    Server::start_services(
                        &dir,
                        &["--config", config.to_str().expect("utf-8")],
                        &["intake"],
                        &[],
                    )
                })
            })
            .await
            .expect("join");
            match started {
                Ok(server) => break server,
                Err(_) => {
                    assert!(
                        Instant::now() < deadline,
                        "aftercare never started on the cluster"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    };
    let seeds: Vec<async_nats::ServerAddr> =
        urls.split(',').map(|u| u.parse().expect("url")).collect();
    let dms = async_nats::ConnectOptions::new()
        .custom_inbox_prefix("_INBOX.D001")
        .connect(seeds.clone())
        .await
        .expect("dms connects");
    let admin =
        async_nats::jetstream::new(async_nats::connect(seeds).await.expect("admin connects"));

    // How many orders are answered, for the chaos to wait on.
    let answered = Arc::new(tokio::sync::watch::channel(0usize).0);
    let chaos = {
        let answered = answered.clone();
        let cluster = cluster.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            let reach = |n: usize| {
                let mut answered = answered.subscribe();
                async move {
                    answered
                        .wait_for(|count| *count >= n)
                        .await
                        .expect("the DMS is sending");
                }
            };
            let node = |i: usize, restart: bool| {
                let cluster = cluster.clone();
                tokio::task::spawn_blocking(move || {
                    let mut cluster = cluster.lock().expect("cluster lock");
                    if restart {
                        cluster.node(i).restart();
                    } else {
                        cluster.node(i).stop();
                    }
                })
            };
            let mut log = Vec::new();
            reach(2_000).await;
            let first = leader(&admin).await;
            node(first, false).await.expect("kill");
            log.push(format!("killed leader n{first}"));
            reach(5_000).await;
            node(first, true).await.expect("restart");
            log.push(format!("restarted n{first}"));
            reach(6_500).await;
            let second = leader(&admin).await;
            node(second, false).await.expect("kill");
            log.push(format!("killed leader n{second}"));
            reach(9_000).await;
            node(second, true).await.expect("restart");
            log.push(format!("restarted n{second}"));
            log
        })
    };

    let statuses: Vec<String> = futures::stream::iter(0..ORDERS)
        .map(|i| {
            let dms = dms.clone();
            let answered = answered.clone();
            async move {
                let status = send_until_answered(&dms, i).await;
                answered.send_modify(|count| *count += 1);
                status
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let log = tokio::time::timeout(Duration::from_secs(120), chaos)
        .await
        .expect("the chaos finished")
        .expect("chaos");
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(statuses.len(), ORDERS, "every request answered");
    let repeats = statuses
        .iter()
        .filter(|s| *s == "STATUS_ALREADY_RECORDED")
        .count();
    eprintln!(
        "{log:?}; {} orders accepted, {repeats} answered already recorded on a retry",
        ORDERS - repeats
    );

    // The log: each order exactly once.
    let store = JetStreamStore::connect(JetStreamConfig {
        url: urls.clone(),
        events: StreamSettings {
            replicas: 3,
            ..StreamSettings::default()
        },
        ack_timeout: Duration::from_secs(10),
        ..JetStreamConfig::default()
    })
    .await
    .expect("the log");
    let head = store.head().await.expect("head");
    let mut events = store
        .subscribe(
            &Filter::aggregate(aftercare_proto::aggregates::VISIT),
            Position::ZERO,
        )
        .await
        .expect("subscribe");
    let mut visits = 0;
    let mut streams = HashSet::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .ok()
        .flatten()
    {
        let event = event.expect("readable");
        if event.data.event_type.ends_with("VisitRecorded") {
            visits += 1;
            streams.insert(event.stream.to_string());
        }
        if event.position >= head {
            break;
        }
    }
    assert_eq!(streams.len(), ORDERS, "every order is in the log ({log:?})");
    assert_eq!(visits, ORDERS, "no order is in the log twice ({log:?})");

    // The read model has them all.
    let pool = aftercare_runtime::Database::connect(
        &aftercare_runtime::Secret::new(database.url.clone()),
        2,
    )
    .await
    .expect("database")
    .pool;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM intake_visits")
            .fetch_one(&pool)
            .await
            .expect("count");
        if rows == ORDERS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{rows} of {ORDERS} visits in the read model"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(server);
}
