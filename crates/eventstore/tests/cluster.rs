//! The conformance suite against a three-node JetStream cluster on loopback
//! (three nats-servers, `sync_interval: always`), every stream with three
//! replicas, as a dealer group runs it.

mod conformance;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aftercare_eventstore::{JetStreamConfig, JetStreamStore, StreamSettings};
use aftercare_testkit::NatsCluster;
use async_trait::async_trait;
use conformance::Fixture;

struct ClusterFixture {
    cluster: Mutex<NatsCluster>,
    urls: String,
}

fn config(urls: &str, ack_timeout: Duration) -> JetStreamConfig {
    JetStreamConfig {
        url: urls.to_owned(),
        ack_timeout,
        events: StreamSettings {
            replicas: 3,
            ..StreamSettings::default()
        },
        ..JetStreamConfig::default()
    }
}

/// Connects once the cluster has elected its JetStream leaders (a fresh or
/// restarted cluster takes a few seconds).
async fn connect(config: JetStreamConfig) -> JetStreamStore {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match JetStreamStore::connect(config.clone()).await {
            Ok(store) => return store,
            Err(err) => {
                assert!(Instant::now() < deadline, "the cluster never served: {err}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

async fn cluster() -> ClusterFixture {
    let cluster = tokio::task::spawn_blocking(|| NatsCluster::start(3))
        .await
        .expect("start the cluster");
    ClusterFixture {
        urls: cluster.urls(),
        cluster: Mutex::new(cluster),
    }
}

#[async_trait]
impl Fixture for ClusterFixture {
    type Store = JetStreamStore;

    async fn store(&self) -> JetStreamStore {
        connect(config(&self.urls, Duration::from_secs(5))).await
    }

    async fn bulk_store(&self) -> JetStreamStore {
        // Once the cluster serves (asked with a short timeout, so a request
        // sent before its leaders are elected is soon asked again).
        self.store().await;
        connect(config(&self.urls, Duration::from_secs(60))).await
    }

    /// Every node down, then every node up again on its data.
    async fn restart(&mut self) {
        let cluster = self.cluster.get_mut().expect("cluster lock");
        for i in 0..cluster.size() {
            cluster.node(i).stop();
        }
        for i in 0..cluster.size() {
            cluster.node(i).restart();
        }
    }

    async fn take_down(&mut self) {
        let cluster = self.cluster.get_mut().expect("cluster lock");
        for i in 0..cluster.size() {
            cluster.node(i).stop();
        }
    }
}

conformance_suite!(cluster());
