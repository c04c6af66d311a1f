//! The DMS ingest subjects: `<prefix>.in.<dealer>.visits` (closed repair orders)
//! and `<prefix>.in.<dealer>.repair-orders` (opened ones), request/reply. A DMS
//! publishes one repair order (protobuf, or JSON) and gets an `IngestReply`:
//! accepted (durable in the log), already recorded, rejected with every field
//! error (and kept on the dead-letter stream), or unavailable (send again).
//! The dealer is the subject's token, so NATS permissions that confine a DMS
//! credential to its dealer's subjects confine what it can write.
//!
//! NATS checks what a client publishes, not the reply subject it names, so the
//! reply subject is input like any other: the answer goes only to the sending
//! dealer's own inbox prefix, `_INBOX.<dealer>.`, where that dealer's credential
//! may listen, and it goes out on a connection that may publish nowhere else.
//! A request naming any other reply subject is refused and kept as a dead letter.

use std::sync::Arc;

use aftercare_eventstore::{DeadLetter, DealerId, EventStore, Metadata};
use aftercare_proto::common::v1::Position as PbPosition;
use aftercare_proto::intake::v1 as pb;
use bytes::Bytes;
use futures::StreamExt;
use prost::Message as _;
use tokio::sync::watch;

use aftercare_proto::edge;

use crate::domain::FieldError;
use crate::record::{RecordError, open_repair_order, record_visit};

/// Repair orders processed at once: appends are pipelined, not one round trip
/// after another, and enough of them wait together for the store to write them
/// as large groups (group commit).
const IN_FLIGHT: usize = 1024;
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

/// Serves the subscriptions until `stop`; answers go out on `replies`.
pub async fn serve(
    subscriptions: Vec<async_nats::Subscriber>,
    replies: async_nats::Client,
    store: Arc<dyn EventStore>,
    mut stop: watch::Receiver<bool>,
) {
    let work =
        futures::stream::select_all(subscriptions).for_each_concurrent(IN_FLIGHT, |message| {
            let (client, store) = (replies.clone(), store.clone());
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

/// A rejection with every reason, capped so that the answer always fits in one
/// NATS message: the first few, then how many more.
fn rejected(errors: Vec<FieldError>) -> pb::IngestReply {
    let violations = edge::summarize(
        errors
            .into_iter()
            .map(|e| edge::Violation {
                field: e.field,
                reason: e.reason,
            })
            .collect(),
    );
    pb::IngestReply {
        status: pb::ingest_reply::Status::Rejected as i32,
        errors: violations
            .into_iter()
            .map(|v| pb::IngestFieldError {
                field: truncate(v.field, 200),
                reason: truncate(v.reason, 500),
            })
            .collect(),
        ..Default::default()
    }
}

fn truncate(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The one reply subject a dealer's request may name: under `_INBOX.<dealer>.`.
pub fn reply_allowed(dealer: &DealerId, reply: &str) -> bool {
    reply
        .strip_prefix("_INBOX.")
        .and_then(|rest| rest.strip_prefix(dealer.as_str()))
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains([' ', '\t', '\r', '\n', '*', '>']))
}

async fn handle(client: &async_nats::Client, store: &dyn EventStore, message: async_nats::Message) {
    let json = is_json(&message);
    let kind = message
        .subject
        .rsplit('.')
        .next()
        .unwrap_or("visits")
        .to_owned();
    let dealer_token = message.subject.split('.').rev().nth(1).unwrap_or_default();
    let Ok(dealer) = DealerId::parse(dealer_token) else {
        // No dealer, so no inbox that could be checked: nothing is answered.
        tracing::warn!(subject = %message.subject, "ingest message on a subject without a valid dealer");
        return;
    };
    if let Some(reply) = &message.reply
        && !reply_allowed(&dealer, reply)
    {
        tracing::warn!(%dealer, reply = %reply, "ingest request names a reply subject outside its dealer's inbox; refused");
        let errors = vec![FieldError::new(
            "reply",
            format!(
                "{} is outside the dealer's inbox prefix _INBOX.{dealer}. (connect the DMS with that custom inbox prefix); the record was not processed",
                truncate(reply.to_string(), 200)
            ),
        )];
        let refusal = rejected(errors);
        count(&kind, &refusal);
        keep_rejected(store, &dealer, &kind, &refusal, message.payload.clone()).await;
        return;
    }
    // The DMS's trace, when its request carries one, goes on through the
    // append to the read models and policies that apply the events.
    let span = tracing::info_span!("ingest", otel.name = "ingest", %dealer, kind = %kind);
    if let Some(traceparent) = message
        .headers
        .as_ref()
        .and_then(|h| h.get("traceparent"))
        .map(|v| v.as_str().to_owned())
    {
        aftercare_runtime::telemetry::continue_trace(&span, &traceparent);
    }
    let reply =
        tracing::Instrument::instrument(process(store, &dealer, &kind, json, &message), span).await;
    count(&kind, &reply);
    if let Some(inbox) = message.reply {
        let body = if json {
            Bytes::from(aftercare_proto::json::to_json(&reply).to_string())
        } else {
            Bytes::from(reply.encode_to_vec())
        };
        if let Err(err) = client.publish(inbox, body).await {
            tracing::warn!(error = %err, "cannot send the ingest reply");
        }
    }
}

/// Counts an answered record in the process's metrics: its kind (`other` for a
/// subject the ingest does not know), its status and, for a rejection, the
/// first field it names with any list index left out — labels a sender cannot
/// multiply.
fn count(kind: &str, reply: &pb::IngestReply) {
    let kind = match kind {
        "visits" | "repair-orders" => kind,
        _ => "other",
    };
    let status = format!("{:?}", reply.status()).to_lowercase();
    let reason = reply.errors.first().map_or(String::new(), |e| {
        let field: String = e
            .field
            .split('[')
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        if field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            field
        } else {
            "other".to_owned()
        }
    });
    aftercare_runtime::metrics::metrics()
        .ingest
        .with_label_values(&[kind, status.as_str(), reason.as_str()])
        .inc();
}

/// Decodes a protobuf record after the edge check of every text field in it.
fn checked_proto<M: prost::Message + prost::Name + Default>(
    payload: &[u8],
) -> Result<M, Vec<FieldError>> {
    let message = M::decode(payload).map_err(|e| {
        vec![FieldError::new(
            "body",
            format!("is not a {} message: {e}", M::NAME),
        )]
    })?;
    let violations = edge::check_message(&M::full_name(), payload);
    if violations.is_empty() {
        Ok(message)
    } else {
        Err(violations
            .into_iter()
            .map(|v| FieldError::new(v.field, v.reason))
            .collect())
    }
}

/// Records one repair order of `dealer` and says how it went.
async fn process(
    store: &dyn EventStore,
    dealer: &DealerId,
    kind: &str,
    json: bool,
    message: &async_nats::Message,
) -> pb::IngestReply {
    let metadata = Metadata {
        actor: format!("dms:{dealer}"),
        traceparent: aftercare_runtime::telemetry::current_traceparent(),
        ..Metadata::default()
    };
    let now = jiff::Timestamp::now();
    let outcome = if kind == "repair-orders" {
        let order = if json {
            crate::json::opened_order(&message.payload, dealer)
        } else {
            checked_proto::<pb::OpenedRepairOrder>(&message.payload)
                .map(|o| crate::events::opened_order(&o))
        };
        match order {
            Ok(order) => open_repair_order(store, dealer, &order, now, metadata).await,
            Err(errors) => Err(RecordError::Invalid(errors)),
        }
    } else {
        let order = if json {
            crate::json::repair_order(&message.payload, dealer)
        } else {
            checked_proto::<pb::RepairOrder>(&message.payload)
                .map(|o| crate::events::repair_order(&o))
        };
        match order {
            Ok(order) => record_visit(store, dealer, &order, now, metadata).await,
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
            keep_rejected(store, dealer, kind, &reply, message.payload.clone()).await;
            reply
        }
        Err(RecordError::Store(err)) => pb::IngestReply {
            status: pb::ingest_reply::Status::Unavailable as i32,
            message: err.to_string(),
            ..Default::default()
        },
    }
}

/// Most bytes of a rejected record kept on the dead-letter stream: a record near
/// the NATS limit plus the reason would not fit in one message.
const KEPT_PAYLOAD_BYTES: usize = 256 * 1024;

async fn keep_rejected(
    store: &dyn EventStore,
    dealer: &DealerId,
    kind: &str,
    reply: &pb::IngestReply,
    mut payload: Bytes,
) {
    let mut reason = reply
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ");
    if payload.len() > KEPT_PAYLOAD_BYTES {
        reason.push_str(&format!(
            " (record truncated to its first {KEPT_PAYLOAD_BYTES} of {} bytes)",
            payload.len()
        ));
        payload.truncate(KEPT_PAYLOAD_BYTES);
    }
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
