//! Client request ids: the idempotency key a create command may carry, so a
//! client that retries after a timeout gets the first answer instead of a second
//! record. The new aggregate's id is derived from the dealer, the kind of thing
//! created and the request id, and the first event is appended only where no
//! stream exists; a repeat finds the stream and answers with what it holds.

use aftercare_eventstore::{DealerId, EventStore, Position, StreamId};
use uuid::Uuid;

use crate::ServiceError;

/// The field every create request names it with.
pub const FIELD: &str = "client_request_id";

/// Longest request id accepted, in characters.
pub const MAX_LEN: usize = 128;

/// Ids derived from request ids live in a namespace of their own, apart from
/// ids derived from DMS and OEM numbers.
const NAMESPACE: Uuid = Uuid::from_u128(0x1d3e_5c0a_7f42_4b8e_9a1d_c4e2_f0b7_3a65);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequestId(String);

impl ClientRequestId {
    /// `None` when the request carries none (empty); printable ASCII (space to
    /// `~`) of at most [`MAX_LEN`] characters otherwise.
    pub fn parse(value: &str) -> Result<Option<Self>, ServiceError> {
        if value.is_empty() {
            return Ok(None);
        }
        if let Some(c) = value.chars().find(|c| !matches!(c, ' '..='~')) {
            return Err(ServiceError::invalid(
                FIELD,
                format!("must be printable ASCII, not {c:?}"),
            ));
        }
        if value.len() > MAX_LEN {
            return Err(ServiceError::invalid(
                FIELD,
                format!("is {} characters; at most {MAX_LEN}", value.len()),
            ));
        }
        Ok(Some(Self(value.to_owned())))
    }

    /// The id of the `kind` (customer, lead, complaint) this request creates at
    /// `dealer`: the same for every repeat, different at every other dealer.
    pub fn aggregate_id(&self, dealer: &DealerId, kind: &str) -> Uuid {
        Uuid::new_v5(&NAMESPACE, format!("{kind}/{dealer}/{}", self.0).as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the aggregate a repeated request created stands in the log: the
/// position of its first event, which is what the first request was answered.
pub async fn original_position(
    store: &dyn EventStore,
    stream: &StreamId,
) -> Result<Position, ServiceError> {
    Ok(store
        .read_stream(stream)
        .await?
        .first()
        .map(|e| e.position)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dealer(d: &str) -> DealerId {
        DealerId::parse(d).expect("valid")
    }

    #[test]
    fn empty_means_none_and_bad_ids_name_the_field() {
        assert_eq!(ClientRequestId::parse("").expect("empty"), None);
        let ok = ClientRequestId::parse("walk-in 2026-11-26 #3").expect("valid");
        assert_eq!(ok.map(|r| r.0), Some("walk-in 2026-11-26 #3".to_owned()));
        assert!(ClientRequestId::parse(&"x".repeat(MAX_LEN)).is_ok());
        for bad in [
            "x".repeat(MAX_LEN + 1),
            "重试".into(),
            "a\nb".into(),
            "a\0".into(),
        ] {
            match ClientRequestId::parse(&bad) {
                Err(ServiceError::Invalid(v)) => assert_eq!(v[0].field, FIELD, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn ids_differ_by_dealer_and_kind_and_repeat_for_the_same_request() {
        let r = ClientRequestId::parse("req-1")
            .expect("valid")
            .expect("given");
        let id = r.aggregate_id(&dealer("D001"), "complaint");
        assert_eq!(id, r.aggregate_id(&dealer("D001"), "complaint"));
        assert_ne!(id, r.aggregate_id(&dealer("D002"), "complaint"));
        assert_ne!(id, r.aggregate_id(&dealer("D001"), "customer"));
    }
}
