//! The envelope as NATS headers, and subjects as stream ids, both ways.

use async_nats::HeaderMap;
use async_nats::jetstream::stream::StorageType;
use bytes::Bytes;
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    DeadLetter, DealerId, EventData, Filter, Metadata, Position, RecordedEvent, StoreError,
    StreamId,
};

pub(super) const MSG_ID: &str = "Nats-Msg-Id";
const EVENT_TYPE: &str = "Aftercare-Event-Type";
const SCHEMA_VERSION: &str = "Aftercare-Schema-Version";
const OCCURRED_AT: &str = "Aftercare-Occurred-At";
const CORRELATION_ID: &str = "Aftercare-Correlation-Id";
const CAUSATION_ID: &str = "Aftercare-Causation-Id";
const ACTOR: &str = "Aftercare-Actor";
const TRACEPARENT: &str = "traceparent";
const REASON: &str = "Aftercare-Reason";
const SOURCE_POSITION: &str = "Aftercare-Source-Position";
const SOURCE_EVENT_ID: &str = "Aftercare-Source-Event-Id";
const RECORDED_AT: &str = "Aftercare-Recorded-At";

/// Subjects under one prefix (`aftercare` by default).
#[derive(Clone, Debug)]
pub(super) struct Subjects {
    prefix: String,
}

impl Subjects {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub(super) fn events_wildcard(&self) -> String {
        format!("{}.ev.>", self.prefix)
    }

    pub(super) fn outbound_wildcard(&self) -> String {
        format!("{}.out.>", self.prefix)
    }

    pub(super) fn dead_letters_wildcard(&self) -> String {
        format!("{}.dlq.>", self.prefix)
    }

    pub(super) fn stream(&self, stream: &StreamId) -> String {
        format!(
            "{}.ev.{}.{}.{}",
            self.prefix,
            stream.dealer(),
            stream.aggregate(),
            stream.id()
        )
    }

    pub(super) fn dead_letter(&self, dealer: &DealerId, kind: &str) -> String {
        format!("{}.dlq.{dealer}.{kind}", self.prefix)
    }

    pub(super) fn dead_letter_kind(&self, kind: Option<&str>) -> String {
        match kind {
            Some(kind) => format!("{}.dlq.*.{kind}", self.prefix),
            None => self.dead_letters_wildcard(),
        }
    }

    /// One consumer filter subject per pattern; the whole event space when empty.
    pub(super) fn filter(&self, filter: &Filter) -> Vec<String> {
        if filter
            .patterns
            .iter()
            .any(|p| p.dealer.is_none() && p.aggregate.is_none())
            || filter.patterns.is_empty()
        {
            return vec![self.events_wildcard()];
        }
        let mut subjects: Vec<String> = filter
            .patterns
            .iter()
            .map(|p| {
                let dealer = p.dealer.as_ref().map_or("*", |d| d.as_str());
                let aggregate = p.aggregate.as_deref().unwrap_or("*");
                format!("{}.ev.{dealer}.{aggregate}.*", self.prefix)
            })
            .collect();
        subjects.sort();
        subjects.dedup();
        subjects
    }

    pub(super) fn parse_stream(&self, subject: &str) -> Option<StreamId> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix(".ev.")?;
        let mut tokens = rest.split('.');
        let (dealer, aggregate, id) = (tokens.next()?, tokens.next()?, tokens.next()?);
        if tokens.next().is_some() {
            return None;
        }
        StreamId::new(DealerId::parse(dealer).ok()?, aggregate, id).ok()
    }
}

pub(super) fn event_headers(event: &EventData) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, event.event_id.to_string().as_str());
    headers.insert(EVENT_TYPE, event.event_type.as_str());
    // Kept small: every header costs on every publish and every replay. The dealer
    // is in the subject; schema version 1 is the default.
    if event.schema_version != 1 {
        headers.insert(SCHEMA_VERSION, event.schema_version.to_string().as_str());
    }
    headers.insert(
        OCCURRED_AT,
        event.occurred_at.as_microsecond().to_string().as_str(),
    );
    let meta = &event.metadata;
    if let Some(id) = meta.correlation_id {
        headers.insert(CORRELATION_ID, id.to_string().as_str());
    }
    if let Some(id) = meta.causation_id {
        headers.insert(CAUSATION_ID, id.to_string().as_str());
    }
    if !meta.actor.is_empty() {
        headers.insert(ACTOR, meta.actor.as_str());
    }
    if let Some(tp) = &meta.traceparent {
        headers.insert(TRACEPARENT, tp.as_str());
    }
    headers
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.as_str())
}

fn required<'a>(
    headers: &'a HeaderMap,
    name: &str,
    position: Position,
) -> Result<&'a str, StoreError> {
    header(headers, name).ok_or_else(|| StoreError::Corrupt {
        position,
        reason: format!("missing header {name}"),
    })
}

fn parse<T: std::str::FromStr>(value: &str, name: &str, position: Position) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| StoreError::Corrupt {
        position,
        reason: format!("header {name}: {e}"),
    })
}

fn optional_uuid(
    headers: &HeaderMap,
    name: &str,
    position: Position,
) -> Result<Option<Uuid>, StoreError> {
    header(headers, name)
        .map(|v| parse(v, name, position))
        .transpose()
}

/// Whether a message carries the event envelope at all. Anything published on an
/// event subject by something other than the store (a reply sent to a forged
/// reply subject, a stray publish) lacks it; such a message is never an event.
pub(super) fn has_envelope(headers: Option<&HeaderMap>) -> bool {
    headers.is_some_and(|h| h.get(EVENT_TYPE).is_some() || h.get(OCCURRED_AT).is_some())
}

pub(super) fn decode_event(
    subjects: &Subjects,
    subject: &str,
    position: Position,
    headers: Option<&HeaderMap>,
    payload: Bytes,
) -> Result<RecordedEvent, StoreError> {
    let stream = subjects
        .parse_stream(subject)
        .ok_or_else(|| StoreError::Corrupt {
            position,
            reason: format!("subject {subject} is not an event subject"),
        })?;
    if !has_envelope(headers) {
        return Err(StoreError::Corrupt {
            position,
            reason: format!(
                "the message on {subject} carries no event envelope \
                 (no {EVENT_TYPE} header): it is not an event and was not written by aftercare"
            ),
        });
    }
    let empty = HeaderMap::new();
    let headers = headers.unwrap_or(&empty);
    let micros: i64 = parse(
        required(headers, OCCURRED_AT, position)?,
        OCCURRED_AT,
        position,
    )?;
    let data = EventData {
        event_id: parse(required(headers, MSG_ID, position)?, MSG_ID, position)?,
        event_type: required(headers, EVENT_TYPE, position)?.to_owned(),
        schema_version: header(headers, SCHEMA_VERSION)
            .map(|v| parse(v, SCHEMA_VERSION, position))
            .transpose()?
            .unwrap_or(1),
        occurred_at: Timestamp::from_microsecond(micros).map_err(|e| StoreError::Corrupt {
            position,
            reason: format!("{OCCURRED_AT}: {e}"),
        })?,
        metadata: Metadata {
            correlation_id: optional_uuid(headers, CORRELATION_ID, position)?,
            causation_id: optional_uuid(headers, CAUSATION_ID, position)?,
            actor: header(headers, ACTOR).unwrap_or_default().to_owned(),
            traceparent: header(headers, TRACEPARENT).map(str::to_owned),
        },
        payload,
    };
    Ok(RecordedEvent {
        stream,
        position,
        data,
    })
}

pub(super) fn dead_letter_headers(letter: &DeadLetter) -> HeaderMap {
    let mut headers = HeaderMap::new();
    // A dead letter is its own fact: a fresh id, never deduplicated against another.
    headers.insert(MSG_ID, Uuid::now_v7().to_string().as_str());
    headers.insert(REASON, letter.reason.replace(['\r', '\n'], " ").as_str());
    headers.insert(
        RECORDED_AT,
        letter.recorded_at.as_microsecond().to_string().as_str(),
    );
    if let Some(p) = letter.source_position {
        headers.insert(SOURCE_POSITION, p.0.to_string().as_str());
    }
    if let Some(id) = letter.source_event_id {
        headers.insert(SOURCE_EVENT_ID, id.to_string().as_str());
    }
    headers
}

pub(super) fn decode_dead_letter(
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: Bytes,
    position: Position,
) -> Result<DeadLetter, StoreError> {
    let empty = HeaderMap::new();
    let headers = headers.unwrap_or(&empty);
    // <prefix>.dlq.<dealer>.<kind>: the last two tokens.
    let mut tokens = subject.rsplitn(3, '.');
    let kind = tokens.next().unwrap_or_default().to_owned();
    let dealer = DealerId::parse(tokens.next().unwrap_or_default())?;
    let micros: i64 = parse(
        required(headers, RECORDED_AT, position)?,
        RECORDED_AT,
        position,
    )?;
    Ok(DeadLetter {
        dealer,
        kind,
        reason: required(headers, REASON, position)?.to_owned(),
        source_position: header(headers, SOURCE_POSITION)
            .map(|v| parse(v, SOURCE_POSITION, position).map(Position))
            .transpose()?,
        source_event_id: optional_uuid(headers, SOURCE_EVENT_ID, position)?,
        payload,
        recorded_at: Timestamp::from_microsecond(micros).unwrap_or_default(),
    })
}

pub(super) fn storage_name(storage: &StorageType) -> &'static str {
    match storage {
        StorageType::File => "file",
        StorageType::Memory => "memory",
    }
}
