//! The conformance suite against the embedded SQLite log.

mod conformance;

use std::sync::Mutex;

use aftercare_eventstore::EmbeddedStore;
use async_trait::async_trait;
use conformance::Fixture;

struct EmbeddedFixture {
    dir: tempfile::TempDir,
    /// Every handle given out, so restart and take-down reach them all.
    handed_out: Mutex<Vec<EmbeddedStore>>,
}

async fn embedded() -> EmbeddedFixture {
    EmbeddedFixture {
        dir: tempfile::tempdir().expect("temp dir"),
        handed_out: Mutex::new(Vec::new()),
    }
}

impl EmbeddedFixture {
    async fn close_all(&self) {
        let stores: Vec<_> = self
            .handed_out
            .lock()
            .expect("fixture lock")
            .drain(..)
            .collect();
        for store in stores {
            store.close().await;
        }
    }
}

#[async_trait]
impl Fixture for EmbeddedFixture {
    type Store = EmbeddedStore;

    async fn store(&self) -> EmbeddedStore {
        let store = EmbeddedStore::open(self.dir.path().join("events.db"))
            .await
            .expect("open embedded log");
        self.handed_out
            .lock()
            .expect("fixture lock")
            .push(store.clone());
        store
    }

    async fn restart(&mut self) {
        self.close_all().await;
    }

    async fn take_down(&mut self) {
        self.close_all().await;
    }
}

conformance_suite!(embedded());
