use std::sync::Arc;

use aftercare_eventstore::{EventStore, Expected, StoreError};
use tokio::sync::Barrier;

use super::{Fixture, event, stream};

const WRITERS: usize = 8;
const ROUNDS: usize = 20;

/// Eight writers race on one aggregate, round after round, all at the same
/// expected version: exactly one wins each round, the others see a conflict.
pub async fn concurrent_writers_one_wins_per_version(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "complaint", "contended");
    let created = store
        .append(&id, Expected::NoStream, vec![event("ComplaintFiled", "0")])
        .await
        .expect("create");
    let mut version = created.position;
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(WRITERS));
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let (store, id, barrier) = (store.clone(), id.clone(), barrier.clone());
            writers.push(tokio::spawn(async move {
                barrier.wait().await;
                let e = event(
                    "ComplaintNoteAdded",
                    format!("round {round} writer {writer}"),
                );
                store.append(&id, Expected::Version(version), vec![e]).await
            }));
        }
        let mut wins = Vec::new();
        for writer in writers {
            match writer.await.expect("writer task") {
                Ok(appended) => wins.push(appended.position),
                Err(StoreError::Conflict { .. }) => {}
                Err(other) => panic!("round {round}: unexpected error {other}"),
            }
        }
        assert_eq!(
            wins.len(),
            1,
            "round {round}: {} writers won at version {version}",
            wins.len()
        );
        version = wins[0];
    }
    let events = store.read_stream(&id).await.expect("read");
    assert_eq!(events.len(), ROUNDS + 1);
    assert_eq!(events.last().map(|e| e.position), Some(version));
}
