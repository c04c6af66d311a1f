//! The event store conformance suite: the same cases run unchanged against every
//! backend. A backend's test file supplies a [`Fixture`] and expands
//! `conformance_suite!` with it.

mod cases;
mod concurrency;
mod replay;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::time::Duration;

use aftercare_eventstore::{
    DealerId, EventData, EventStore, EventStream, Metadata, RecordedEvent, StreamId,
};
use uuid::Uuid;

pub use cases::*;
pub use concurrency::*;
pub use replay::*;

/// What the suite needs from a backend under test.
#[async_trait]
pub trait Fixture: Send + Sync {
    type Store: EventStore + Clone;
    /// A store on this fixture's data (a new connection each call).
    async fn store(&self) -> Self::Store;
    /// A store for bulk loads: the same, but patient with acknowledgements that
    /// queue up behind a hundred thousand fsynced writes on a busy machine.
    async fn bulk_store(&self) -> Self::Store {
        self.store().await
    }
    /// Stops the backend and starts it again on the same data.
    async fn restart(&mut self);
    /// Makes the backend unreachable for the stores already handed out.
    async fn take_down(&mut self);
}

pub fn dealer(name: &str) -> DealerId {
    DealerId::parse(name).expect("test dealer ids are valid")
}

pub fn stream(dealer_id: &str, aggregate: &str, id: impl ToString) -> StreamId {
    StreamId::new(dealer(dealer_id), aggregate, id.to_string()).expect("test stream ids are valid")
}

pub fn event(kind: &str, payload: impl Into<Vec<u8>>) -> EventData {
    EventData::new(
        format!("aftercare.test.v1.{kind}"),
        Bytes::from(payload.into()),
    )
    .with_metadata(Metadata {
        correlation_id: Some(Uuid::now_v7()),
        causation_id: Some(Uuid::now_v7()),
        actor: "agent:li.wei".to_owned(),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
    })
}

/// The next `count` events of a subscription, failing the test if they do not
/// arrive within a generous deadline (a hang is a failure, not a wait).
pub async fn take(subscription: &mut EventStream, count: usize) -> Vec<RecordedEvent> {
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(60), subscription.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} events arrived", out.len()));
        out.push(
            next.expect("subscription ended")
                .expect("subscription failed"),
        );
    }
    out
}

#[macro_export]
macro_rules! conformance_suite {
    ($fixture:expr) => {
        $crate::conformance_suite!(@cases $fixture;
            append_and_read_round_trip, stale_version_conflicts, must_not_exist_reports_original,
            retried_append_is_recognised, invalid_input_is_named, concurrent_writers_one_wins_per_version,
            subscribe_from_start_sees_history_then_live, subscribe_from_position_starts_there,
            filters_by_dealer_and_aggregate, hundred_thousand_events_replay_in_order,
            restart_keeps_everything, backend_down_fails_the_append, dead_letters_keep_reasons,
            multi_event_append_checks_once_and_keeps_order, dealer_progress_counts_own_events_only);
    };
    (@cases $fixture:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                aftercare_testkit::init_tracing();
                conformance::$case($fixture).await;
            }
        )*
    };
}
