use std::collections::HashSet;

use aftercare_eventstore::{AppendRequest, EventStore, Expected, Filter, Position, StreamPattern};

use super::{Fixture, dealer, event, stream, take};

pub async fn subscribe_from_start_sees_history_then_live(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let e = event("VisitRecorded", format!("{i}"));
        sent.push(e.event_id);
        store
            .append(&stream("D001", "visit", i), Expected::NoStream, vec![e])
            .await
            .expect("append");
    }
    let mut subscription = store
        .subscribe(&Filter::all(), Position::ZERO)
        .await
        .expect("subscribe");
    let history = take(&mut subscription, 5).await;
    for i in 5..8 {
        let e = event("VisitRecorded", format!("{i}"));
        sent.push(e.event_id);
        store
            .append(&stream("D001", "visit", i), Expected::NoStream, vec![e])
            .await
            .expect("append live");
    }
    let live = take(&mut subscription, 3).await;
    let all: Vec<_> = history.iter().chain(&live).collect();
    assert_eq!(
        all.iter().map(|e| e.data.event_id).collect::<Vec<_>>(),
        sent
    );
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position),
        "positions must increase"
    );
}

pub async fn subscribe_from_position_starts_there(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let mut positions = Vec::new();
    for i in 0..10 {
        let a = store
            .append(
                &stream("D001", "sale", i),
                Expected::NoStream,
                vec![event("VehicleSold", format!("{i}"))],
            )
            .await
            .expect("append");
        positions.push(a.position);
    }
    let from = positions[4];
    let mut subscription = store
        .subscribe(&Filter::all(), from)
        .await
        .expect("subscribe");
    let got = take(&mut subscription, 6).await;
    assert_eq!(
        got.iter().map(|e| e.position).collect::<Vec<_>>(),
        positions[4..].to_vec()
    );
}

pub async fn filters_by_dealer_and_aggregate(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.store().await;
    let layout = [
        ("D001", "visit"),
        ("D002", "visit"),
        ("D001", "complaint"),
        ("D002", "complaint"),
    ];
    for round in 0..3 {
        for (d, agg) in layout {
            store
                .append(
                    &stream(d, agg, format!("{round}")),
                    Expected::Any,
                    vec![event("Happened", format!("{d}/{agg}"))],
                )
                .await
                .expect("append");
        }
    }
    // A closing marker that every filter below matches, so reading up to it proves
    // nothing else slipped through before it.
    store
        .append(
            &stream("D001", "visit", "marker"),
            Expected::Any,
            vec![event("Marker", "end")],
        )
        .await
        .expect("marker");
    type Allows = Box<dyn Fn(&str, &str) -> bool>;
    let cases: Vec<(Filter, usize, Allows)> = vec![
        (
            Filter::dealer(dealer("D001")),
            6,
            Box::new(|d: &str, _: &str| d == "D001"),
        ),
        (
            Filter::aggregate("visit"),
            6,
            Box::new(|_: &str, a: &str| a == "visit"),
        ),
        (
            Filter::default().or(StreamPattern {
                dealer: Some(dealer("D001")),
                aggregate: Some("visit".into()),
            }),
            3,
            Box::new(|d: &str, a: &str| d == "D001" && a == "visit"),
        ),
        (
            Filter::aggregate("visit").or(StreamPattern {
                dealer: Some(dealer("D002")),
                aggregate: None,
            }),
            9,
            Box::new(|d: &str, a: &str| a == "visit" || d == "D002"),
        ),
    ];
    for (filter, expected, predicate) in cases {
        let mut subscription = store
            .subscribe(&filter, Position::ZERO)
            .await
            .expect("subscribe");
        let got = take(&mut subscription, expected + 1).await;
        let (last, before) = got.split_last().expect("at least the marker");
        assert_eq!(
            last.data.event_type, "aftercare.test.v1.Marker",
            "{filter:?}: more events than expected"
        );
        for e in before {
            assert!(
                predicate(e.dealer().as_str(), e.stream.aggregate()),
                "{filter:?} let {} through",
                e.stream
            );
        }
    }
}

const AGGREGATES: usize = 1_000;
const PER_AGGREGATE: usize = 100;

/// 100,000 events through the bulk path, replayed with nothing lost, duplicated or
/// reordered: global positions increase and each aggregate's events come back in
/// the order they were appended.
pub async fn hundred_thousand_events_replay_in_order(
    fixture: impl std::future::Future<Output = impl Fixture>,
) {
    let fixture = fixture.await;
    let store = fixture.bulk_store().await;
    for round in 0..PER_AGGREGATE {
        let batch = (0..AGGREGATES)
            .map(|a| AppendRequest {
                stream: stream("D001", "visit", a),
                expected: Expected::Any,
                events: vec![event("VisitRecorded", format!("{a}:{round}"))],
            })
            .collect();
        for result in store.append_batch(batch).await {
            result.expect("bulk append");
        }
    }
    let total = AGGREGATES * PER_AGGREGATE;
    let mut subscription = store
        .subscribe(&Filter::all(), Position::ZERO)
        .await
        .expect("subscribe");
    let events = take(&mut subscription, total).await;
    let mut next_round = vec![0usize; AGGREGATES];
    let mut seen = HashSet::with_capacity(total);
    let mut last = Position::ZERO;
    for e in &events {
        assert!(e.position > last, "position {} after {last}", e.position);
        last = e.position;
        assert!(
            seen.insert(e.data.event_id),
            "event {} delivered twice",
            e.data.event_id
        );
        let text = std::str::from_utf8(&e.data.payload).expect("utf-8 payload");
        let (a, round) = text.split_once(':').expect("a:round");
        let (a, round): (usize, usize) = (a.parse().expect("a"), round.parse().expect("round"));
        assert_eq!(round, next_round[a], "aggregate {a} out of order");
        next_round[a] += 1;
    }
    assert!(next_round.iter().all(|&n| n == PER_AGGREGATE));
    assert_eq!(store.head().await.expect("head"), last);
}
