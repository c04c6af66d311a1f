//! The conformance suite against NATS JetStream: a real nats-server per test, with
//! `sync_interval: always`, on a free port and a temporary store directory.

mod conformance;

use std::sync::Mutex;
use std::time::Duration;

use aftercare_eventstore::{JetStreamConfig, JetStreamStore, StoreError, StreamSettings};
use aftercare_testkit::NatsServer;
use async_trait::async_trait;
use conformance::Fixture;

struct JetStreamFixture {
    server: Mutex<NatsServer>,
    url: String,
}

fn config(url: &str) -> JetStreamConfig {
    JetStreamConfig {
        url: url.to_owned(),
        ack_timeout: Duration::from_secs(2),
        ..JetStreamConfig::default()
    }
}

async fn jetstream() -> JetStreamFixture {
    let server = tokio::task::spawn_blocking(NatsServer::start)
        .await
        .expect("start nats-server");
    JetStreamFixture {
        url: server.url(),
        server: Mutex::new(server),
    }
}

#[async_trait]
impl Fixture for JetStreamFixture {
    type Store = JetStreamStore;

    async fn store(&self) -> JetStreamStore {
        JetStreamStore::connect(config(&self.url))
            .await
            .expect("connect to jetstream")
    }

    async fn bulk_store(&self) -> JetStreamStore {
        JetStreamStore::connect(JetStreamConfig {
            ack_timeout: Duration::from_secs(30),
            ..config(&self.url)
        })
        .await
        .expect("connect to jetstream")
    }

    async fn restart(&mut self) {
        self.server.get_mut().expect("server lock").restart();
    }

    async fn take_down(&mut self) {
        self.server.get_mut().expect("server lock").stop();
    }
}

conformance_suite!(jetstream());

/// A stream that exists with weaker settings than the deployment asks for is
/// refused, naming every difference, rather than used.
#[tokio::test]
async fn refuses_a_stream_with_other_settings() {
    aftercare_testkit::init_tracing();
    let fixture = jetstream().await;
    let client = async_nats::connect(&fixture.url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "AFTERCARE_EVENTS".to_owned(),
        subjects: vec!["aftercare.ev.>".to_owned()],
        deny_delete: false,
        allow_direct: true,
        ..Default::default()
    })
    .await
    .expect("create a permissive stream");
    let err = match JetStreamStore::connect(config(&fixture.url)).await {
        Err(err) => err,
        Ok(_) => panic!("a stream that allows deletes was accepted"),
    };
    let StoreError::Misconfigured(message) = err else {
        panic!("expected Misconfigured, got {err}")
    };
    assert!(
        message.contains("deny_delete: want true, found false"),
        "{message}"
    );
    assert!(
        message.contains("deny_purge: want true, found false"),
        "{message}"
    );
}

/// The stream is created with the durability settings the configuration gives.
#[tokio::test]
async fn creates_the_stream_as_configured() {
    aftercare_testkit::init_tracing();
    let fixture = jetstream().await;
    let settings = StreamSettings {
        duplicate_window: Duration::from_secs(300),
        ..StreamSettings::default()
    };
    JetStreamStore::connect(JetStreamConfig {
        events: settings,
        ..config(&fixture.url)
    })
    .await
    .expect("connect");
    let client = async_nats::connect(&fixture.url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let mut stream = js
        .get_stream("AFTERCARE_EVENTS")
        .await
        .expect("stream exists");
    let info = stream.info().await.expect("info");
    assert!(info.config.deny_delete && info.config.deny_purge);
    assert_eq!(info.config.duplicate_window, Duration::from_secs(300));
    assert_eq!(
        info.config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
    assert_eq!(info.config.max_age, Duration::ZERO);
}

/// The same store handle keeps working across a broker restart: the client
/// reconnects, and appends made while it is away fail rather than vanish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_after_a_broker_restart() {
    use aftercare_eventstore::{EventData, EventStore, Expected};
    aftercare_testkit::init_tracing();
    let mut fixture = jetstream().await;
    let store = fixture.store().await;
    let id = conformance::stream("D001", "visit", "reconnect");
    let first = store
        .append(
            &id,
            Expected::NoStream,
            vec![EventData::new("aftercare.test.v1.VisitRecorded", "1")],
        )
        .await
        .expect("append before the restart");
    fixture.restart().await;
    // Retries send the same event (same id): if an earlier attempt did land after
    // the reconnect, JetStream's duplicate detection answers with its position.
    let closed = EventData::new("aftercare.test.v1.VisitClosed", "2");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let second = loop {
        match store
            .append(&id, Expected::Version(first.position), vec![closed.clone()])
            .await
        {
            Ok(appended) => break appended,
            Err(err) if err.is_unavailable() && std::time::Instant::now() < deadline => {
                tokio::task::yield_now().await;
            }
            Err(err) => panic!("no reconnect: {err}"),
        }
    };
    assert!(second.position > first.position);
    assert_eq!(store.read_stream(&id).await.expect("read").len(), 2);
}

/// The events of one append are stored together or not at all: when the second of
/// three cannot be stored (larger than the log takes), the first is not kept, and
/// the refusal is the caller's error, not the log being down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_event_append_is_all_or_nothing() {
    use aftercare_eventstore::{EventData, EventStore, Expected};
    aftercare_testkit::init_tracing();
    let fixture = jetstream().await;
    let store = fixture.store().await;
    let id = conformance::stream("D001", "complaint", "atomic");
    let too_large = vec![0u8; 2 * 1024 * 1024];
    let events = vec![
        EventData::new("aftercare.test.v1.ComplaintFiled", "filed"),
        EventData::new("aftercare.test.v1.ComplaintNoteAdded", too_large),
        EventData::new("aftercare.test.v1.ComplaintEscalated", "escalated"),
    ];
    let err = store
        .append(&id, Expected::NoStream, events)
        .await
        .expect_err("an event over the size limit");
    assert!(
        matches!(&err, StoreError::InvalidInput { field: "event", reason } if reason.contains("ComplaintNoteAdded")),
        "{err:?}"
    );
    // The abandoned batch leaves nothing behind, and the stream can still be created.
    assert!(store.read_stream(&id).await.expect("read").is_empty());
    let three = vec![
        EventData::new("aftercare.test.v1.ComplaintFiled", "filed"),
        EventData::new("aftercare.test.v1.ComplaintAcknowledged", "ack"),
        EventData::new("aftercare.test.v1.ComplaintEscalated", "escalated"),
    ];
    let appended = store
        .append(&id, Expected::NoStream, three.clone())
        .await
        .expect("a whole batch");
    let stored = store.read_stream(&id).await.expect("read");
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[2].position, appended.position);
    // Sent again (a retry after a lost acknowledgement): answered, stored once.
    let again = store
        .append(&id, Expected::NoStream, three)
        .await
        .expect("retry");
    assert_eq!(again.position, appended.position);
    assert_eq!(store.read_stream(&id).await.expect("read").len(), 3);
}

/// Something stored under an aggregate's subject without the event envelope (a
/// reply sent to a forged reply subject, a stray publish) is not an event of the
/// aggregate: reading the aggregate skips it, appends go on after it, and a
/// subscription reports it as not an event, naming the subject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_without_the_envelope_is_never_an_event() {
    use aftercare_eventstore::{EventData, EventStore, Expected, Filter, Position};
    use futures::StreamExt;
    aftercare_testkit::init_tracing();
    let fixture = jetstream().await;
    let store = fixture.store().await;
    let id = conformance::stream("D002", "visit", "forged");
    let client = async_nats::connect(&fixture.url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    // What the ingest's reply looked like when it was sent to an event subject.
    let forged = js
        .publish("aftercare.ev.D002.visit.forged", "\u{8}\u{1}".into())
        .await
        .expect("publish")
        .await
        .expect("stored");

    let read = store.read_stream(&id).await.expect("read the aggregate");
    assert!(read.is_empty(), "{:?}", read.events);
    assert_eq!(read.version, Position(forged.sequence));
    assert_eq!(
        read.expected(),
        Expected::Version(Position(forged.sequence))
    );

    // The aggregate is not wedged: the next append goes after the stray message.
    let appended = store
        .append(
            &id,
            read.expected(),
            vec![EventData::new("aftercare.test.v1.VisitRecorded", "1")],
        )
        .await
        .expect("append after the stray message");
    let read = store.read_stream(&id).await.expect("read again");
    assert_eq!(read.len(), 1);
    assert_eq!(read.version, appended.position);

    let mut events = store
        .subscribe(&Filter::all(), Position(1))
        .await
        .expect("subscribe");
    match events.next().await.expect("an item") {
        Err(StoreError::Corrupt { position, reason }) => {
            assert_eq!(position, Position(forged.sequence));
            assert!(
                reason.contains("aftercare.ev.D002.visit.forged")
                    && reason.contains("no event envelope"),
                "{reason}"
            );
        }
        other => panic!("the stray message was read as {other:?}"),
    }
}

/// Many single-event appends arriving together are written as one atomic
/// batch. One of them meets a stream that exists ("must not exist" fails) and
/// another is a retry of an event already stored: the server refuses the batch
/// as a whole, and every append is then answered on its own — the conflict as
/// a conflict, the retry with its original position, every other event stored
/// at the position it was answered with.
#[tokio::test]
async fn a_refused_group_answers_each_append_on_its_own() {
    use aftercare_eventstore::{EventData, EventStore, Expected};
    aftercare_testkit::init_tracing();
    let fixture = jetstream().await;
    let store = fixture.store().await;
    let taken = conformance::stream("D001", "visit", "v-7");
    store
        .append(
            &taken,
            Expected::NoStream,
            vec![EventData::new("aftercare.test.v1.VisitRecorded", "earlier")],
        )
        .await
        .expect("the earlier visit");
    let stored = EventData::new("aftercare.test.v1.VisitRecorded", "sent before");
    let retried = conformance::stream("D001", "visit", "v-retried");
    let original = store
        .append(&retried, Expected::NoStream, vec![stored.clone()])
        .await
        .expect("the first attempt");
    // A hundred repair orders at once (the flusher runs only when this test
    // yields, so they are all waiting by then and go out together).
    let streams: Vec<_> = (0..100)
        .map(|i| conformance::stream("D001", "visit", format!("v-{i}")))
        .collect();
    let events: Vec<_> = (0..100)
        .map(|i| EventData::new("aftercare.test.v1.VisitRecorded", format!("visit {i}")))
        .collect();
    let mut appends: Vec<_> = streams
        .iter()
        .zip(&events)
        .map(|(stream, event)| store.append(stream, Expected::NoStream, vec![event.clone()]))
        .collect();
    appends.insert(
        50,
        store.append(&retried, Expected::Any, vec![stored.clone()]),
    );
    let mut results = futures::future::join_all(appends).await;
    let again = results.remove(50).expect("a retry is answered");
    assert_eq!(
        again.position, original.position,
        "the retry lands where the first did"
    );
    assert_eq!(store.read_stream(&retried).await.expect("read").len(), 1);
    let mut positions = std::collections::BTreeSet::new();
    for (i, result) in results.into_iter().enumerate() {
        if i == 7 {
            assert!(
                matches!(result, Err(StoreError::Conflict { .. })),
                "v-7 exists: {result:?}"
            );
            continue;
        }
        let appended = result.unwrap_or_else(|e| panic!("v-{i}: {e}"));
        let read = store.read_stream(&streams[i]).await.expect("read");
        assert_eq!(read.len(), 1, "v-{i}");
        assert_eq!(read[0].position, appended.position, "v-{i}'s answer");
        assert_eq!(read[0].data.event_id, events[i].event_id, "v-{i}'s event");
        assert!(positions.insert(appended.position), "one position each");
    }
    let stats = store.group_commit_stats();
    assert!(
        stats.batches >= 1 && stats.grouped > stats.batches,
        "the appends went out grouped: {stats:?}"
    );
    assert!(stats.retried_alone >= 1, "the refused batch: {stats:?}");

    // With nothing in the way, a group commits as one batch, each event at
    // the position it was answered with.
    let before = store.group_commit_stats();
    let more: Vec<_> = (100..300)
        .map(|i| conformance::stream("D001", "visit", format!("v-{i}")))
        .collect();
    let results = futures::future::join_all(more.iter().map(|stream| {
        store.append(
            stream,
            Expected::NoStream,
            vec![EventData::new("aftercare.test.v1.VisitRecorded", "x")],
        )
    }))
    .await;
    for (stream, result) in more.iter().zip(results) {
        let appended = result.expect("stored");
        let read = store.read_stream(stream).await.expect("read");
        assert_eq!(read[0].position, appended.position);
    }
    let after = store.group_commit_stats();
    assert_eq!(after.retried_alone, before.retried_alone, "{after:?}");
    assert!(after.grouped - before.grouped >= 100, "{after:?}");
}

/// The broker is stopped while groups are being flushed: every append is
/// answered, either stored or unavailable, and every one answered stored is
/// in the log at its position once the broker is back. An append answered
/// unavailable may still have landed; sent again (the same event), it is
/// found there, never stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_mid_flush_loses_no_answered_append() {
    use aftercare_eventstore::{EventData, EventStore, Expected};
    aftercare_testkit::init_tracing();
    let mut fixture = jetstream().await;
    // Small groups, so many flushes are under way when the broker goes; a
    // short wait for a PubAck, so those that cannot be answered fail soon.
    let store = JetStreamStore::connect(JetStreamConfig {
        group_commit: 64,
        ack_timeout: Duration::from_millis(500),
        ..config(&fixture.url)
    })
    .await
    .expect("connect");
    let n = 5_000;
    let streams: Vec<_> = (0..n)
        .map(|i| conformance::stream("D001", "visit", format!("ro-{i}")))
        .collect();
    let events: Vec<_> = (0..n)
        .map(|i| EventData::new("aftercare.test.v1.VisitRecorded", format!("ro {i}")))
        .collect();
    // How many appends were answered stored so far, for the wait below.
    let (stored_tx, mut stored_rx) = tokio::sync::watch::channel(0usize);
    let sending = {
        let (store, streams, events) = (store.clone(), streams.clone(), events.clone());
        tokio::spawn(async move {
            futures::future::join_all(streams.iter().zip(&events).map(|(stream, event)| {
                let (store, stored_tx) = (&store, &stored_tx);
                async move {
                    let result = store
                        .append(stream, Expected::NoStream, vec![event.clone()])
                        .await;
                    if result.is_ok() {
                        stored_tx.send_modify(|n| *n += 1);
                    }
                    result
                }
            }))
            .await
        })
    };
    // Stop the broker once the first groups are committed.
    tokio::time::timeout(Duration::from_secs(30), stored_rx.wait_for(|n| *n >= 2))
        .await
        .expect("the first appends stored within 30 s")
        .expect("the appends are still being sent");
    fixture.take_down().await;
    let results = sending.await.expect("every append answered");
    let stored = results.iter().filter(|r| r.is_ok()).count();
    let unavailable = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.is_unavailable()))
        .count();
    println!("{stored} stored, {unavailable} unavailable of {n} when the broker stopped");
    assert!(stored >= 1, "groups were committed before the stop");
    assert_eq!(stored + unavailable, n, "each is stored or unavailable");
    fixture.restart().await;
    let store = fixture.bulk_store().await;
    for ((stream, event), result) in streams.iter().zip(&events).zip(&results) {
        let read = store.read_stream(stream).await.expect("read");
        match result {
            Ok(appended) => {
                assert_eq!(read.len(), 1, "{stream}");
                assert_eq!(read[0].position, appended.position, "{stream}");
                assert_eq!(read[0].data.event_id, event.event_id, "{stream}");
            }
            Err(_) => {
                assert!(read.len() <= 1, "{stream}");
                // Sent again: stored now, or found where it landed unanswered.
                match store
                    .append(stream, Expected::NoStream, vec![event.clone()])
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::Conflict { .. }) => {
                        assert_eq!(read[0].data.event_id, event.event_id, "{stream}");
                    }
                    Err(e) => panic!("{stream}: {e}"),
                }
                assert_eq!(store.read_stream(stream).await.expect("read").len(), 1);
            }
        }
    }
}
