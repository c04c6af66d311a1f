//! DMS backfill end to end: repair orders published to the ingest subject as a
//! DMS does (request/reply, many in flight), appended, projected into PostgreSQL,
//! and queryable — timed from the first publish until the read model holds them all.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{EventStore, JetStreamConfig, JetStreamStore, Position, StreamSettings};
use aftercare_intake::projection::{MIGRATIONS, Visits};
use aftercare_proto::common::v1::Money;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::projection::{RUNTIME_MIGRATIONS, Runner, RunnerOptions};
use anyhow::{Context, ensure};
use futures::StreamExt;
use prost::Message;

use crate::IN_FLIGHT;
use crate::cpu::{Sample, Stopwatch};

/// A valid VIN for serial `i` (the check digit computed, as a DMS would have it).
fn vin(i: u64) -> String {
    let body = format!("LFV2A21K0{:08}", i % 100_000_000);
    let digit = aftercare_intake::domain::vin::check_digit(&body).expect("valid characters");
    body.chars()
        .take(8)
        .chain([digit])
        .chain(body.chars().skip(9))
        .collect()
}

fn order(i: u64) -> pb::RepairOrder {
    let closed = 1_767_225_600 + (i as i64 % 20_000_000);
    pb::RepairOrder {
        repair_order: format!("RO-{i:09}"),
        vin: vin(i % 50_000),
        opened_at: Some(prost_types::Timestamp {
            seconds: closed - 14_400,
            nanos: 0,
        }),
        closed_at: Some(prost_types::Timestamp {
            seconds: closed,
            nanos: 0,
        }),
        mileage_km: 1_000 + (i as i64 % 150_000),
        kind: pb::VisitKind::Maintenance as i32,
        labour: Some(Money { fen: 20_000 }),
        parts: Some(Money { fen: 35_000 }),
        service_advisor: format!("advisor-{}", i % 12),
        advisor_group: format!("group-{}", i % 3),
        ..Default::default()
    }
}

/// `group_commit`: the store's setting (1: every append on its own).
pub async fn dms_to_postgres(
    url: &str,
    database_url: &str,
    n: u64,
    group_commit: usize,
) -> anyhow::Result<Sample> {
    // Its own subject prefix and streams, apart from the other measurements' events.
    let store = JetStreamStore::connect(JetStreamConfig {
        url: url.to_owned(),
        prefix: "backfill".to_owned(),
        events: StreamSettings {
            name: "BACKFILL_EVENTS".to_owned(),
            ..StreamSettings::default()
        },
        dead_letter_stream: "BACKFILL_DLQ".to_owned(),
        outbound_stream: "BACKFILL_OUT".to_owned(),
        group_commit,
        ..JetStreamConfig::default()
    })
    .await?;
    let db = crate::store::database(database_url).await?;
    db.migrate(&RUNTIME_MIGRATIONS).await?;
    db.migrate(&MIGRATIONS).await?;
    let events: Arc<dyn EventStore> = Arc::new(store.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let subscriptions = aftercare_intake::ingest::subscribe(store.client(), "backfill")
        .await
        .map_err(anyhow::Error::msg)?;
    let ingest = tokio::spawn(aftercare_intake::ingest::serve(
        subscriptions,
        store.client().clone(),
        events.clone(),
        stop_rx.clone(),
    ));
    let runner = Runner::projection(
        Arc::new(Visits),
        events.clone(),
        db.clone(),
        RunnerOptions::default(),
    );
    let progress = runner.handle();
    let mut stop = stop_rx.clone();
    let projection = tokio::spawn(runner.run(async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    // A DMS connects with its dealer's inbox prefix: ingest answers there only.
    let dms = async_nats::ConnectOptions::new()
        .custom_inbox_prefix("_INBOX.D001")
        .connect(url)
        .await
        .context("dms connection")?;
    let watch = Stopwatch::start();
    let replies = futures::stream::iter(0..n)
        .map(|i| {
            let dms = dms.clone();
            async move {
                let request = async_nats::Request::new()
                    .payload(order(i).encode_to_vec().into())
                    .timeout(Some(Duration::from_secs(30)));
                let reply = dms.send_request("backfill.in.D001.visits", request).await?;
                anyhow::Ok(pb::IngestReply::decode(reply.payload)?)
            }
        })
        .buffer_unordered(IN_FLIGHT);
    futures::pin_mut!(replies);
    let mut last = 0;
    while let Some(reply) = replies.next().await {
        let reply = reply?;
        ensure!(
            reply.status() == pb::ingest_reply::Status::Accepted,
            "not accepted: {reply:?}"
        );
        last = last.max(reply.position.map_or(0, |p| p.value));
    }
    progress
        .wait_for(Position(last), Duration::from_secs(600))
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM intake_visits")
        .fetch_one(&db.pool)
        .await?;
    let sample = watch.stop();
    ensure!(count as u64 == n, "{count} of {n} visits queryable");
    let _ = stop_tx.send(true);
    let _ = tokio::join!(ingest, projection);
    Ok(sample)
}
