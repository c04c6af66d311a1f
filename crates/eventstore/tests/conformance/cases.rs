use std::time::Duration;

use aftercare_eventstore::{
    DeadLetter, DealerProgress, EventStore, Expected, Position, StoreError,
};
use bytes::Bytes;

use super::{Fixture, dealer, event, stream};

pub async fn append_and_read_round_trip(fixture: impl std::future::Future<Output = impl Fixture>) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "visit", uuid::Uuid::now_v7());
    let events = vec![
        event("VisitRecorded", "a"),
        event("VisitCorrected", "b"),
        event("VisitClosed", ""),
    ];
    let appended = store
        .append(&id, Expected::NoStream, events.clone())
        .await
        .expect("append");
    let read = store.read_stream(&id).await.expect("read");
    assert_eq!(read.len(), 3);
    for (recorded, sent) in read.iter().zip(&events) {
        assert_eq!(recorded.stream, id);
        assert_eq!(recorded.data.event_id, sent.event_id);
        assert_eq!(recorded.data.event_type, sent.event_type);
        assert_eq!(recorded.data.schema_version, sent.schema_version);
        assert_eq!(recorded.data.metadata, sent.metadata);
        assert_eq!(recorded.data.payload, sent.payload);
        assert_eq!(
            recorded.data.occurred_at.as_microsecond(),
            sent.occurred_at.as_microsecond()
        );
    }
    assert!(read.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(appended.position, read[2].position);
    assert!(store.head().await.expect("head") >= appended.position);
    let missing = store
        .read_stream(&stream("D001", "visit", "nobody"))
        .await
        .expect("read missing");
    assert!(missing.is_empty());
}

pub async fn stale_version_conflicts(fixture: impl std::future::Future<Output = impl Fixture>) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "complaint", "c-1");
    let first = store
        .append(&id, Expected::NoStream, vec![event("ComplaintFiled", "1")])
        .await
        .expect("create");
    let second = store
        .append(
            &id,
            Expected::Version(first.position),
            vec![event("ComplaintAcknowledged", "2")],
        )
        .await
        .expect("append at current version");
    let stale = store
        .append(
            &id,
            Expected::Version(first.position),
            vec![event("ComplaintEscalated", "3")],
        )
        .await;
    match stale {
        Err(StoreError::Conflict {
            current, expected, ..
        }) => {
            assert_eq!(current, second.position);
            assert_eq!(expected, Expected::Version(first.position));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let absent = stream("D001", "complaint", "c-none");
    let err = store
        .append(
            &absent,
            Expected::Version(first.position),
            vec![event("ComplaintAcknowledged", "x")],
        )
        .await
        .expect_err("a version on a missing stream conflicts");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                current: Position::ZERO,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.read_stream(&id).await.expect("read").len(),
        2,
        "the stale append wrote nothing"
    );
}

pub async fn must_not_exist_reports_original(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D002", "visit", "RO-2026-0001");
    let original = store
        .append(&id, Expected::NoStream, vec![event("VisitRecorded", "ro")])
        .await
        .expect("create");
    let again = store
        .append(
            &id,
            Expected::NoStream,
            vec![event("VisitRecorded", "ro again")],
        )
        .await;
    match again {
        Err(StoreError::Conflict {
            current,
            expected: Expected::NoStream,
            ..
        }) => {
            assert_eq!(current, original.position)
        }
        other => panic!("expected a must-not-exist conflict, got {other:?}"),
    }
    assert_eq!(store.read_stream(&id).await.expect("read").len(), 1);
}

pub async fn retried_append_is_recognised(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "lead", "l-1");
    let created = event("LeadCaptured", "web");
    let first = store
        .append(&id, Expected::Any, vec![created.clone()])
        .await
        .expect("first");
    // The same event id again, as after a lost acknowledgement: answered with the
    // original position, stored once.
    let retry = store
        .append(&id, Expected::Any, vec![created])
        .await
        .expect("retry");
    assert_eq!(retry.position, first.position);
    assert_eq!(store.read_stream(&id).await.expect("read").len(), 1);
}

pub async fn invalid_input_is_named(fixture: impl std::future::Future<Output = impl Fixture>) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "visit", "v-invalid");
    let err = store
        .append(&id, Expected::Any, vec![])
        .await
        .expect_err("empty append");
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "events",
                ..
            }
        ),
        "{err:?}"
    );
    let mut bad = event("VisitRecorded", "x");
    bad.event_type = "not a type!".to_owned();
    let err = store
        .append(&id, Expected::Any, vec![bad])
        .await
        .expect_err("bad type");
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "event_type",
                ..
            }
        ),
        "{err:?}"
    );
    let err = aftercare_eventstore::DealerId::parse("D001.>").expect_err("subject characters");
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "dealer",
                ..
            }
        ),
        "{err:?}"
    );
}

pub async fn restart_keeps_everything(fixture: impl std::future::Future<Output = impl Fixture>) {
    let mut fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D003", "customer", "cu-1");
    let mut last = Expected::NoStream;
    let mut sent = Vec::new();
    for i in 0..100 {
        let e = event("CustomerUpdated", format!("{i}"));
        sent.push(e.event_id);
        last = Expected::Version(
            store
                .append(&id, last, vec![e])
                .await
                .expect("append")
                .position,
        );
    }
    let head = store.head().await.expect("head");
    drop(store);
    fixture.restart().await;
    let store = fixture.store().await;
    assert_eq!(store.head().await.expect("head after restart"), head);
    let read = store.read_stream(&id).await.expect("read after restart");
    assert_eq!(
        read.iter().map(|e| e.data.event_id).collect::<Vec<_>>(),
        sent
    );
    // The version survives too: the next append at the last version succeeds.
    store
        .append(&id, last, vec![event("CustomerUpdated", "after")])
        .await
        .expect("append after restart");
}

pub async fn backend_down_fails_the_append(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let mut fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "visit", "down");
    store
        .append(&id, Expected::Any, vec![event("VisitRecorded", "up")])
        .await
        .expect("append while up");
    fixture.take_down().await;
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        store.append(&id, Expected::Any, vec![event("VisitRecorded", "down")]),
    )
    .await
    .expect("the append must answer, not hang");
    match result {
        Err(err) => assert!(err.is_unavailable(), "{err:?}"),
        Ok(appended) => panic!(
            "an append to a stopped backend reported success at {}",
            appended.position
        ),
    }
}

pub async fn dead_letters_keep_reasons(fixture: impl std::future::Future<Output = impl Fixture>) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    assert!(
        store
            .dead_letters(Some("visits"))
            .await
            .expect("none yet")
            .is_empty()
    );
    for (kind, reason) in [
        ("visits", "vin: check digit is 7, not X"),
        ("projection-customers", "decode"),
    ] {
        store
            .dead_letter(DeadLetter {
                dealer: dealer("D001"),
                kind: kind.to_owned(),
                reason: reason.to_owned(),
                source_position: Some(Position(7)),
                source_event_id: Some(uuid::Uuid::now_v7()),
                payload: Bytes::from_static(b"{\"vin\":\"LSVAX\"}"),
                recorded_at: jiff::Timestamp::now(),
            })
            .await
            .expect("dead letter");
    }
    let visits = store.dead_letters(Some("visits")).await.expect("read");
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].reason, "vin: check digit is 7, not X");
    assert_eq!(visits[0].dealer, dealer("D001"));
    assert_eq!(visits[0].source_position, Some(Position(7)));
    assert_eq!(
        visits[0].payload,
        Bytes::from_static(b"{\"vin\":\"LSVAX\"}")
    );
    assert_eq!(store.dead_letters(None).await.expect("all").len(), 2);
}

pub async fn multi_event_append_checks_once_and_keeps_order(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let id = stream("D001", "complaint", "batch");
    let first = store
        .append(
            &id,
            Expected::NoStream,
            vec![
                event("ComplaintFiled", "1"),
                event("ComplaintAssigned", "2"),
            ],
        )
        .await
        .expect("create with two events");
    let stale = store
        .append(
            &id,
            Expected::NoStream,
            vec![
                event("ComplaintFiled", "x"),
                event("ComplaintAssigned", "y"),
            ],
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { current, .. }) if current == first.position),
        "{stale:?}"
    );
    store
        .append(
            &id,
            Expected::Version(first.position),
            vec![
                event("ComplaintEscalated", "3"),
                event("ComplaintAssigned", "4"),
                event("ComplaintResolved", "5"),
            ],
        )
        .await
        .expect("three more");
    let read = store.read_stream(&id).await.expect("read");
    let payloads: Vec<_> = read
        .iter()
        .map(|e| String::from_utf8_lossy(&e.data.payload).into_owned())
        .collect();
    assert_eq!(
        payloads,
        ["1", "2", "3", "4", "5"],
        "nothing of the refused append, the rest in order"
    );
}

/// A dealer's view of the log's progress counts its own events only: where its
/// last event is and how many of its events follow a position.
pub async fn dealer_progress_counts_own_events_only(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let none = store
        .dealer_progress(&[dealer("D001")], Position::ZERO)
        .await
        .expect("progress of an empty log");
    assert_eq!(none, DealerProgress::default());
    let mut positions = Vec::new();
    for (i, who) in ["D001", "D002", "D002", "D001", "D002", "D003"]
        .iter()
        .enumerate()
    {
        let appended = store
            .append(
                &stream(who, "visit", i),
                Expected::NoStream,
                vec![event("VisitRecorded", format!("{i}"))],
            )
            .await
            .expect("append");
        positions.push(appended.position);
    }
    let d001 = store
        .dealer_progress(&[dealer("D001")], Position::ZERO)
        .await
        .expect("progress");
    assert_eq!(
        d001,
        DealerProgress {
            last: positions[3],
            after: 2
        }
    );
    let d001 = store
        .dealer_progress(&[dealer("D001")], positions[0])
        .await
        .expect("progress");
    assert_eq!(d001.after, 1);
    let group = store
        .dealer_progress(&[dealer("D001"), dealer("D002")], positions[1])
        .await
        .expect("progress");
    assert_eq!(
        group,
        DealerProgress {
            last: positions[4],
            after: 3
        }
    );
}
