//! Member events to and from protobuf, and the stream a member lives on.

use aftercare_eventstore::{DealerId, EventData, RecordedEvent, StoreError, StreamId};
use aftercare_proto::calendar::{read_instant as instant, timestamp};
use aftercare_proto::loyalty::v1 as pb;
use aftercare_runtime::command::EventCodec;
use jiff::Timestamp;
use prost::Message;

use crate::domain::member::Event;
use crate::domain::{Card, Source};

pub use aftercare_proto::aggregates::MEMBER as AGGREGATE;
pub use aftercare_proto::event_types::loyalty::{
    MEMBER_JOINED, MEMBER_LINKED, POINTS_ADJUSTED, POINTS_EARNED, POINTS_EXPIRED, POINTS_REDEEMED,
    REFERRAL_COUNTED, TIER_CHANGED, VEHICLE_LINKED, VEHICLE_UNLINKED, VIP_SET,
};

/// A customer's member id at a dealer: one member per customer and dealer.
pub fn member_id(dealer: &str, customer_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("aftercare/loyalty/{dealer}/{customer_id}").as_bytes(),
    )
    .to_string()
}

pub fn stream(dealer: &DealerId, member_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), AGGREGATE, member_id)
}

pub fn card_to(card: Card) -> pb::Card {
    match card {
        Card::Prospect => pb::Card::Prospect,
        Card::Green => pb::Card::Green,
        Card::GreenOneStar => pb::Card::GreenOneStar,
        Card::GreenTwoStar => pb::Card::GreenTwoStar,
        Card::Gold => pb::Card::Gold,
    }
}

pub fn card_from(value: i32) -> Option<Card> {
    Some(match pb::Card::try_from(value).ok()? {
        pb::Card::Unspecified => return None,
        pb::Card::Prospect => Card::Prospect,
        pb::Card::Green => Card::Green,
        pb::Card::GreenOneStar => Card::GreenOneStar,
        pb::Card::GreenTwoStar => Card::GreenTwoStar,
        pb::Card::Gold => Card::Gold,
    })
}

pub fn source_to(source: Source) -> pb::PointsSource {
    match source {
        Source::Visit => pb::PointsSource::Visit,
        Source::Referral => pb::PointsSource::Referral,
        Source::Activity => pb::PointsSource::Activity,
    }
}

fn source_from(value: i32) -> Option<Source> {
    Some(match pb::PointsSource::try_from(value).ok()? {
        pb::PointsSource::Unspecified => return None,
        pb::PointsSource::Visit => Source::Visit,
        pb::PointsSource::Referral => Source::Referral,
        pb::PointsSource::Activity => Source::Activity,
    })
}

fn ts(t: &Timestamp) -> Option<prost_types::Timestamp> {
    Some(timestamp(*t))
}

fn from_ts(t: Option<&prost_types::Timestamp>, what: &str) -> Result<Timestamp, String> {
    t.and_then(instant)
        .ok_or_else(|| format!("{what} missing or invalid"))
}

/// The member id an event belongs to is its stream's id; events carry it too.
pub struct MemberCodec {
    pub member_id: String,
    /// The dealer's time zone: an earning's day at the dealer travels as its
    /// instant.
    pub zone: jiff::tz::TimeZone,
}

impl EventCodec<Event> for MemberCodec {
    fn encode(&self, event: &Event) -> EventData {
        let member_id = self.member_id.clone();
        let (kind, bytes, at) = match event {
            Event::Joined {
                customer_id,
                card,
                at,
                ..
            } => (
                MEMBER_JOINED,
                pb::MemberJoined {
                    member_id,
                    customer_id: customer_id.clone(),
                    card: card_to(*card) as i32,
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::VehicleLinked { vehicle_id, at } => (
                VEHICLE_LINKED,
                pb::VehicleLinked {
                    member_id,
                    vehicle_id: vehicle_id.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::VehicleUnlinked { vehicle_id, at } => (
                VEHICLE_UNLINKED,
                pb::VehicleUnlinked {
                    member_id,
                    vehicle_id: vehicle_id.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::VipSet { reason, by, at } => (
                VIP_SET,
                pb::VipSet {
                    member_id,
                    reason: reason.clone(),
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::ReferralCounted { sale_id, at } => (
                REFERRAL_COUNTED,
                pb::ReferralCounted {
                    member_id,
                    sale_id: sale_id.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::Earned {
                entry_id,
                source,
                reference,
                points,
                from_spend,
                note,
                at,
                ..
            } => (
                POINTS_EARNED,
                pb::PointsEarned {
                    member_id,
                    entry_id: entry_id.clone(),
                    source: source_to(*source) as i32,
                    reference: reference.clone(),
                    points: *points,
                    from_spend: *from_spend,
                    at: ts(at),
                    note: note.clone(),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::Redeemed {
                entry_id,
                points,
                item,
                partner_id,
                key,
                by,
                value_fen,
                at,
            } => (
                POINTS_REDEEMED,
                pb::PointsRedeemed {
                    member_id,
                    entry_id: entry_id.clone(),
                    points: *points,
                    item: item.clone(),
                    partner_id: partner_id.clone(),
                    key: key.clone(),
                    by: by.clone(),
                    at: ts(at),
                    value_fen: *value_fen,
                }
                .encode_to_vec(),
                *at,
            ),
            Event::Adjusted {
                entry_id,
                points,
                reason,
                by,
                at,
            } => (
                POINTS_ADJUSTED,
                pb::PointsAdjusted {
                    member_id,
                    entry_id: entry_id.clone(),
                    points: *points,
                    reason: reason.clone(),
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::Expired {
                entry_id,
                points,
                at,
            } => (
                POINTS_EXPIRED,
                pb::PointsExpired {
                    member_id,
                    entry_id: entry_id.clone(),
                    points: *points,
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::TierChanged {
                from,
                to,
                reason,
                at,
            } => (
                TIER_CHANGED,
                pb::TierChanged {
                    member_id,
                    from: card_to(*from) as i32,
                    to: card_to(*to) as i32,
                    reason: reason.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
        };
        EventData::new(kind, bytes).occurred_at(at)
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<Event, String> {
        decode(recorded, &self.zone)
    }
}

fn message<M: Message + Default>(recorded: &RecordedEvent) -> Result<M, String> {
    M::decode(recorded.data.payload.as_ref())
        .map_err(|e| format!("{}: {e}", recorded.data.event_type))
}

/// A member event from its stored form; an earning's day is its instant's day
/// in `zone` (the dealer's).
pub fn decode(recorded: &RecordedEvent, zone: &jiff::tz::TimeZone) -> Result<Event, String> {
    Ok(match recorded.data.event_type.as_str() {
        MEMBER_JOINED => {
            let e: pb::MemberJoined = message(recorded)?;
            Event::Joined {
                member_id: e.member_id,
                customer_id: e.customer_id,
                card: card_from(e.card).ok_or("unknown card")?,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        VEHICLE_LINKED => {
            let e: pb::VehicleLinked = message(recorded)?;
            Event::VehicleLinked {
                vehicle_id: e.vehicle_id,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        VEHICLE_UNLINKED => {
            let e: pb::VehicleUnlinked = message(recorded)?;
            Event::VehicleUnlinked {
                vehicle_id: e.vehicle_id,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        VIP_SET => {
            let e: pb::VipSet = message(recorded)?;
            Event::VipSet {
                reason: e.reason,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        REFERRAL_COUNTED => {
            let e: pb::ReferralCounted = message(recorded)?;
            Event::ReferralCounted {
                sale_id: e.sale_id,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        POINTS_EARNED => {
            let e: pb::PointsEarned = message(recorded)?;
            let at = from_ts(e.at.as_ref(), "at")?;
            Event::Earned {
                entry_id: e.entry_id,
                source: source_from(e.source).ok_or("unknown points source")?,
                reference: e.reference,
                points: e.points,
                from_spend: e.from_spend,
                note: e.note,
                at,
                on: at.to_zoned(zone.clone()).date(),
            }
        }
        POINTS_REDEEMED => {
            let e: pb::PointsRedeemed = message(recorded)?;
            Event::Redeemed {
                entry_id: e.entry_id,
                points: e.points,
                item: e.item,
                partner_id: e.partner_id,
                key: e.key,
                by: e.by,
                value_fen: e.value_fen,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        POINTS_ADJUSTED => {
            let e: pb::PointsAdjusted = message(recorded)?;
            Event::Adjusted {
                entry_id: e.entry_id,
                points: e.points,
                reason: e.reason,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        POINTS_EXPIRED => {
            let e: pb::PointsExpired = message(recorded)?;
            Event::Expired {
                entry_id: e.entry_id,
                points: e.points,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        TIER_CHANGED => {
            let e: pb::TierChanged = message(recorded)?;
            Event::TierChanged {
                from: card_from(e.from).ok_or("unknown card")?,
                to: card_from(e.to).ok_or("unknown card")?,
                reason: e.reason,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        other => return Err(format!("{other} is not a member event")),
    })
}

pub use aftercare_proto::aggregates::PARTNER;
pub use aftercare_proto::event_types::loyalty::{PARTNER_REGISTERED, STATEMENT_SETTLED};

pub fn partner_stream(dealer: &DealerId, partner_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), PARTNER, partner_id)
}

/// Partner events to and from protobuf.
pub struct PartnerCodec;

impl EventCodec<crate::domain::partner::Event> for PartnerCodec {
    fn encode(&self, event: &crate::domain::partner::Event) -> EventData {
        use crate::domain::partner::Event as E;
        match event {
            E::Registered {
                partner_id,
                name,
                by,
                at,
            } => EventData::new(
                PARTNER_REGISTERED,
                pb::PartnerRegistered {
                    partner_id: partner_id.clone(),
                    name: name.clone(),
                    at: ts(at),
                    by: by.clone(),
                }
                .encode_to_vec(),
            )
            .occurred_at(*at),
            E::Settled(s) => EventData::new(
                STATEMENT_SETTLED,
                pb::StatementSettled {
                    partner_id: String::new(),
                    month: s.month.clone(),
                    redemptions: s.redemptions,
                    points: s.points,
                    value_fen: s.value_fen,
                    by: s.by.clone(),
                    at: ts(&s.at),
                }
                .encode_to_vec(),
            )
            .occurred_at(s.at),
        }
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<crate::domain::partner::Event, String> {
        decode_partner(recorded)
    }
}

pub fn decode_partner(recorded: &RecordedEvent) -> Result<crate::domain::partner::Event, String> {
    use crate::domain::partner::{Event as E, Settlement};
    Ok(match recorded.data.event_type.as_str() {
        PARTNER_REGISTERED => {
            let e: pb::PartnerRegistered = message(recorded)?;
            E::Registered {
                partner_id: e.partner_id,
                name: e.name,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        STATEMENT_SETTLED => {
            let e: pb::StatementSettled = message(recorded)?;
            E::Settled(Settlement {
                month: e.month,
                redemptions: e.redemptions,
                points: e.points,
                value_fen: e.value_fen,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            })
        }
        other => return Err(format!("{other} is not a partner event")),
    })
}
