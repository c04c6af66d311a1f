//! Which member a customer file is, and where that member is kept.
//!
//! A dealer with a club of its own keeps one member per customer file: the
//! member id derives from the dealer and the customer. In a group-wide club
//! (`club = "D001"` in the tables of the group's dealers) the same person at
//! several dealers is one member, kept at the club's dealer: the first time a
//! customer file meets the club, its link is written once (`MemberLinked`,
//! on the customer's link stream, conditionally on the stream not existing),
//! to the member of their mobile number at the club. Every later event of that
//! customer file finds the link, so a changed number never splits a member,
//! and two replicas linking at once agree (the loser of the race reads the
//! winner's link).

use aftercare_eventstore::{DealerId, EventData, EventStore, Expected, StoreError, StreamId};
use aftercare_proto::aggregates::{CUSTOMER, MEMBER_LINK};
use aftercare_proto::event_types::intake as intake_events;
use aftercare_proto::event_types::loyalty::MEMBER_LINKED;
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::loyalty::v1 as pb;
use prost::Message;

use crate::config::{LoyaltyDealers, club_of};
use crate::domain::identity::{FileFact, identifying_mobile};
use crate::events::{member_id, stream};

/// A customer file's member: its id and the dealer whose club keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub club: DealerId,
    pub member_id: String,
}

impl Membership {
    pub fn stream(&self) -> Result<StreamId, StoreError> {
        stream(&self.club, &self.member_id)
    }
}

/// The member of a person by their mobile number, in the club kept at `club`.
pub fn club_member_id(club: &DealerId, mobile: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("aftercare/loyalty/club/{club}/mobile/{mobile}").as_bytes(),
    )
    .to_string()
}

fn customer_key(customer_id: &str) -> String {
    uuid::Uuid::parse_str(customer_id)
        .map_or_else(|_| customer_id.to_owned(), |u| u.simple().to_string())
}

fn link_stream(dealer: &DealerId, customer_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), MEMBER_LINK, customer_key(customer_id))
}

/// The member `customer_id` of `dealer` is, if their link was written; the
/// member of their own file when the dealer's club is not group-wide.
pub async fn find(
    store: &dyn EventStore,
    dealers: &LoyaltyDealers,
    dealer: &DealerId,
    customer_id: &str,
) -> Result<Option<Membership>, StoreError> {
    if dealers.rules(dealer.as_str()).loyalty.club.is_none() {
        return Ok(Some(own(dealer, customer_id)));
    }
    read_link(store, dealer, customer_id).await
}

/// The member `customer_id` of `dealer` is, linking the customer file to the
/// club's member the first time.
pub async fn resolve(
    store: &dyn EventStore,
    dealers: &LoyaltyDealers,
    dealer: &DealerId,
    customer_id: &str,
    metadata: &aftercare_eventstore::Metadata,
) -> Result<Membership, StoreError> {
    if dealers.rules(dealer.as_str()).loyalty.club.is_none() {
        return Ok(own(dealer, customer_id));
    }
    if let Some(found) = read_link(store, dealer, customer_id).await? {
        return Ok(found);
    }
    let chosen = choose(store, dealers, dealer, customer_id).await?;
    let linked = pb::MemberLinked {
        customer_id: customer_id.to_owned(),
        member_id: chosen.member_id.clone(),
        club: chosen.club.to_string(),
        at: Some(aftercare_proto::calendar::timestamp(jiff::Timestamp::now())),
    };
    let event =
        EventData::new(MEMBER_LINKED, linked.encode_to_vec()).with_metadata(metadata.clone());
    match store
        .append(
            &link_stream(dealer, customer_id)?,
            Expected::NoStream,
            vec![event],
        )
        .await
    {
        Ok(_) => Ok(chosen),
        // Another replica linked first: its link is the one.
        Err(e) if e.is_conflict() => read_link(store, dealer, customer_id).await?.ok_or(e),
        Err(e) => Err(e),
    }
}

fn own(dealer: &DealerId, customer_id: &str) -> Membership {
    Membership {
        club: dealer.clone(),
        member_id: member_id(dealer.as_str(), customer_id),
    }
}

async fn read_link(
    store: &dyn EventStore,
    dealer: &DealerId,
    customer_id: &str,
) -> Result<Option<Membership>, StoreError> {
    let events = store
        .read_stream(&link_stream(dealer, customer_id)?)
        .await?;
    let Some(first) = events.events.first() else {
        return Ok(None);
    };
    let link =
        pb::MemberLinked::decode(first.data.payload.as_ref()).map_err(|e| StoreError::Corrupt {
            position: first.position,
            reason: format!("{MEMBER_LINK} {}: {e}", first.stream),
        })?;
    Ok(Some(Membership {
        club: DealerId::parse(link.club)?,
        member_id: link.member_id,
    }))
}

/// Where a customer file not yet linked belongs: the member it already was
/// before its dealer joined the group's club (nothing earned is left behind),
/// else the club's member of its mobile number, else a member of its own at
/// the club.
async fn choose(
    store: &dyn EventStore,
    dealers: &LoyaltyDealers,
    dealer: &DealerId,
    customer_id: &str,
) -> Result<Membership, StoreError> {
    let before = own(dealer, customer_id);
    if !store.read_stream(&before.stream()?).await?.is_empty() {
        return Ok(before);
    }
    let club = club_of(dealers, dealer);
    let member_id = match mobile(store, dealer, customer_id).await? {
        Some(number) => club_member_id(&club, &number),
        None => member_id(dealer.as_str(), customer_id),
    };
    Ok(Membership { club, member_id })
}

/// The mobile number that identifies the customer file now
/// ([`identifying_mobile`]).
async fn mobile(
    store: &dyn EventStore,
    dealer: &DealerId,
    customer_id: &str,
) -> Result<Option<String>, StoreError> {
    let file = store
        .read_stream(&StreamId::new(
            dealer.clone(),
            CUSTOMER,
            customer_key(customer_id),
        )?)
        .await?;
    let numbers = |profile: Option<intake::CustomerProfile>| {
        profile.map(|p| {
            FileFact::Numbers(
                p.phones
                    .into_iter()
                    .map(|phone| {
                        let mobile = phone.kind == intake::PhoneKind::Mobile as i32;
                        (phone.number, mobile)
                    })
                    .collect(),
            )
        })
    };
    let facts: Vec<FileFact> = file
        .events
        .iter()
        .filter_map(|event| {
            let payload = event.data.payload.as_ref();
            match event.data.event_type.as_str() {
                intake_events::CUSTOMER_REGISTERED => numbers(
                    intake::CustomerRegistered::decode(payload)
                        .ok()
                        .and_then(|e| e.profile),
                ),
                intake_events::CUSTOMER_UPDATED => numbers(
                    intake::CustomerUpdated::decode(payload)
                        .ok()
                        .and_then(|e| e.profile),
                ),
                intake_events::PHONE_REPORTED_WRONG => intake::PhoneReportedWrong::decode(payload)
                    .ok()
                    .map(|e| FileFact::ReportedWrong(e.number)),
                _ => None,
            }
        })
        .collect();
    Ok(identifying_mobile(&facts))
}
