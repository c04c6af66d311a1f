//! The DMS ingest subjects: `<prefix>.in.<dealer>.visits` (closed repair orders)
//! and `<prefix>.in.<dealer>.repair-orders` (opened ones), request/reply. A DMS
//! publishes one repair order (protobuf, or JSON) and gets an `IngestReply`:
//! accepted (durable in the log), already recorded, rejected with every field
//! error (and kept on the dead-letter stream), or unavailable (send again).
//! The dealer is the subject's token, so NATS permissions that confine a DMS
//! credential to its dealer's subjects confine what it can write.

use std::sync::Arc;

use aftercare_eventstore::{DeadLetter, DealerId, EventStore, Metadata};
use aftercare_proto::common::v1::Position as PbPosition;
use aftercare_proto::intake::v1 as pb;
use bytes::Bytes;
use futures::StreamExt;
use prost::Message as _;
use tokio::sync::watch;

use crate::domain::FieldError;
use crate::record::{RecordError, open_repair_order, record_visit};

/// Repair orders processed at once: appends are pipelined, not one round trip
/// after another.
const IN_FLIGHT: usize = 256;
const QUEUE_GROUP: &str = "aftercare-intake";

/// Subscribes to both ingest subjects (in a queue group, so replicas share them).
pub async fn subscribe(
    client: &async_nats::Client,
    prefix: &str,
) -> Result<Vec<async_nats::Subscriber>, String> {
    let mut subscriptions = Vec::new();
    for kind in ["visits", "repair-orders"] {
        let subject = format!("{prefix}.in.*.{kind}");
        let subscription = client
            .queue_subscribe(subject.clone(), QUEUE_GROUP.to_owned())
            .await
            .map_err(|e| format!("cannot subscribe to {subject}: {e}"))?;
        tracing::info!(%subject, "dms ingest listening");
        subscriptions.push(subscription);
    }
    // The subscriptions are in place at the server once this returns.
    client
        .flush()
        .await
        .map_err(|e| format!("nats flush: {e}"))?;
    Ok(subscriptions)
}

pub async fn serve(
    subscriptions: Vec<async_nats::Subscriber>,
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    mut stop: watch::Receiver<bool>,
) {
    let work =
        futures::stream::select_all(subscriptions).for_each_concurrent(IN_FLIGHT, |message| {
            let (client, store) = (client.clone(), store.clone());
            async move { handle(&client, store.as_ref(), message).await }
        });
    tokio::select! {
        _ = work => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

fn is_json(message: &async_nats::Message) -> bool {
    let declared = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Content-Type"))
        .map(|v| v.as_str().contains("json"));
    declared
        .unwrap_or_else(|| message.payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

fn rejected(errors: Vec<FieldError>) -> pb::IngestReply {
    pb::IngestReply {
        status: pb::ingest_reply::Status::Rejected as i32,
        errors: errors
            .into_iter()
            .map(|e| pb::IngestFieldError {
                field: e.field,
                reason: e.reason,
            })
            .collect(),
        ..Default::default()
    }
}

async fn handle(client: &async_nats::Client, store: &dyn EventStore, message: async_nats::Message) {
    let json = is_json(&message);
    let dealer_token = message.subject.split('.').rev().nth(1).unwrap_or_default();
    let reply = match DealerId::parse(dealer_token) {
        Err(err) => rejected(vec![FieldError::new("subject", err.to_string())]),
        Ok(dealer) => {
            let metadata = Metadata {
                actor: format!("dms:{dealer}"),
                ..Metadata::default()
            };
            let now = jiff::Timestamp::now();
            let outcome = if message.subject.ends_with(".repair-orders") {
                let order = if json {
                    crate::json::opened_order(&message.payload)
                } else {
                    pb::OpenedRepairOrder::decode(message.payload.as_ref())
                        .map(|o| crate::events::opened_order(&o))
                        .map_err(|e| {
                            vec![FieldError::new(
                                "body",
                                format!("is not an OpenedRepairOrder message: {e}"),
                            )]
                        })
                };
                match order {
                    Ok(order) => open_repair_order(store, &dealer, &order, now, metadata).await,
                    Err(errors) => Err(RecordError::Invalid(errors)),
                }
            } else {
                let order = if json {
                    crate::json::repair_order(&message.payload)
                } else {
                    pb::RepairOrder::decode(message.payload.as_ref())
                        .map(|o| crate::events::repair_order(&o))
                        .map_err(|e| {
                            vec![FieldError::new(
                                "body",
                                format!("is not a RepairOrder message: {e}"),
                            )]
                        })
                };
                match order {
                    Ok(order) => record_visit(store, &dealer, &order, now, metadata).await,
                    Err(errors) => Err(RecordError::Invalid(errors)),
                }
            };
            match outcome {
                Ok(recorded) => pb::IngestReply {
                    status: if recorded.already_recorded {
                        pb::ingest_reply::Status::AlreadyRecorded
                    } else {
                        pb::ingest_reply::Status::Accepted
                    } as i32,
                    visit_id: recorded.visit_id.to_string(),
                    position: Some(PbPosition {
                        value: recorded.position.0,
                    }),
                    ..Default::default()
                },
                Err(RecordError::Invalid(errors)) => {
                    let reply = rejected(errors);
                    let kind = message.subject.rsplit('.').next().unwrap_or("visits");
                    keep_rejected(store, &dealer, kind, &reply, message.payload.clone()).await;
                    reply
                }
                Err(RecordError::Store(err)) => pb::IngestReply {
                    status: pb::ingest_reply::Status::Unavailable as i32,
                    message: err.to_string(),
                    ..Default::default()
                },
            }
        }
    };
    if let Some(inbox) = message.reply {
        let body = if json {
            Bytes::from(reply_json(&reply).to_string())
        } else {
            Bytes::from(reply.encode_to_vec())
        };
        if let Err(err) = client.publish(inbox, body).await {
            tracing::warn!(error = %err, "cannot send the ingest reply");
        }
    }
}

async fn keep_rejected(
    store: &dyn EventStore,
    dealer: &DealerId,
    kind: &str,
    reply: &pb::IngestReply,
    payload: Bytes,
) {
    let reason = reply
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let letter = DeadLetter {
        dealer: dealer.clone(),
        kind: kind.to_owned(),
        reason,
        source_position: None,
        source_event_id: None,
        payload,
        recorded_at: jiff::Timestamp::now(),
    };
    if let Err(err) = store.dead_letter(letter).await {
        tracing::error!(%dealer, error = %err, "cannot keep a rejected repair order");
    }
}

/// The reply in proto3 JSON form.
pub fn reply_json(reply: &pb::IngestReply) -> serde_json::Value {
    let status = pb::ingest_reply::Status::try_from(reply.status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("STATUS_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let mut out = serde_json::json!({ "status": status });
    if !reply.visit_id.is_empty() {
        out["visit_id"] = reply.visit_id.clone().into();
    }
    if let Some(p) = reply.position {
        out["position"] = p.value.into();
    }
    if !reply.errors.is_empty() {
        out["errors"] = reply
            .errors
            .iter()
            .map(|e| serde_json::json!({ "field": e.field, "reason": e.reason }))
            .collect::<Vec<_>>()
            .into();
    }
    if !reply.message.is_empty() {
        out["message"] = reply.message.clone().into();
    }
    out
}
