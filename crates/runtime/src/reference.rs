//! The ids a command names (a buyer, an owner, a referrer, a vehicle) must be
//! things of the caller's dealer. They are looked up in the event log under that
//! dealer, never in a read model (which may lag behind a create made a moment
//! ago) and never across dealers, so another dealer's id is answered exactly as
//! an id that exists nowhere: nothing about the other dealer leaks.

use aftercare_eventstore::{DealerId, EventStore, StreamId};
use uuid::Uuid;

use crate::ServiceError;

/// The aggregate `id` names, checked to exist at `dealer`: `InvalidArgument` on
/// `field` when `id` is not an id at all, `NotFound` naming `field` when there is
/// no such `aggregate` at the dealer. Streams are keyed by the UUID's simple form,
/// as every aggregate of the services is.
pub async fn require(
    store: &dyn EventStore,
    dealer: &DealerId,
    aggregate: &str,
    field: &str,
    id: &str,
) -> Result<Uuid, ServiceError> {
    let uuid = Uuid::parse_str(id.trim())
        .map_err(|_| ServiceError::invalid(field, format!("is not a {aggregate} id")))?;
    let stream = StreamId::new(dealer.clone(), aggregate, uuid.simple().to_string())
        .map_err(ServiceError::from)?;
    if store.read_stream(&stream).await?.is_empty() {
        return Err(ServiceError::NotFound(format!(
            "{field}: {aggregate} {uuid} at dealer {dealer}"
        )));
    }
    Ok(uuid)
}

/// As [`require`], for an optional reference: an empty `id` is none.
pub async fn require_optional(
    store: &dyn EventStore,
    dealer: &DealerId,
    aggregate: &str,
    field: &str,
    id: &str,
) -> Result<Option<Uuid>, ServiceError> {
    if id.trim().is_empty() {
        return Ok(None);
    }
    require(store, dealer, aggregate, field, id).await.map(Some)
}
