//! Who joins and what they earn, from intake's events: a buyer, a registered
//! owner or a new owner after a transfer joins with the vehicle (the old owner
//! keeps their history and loses the vehicle); a visit's labour and parts earn
//! points; a sale with a referrer counts a referred buyer and rewards the
//! referrer. Every command's entry is derived from its cause, so a redelivery
//! or a replay enters nothing twice.

use std::sync::Arc;

use aftercare_eventstore::{DealerId, EventStore, Filter, Metadata, RecordedEvent};
use aftercare_proto::calendar::read_instant;
use aftercare_proto::event_types::intake as intake_events;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::projection::{Policy, ReactError};
use async_trait::async_trait;
use jiff::Timestamp;
use prost::Message;

use crate::config::LoyaltyDealers;
use crate::domain::Source;
use crate::domain::member::{Command, Identity, Member, Rejection, Terms};
use crate::events::MemberCodec;
use crate::membership::{self, Membership};

pub const NAME: &str = "loyalty_owners";

pub struct Owners {
    pub store: Arc<dyn EventStore>,
    pub dealers: Arc<LoyaltyDealers>,
}

/// What a command did to a member: which member, and the runtime's result.
pub type Done = (Membership, aftercare_runtime::command::Executed<Member>);

/// Runs `command` on the member of `customer_id` at `dealer` (linking the
/// customer file to its group's member the first time, in a group-wide club).
pub async fn run(
    store: &dyn EventStore,
    dealers: &LoyaltyDealers,
    dealer: &DealerId,
    customer_id: &str,
    command: Command,
    metadata: &Metadata,
) -> Result<Done, CommandError<Rejection>> {
    let membership = membership::resolve(store, dealers, dealer, customer_id, metadata)
        .await
        .map_err(CommandError::Store)?;
    let command = command.for_member(&membership.member_id);
    let done = run_member(store, dealers, &membership, command, metadata).await?;
    Ok((membership, done))
}

/// Runs `command` on a member where its club keeps it.
pub async fn run_member(
    store: &dyn EventStore,
    dealers: &LoyaltyDealers,
    membership: &Membership,
    command: Command,
    metadata: &Metadata,
) -> Result<aftercare_runtime::command::Executed<Member>, CommandError<Rejection>> {
    let codec = MemberCodec {
        member_id: membership.member_id.clone(),
        zone: dealers.rules(membership.club.as_str()).time_zone.clone(),
    };
    let stream = membership.stream().map_err(CommandError::Store)?;
    execute::<Member>(store, &stream, &codec, command, |e| {
        e.with_metadata(metadata.clone())
    })
    .await
}

impl Owners {
    fn terms(&self, dealer: &DealerId, at: Timestamp) -> Terms {
        let rules = self.dealers.rules(dealer.as_str());
        Terms {
            at,
            today: at.to_zoned(rules.time_zone.clone()).date(),
            rules: rules.loyalty.clone(),
        }
    }

    /// The commands an intake event asks for: (customer, command).
    fn commands(&self, event: &RecordedEvent) -> Result<Vec<(String, Command)>, ReactError> {
        let poison =
            |e: prost::DecodeError| ReactError::Poison(format!("{}: {e}", event.data.event_type));
        let payload = event.data.payload.as_ref();
        let dealer = event.dealer();
        // The member id is the customer file's member's, found when it runs.
        let who = |customer: &str| Identity {
            member_id: String::new(),
            customer_id: customer.to_owned(),
        };
        let at = event.data.occurred_at;
        Ok(match event.data.event_type.as_str() {
            intake_events::VEHICLE_SOLD => {
                let e = intake::VehicleSold::decode(payload).map_err(poison)?;
                let mut out = Vec::new();
                if !e.buyer_customer_id.is_empty() {
                    out.push((
                        e.buyer_customer_id.clone(),
                        Command::LinkVehicle {
                            who: who(&e.buyer_customer_id),
                            vehicle_id: e.vehicle_id.clone(),
                            terms: self.terms(dealer, at),
                        },
                    ));
                }
                if !e.referrer_customer_id.is_empty()
                    && e.referrer_customer_id != e.buyer_customer_id
                {
                    let rules = &self.dealers.rules(dealer.as_str()).loyalty;
                    out.push((
                        e.referrer_customer_id.clone(),
                        Command::Referral {
                            who: who(&e.referrer_customer_id),
                            sale_id: e.sale_id.clone(),
                            points: i64::from(rules.referral_points),
                            terms: self.terms(dealer, at),
                        },
                    ));
                }
                out
            }
            intake_events::VEHICLE_REGISTERED => {
                let e = intake::VehicleRegistered::decode(payload).map_err(poison)?;
                if e.owner_customer_id.is_empty() {
                    return Ok(Vec::new());
                }
                vec![(
                    e.owner_customer_id.clone(),
                    Command::LinkVehicle {
                        who: who(&e.owner_customer_id),
                        vehicle_id: e.vehicle_id,
                        terms: self.terms(dealer, at),
                    },
                )]
            }
            intake_events::VEHICLE_OWNERSHIP_TRANSFERRED => {
                let e = intake::VehicleOwnershipTransferred::decode(payload).map_err(poison)?;
                let mut out = Vec::new();
                if !e.from_customer_id.is_empty() {
                    out.push((
                        e.from_customer_id.clone(),
                        Command::UnlinkVehicle {
                            vehicle_id: e.vehicle_id.clone(),
                            terms: self.terms(dealer, at),
                        },
                    ));
                }
                if !e.to_customer_id.is_empty() {
                    out.push((
                        e.to_customer_id.clone(),
                        Command::LinkVehicle {
                            who: who(&e.to_customer_id),
                            vehicle_id: e.vehicle_id,
                            terms: self.terms(dealer, at),
                        },
                    ));
                }
                out
            }
            intake_events::VISIT_RECORDED => {
                let e = intake::VisitRecorded::decode(payload).map_err(poison)?;
                if e.customer_id.is_empty() {
                    return Ok(Vec::new());
                }
                let rules = &self.dealers.rules(dealer.as_str()).loyalty;
                let (labour, parts) = (e.labour.map_or(0, |m| m.fen), e.parts.map_or(0, |m| m.fen));
                let points = rules.visit_points(labour, parts);
                let closed = e.closed_at.as_ref().and_then(read_instant).unwrap_or(at);
                vec![(
                    e.customer_id.clone(),
                    Command::Earn {
                        who: who(&e.customer_id),
                        entry_id: format!("visit/{}", e.visit_id),
                        source: Source::Visit,
                        reference: e.visit_id.clone(),
                        points,
                        from_spend: true,
                        note: format!(
                            "{}: labour {}.{:02}, parts {}.{:02}",
                            e.repair_order,
                            labour / 100,
                            labour % 100,
                            parts / 100,
                            parts % 100
                        ),
                        terms: self.terms(dealer, closed),
                    },
                )]
            }
            _ => Vec::new(),
        })
    }
}

#[async_trait]
impl Policy for Owners {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::VEHICLE)
            .or_aggregate(aftercare_proto::aggregates::VISIT)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        let metadata = Metadata {
            actor: format!("system:{NAME}"),
            causation_id: Some(event.data.event_id),
            // The reaction's own span, within the event's trace.
            traceparent: aftercare_runtime::telemetry::current_traceparent()
                .or_else(|| event.data.metadata.traceparent.clone()),
            ..event.data.metadata.clone()
        };
        for (customer, command) in self.commands(event)? {
            match run(
                self.store.as_ref(),
                &self.dealers,
                event.dealer(),
                &customer,
                command,
                &metadata,
            )
            .await
            {
                // A former owner who never joined has nothing to lose.
                Ok(_) | Err(CommandError::Rejected(Rejection::NotMember)) => {}
                Err(CommandError::Rejected(other)) => {
                    return Err(ReactError::Poison(other.to_string()));
                }
                Err(e) => return Err(ReactError::Transient(e.to_string())),
            }
        }
        Ok(())
    }
}
