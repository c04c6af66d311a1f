//! Ticket events to and from protobuf, and the stream a ticket lives on.

use aftercare_eventstore::{DealerId, EventData, RecordedEvent, StoreError, StreamId};
use aftercare_proto::calendar::{read_instant as instant, timestamp};
use aftercare_proto::common::v1::Money;
use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::command::EventCodec;
use jiff::Timestamp;
use prost::Message;

use crate::domain::ticket::{EscalationReason, Event};
use crate::domain::{Channel, Grade, Satisfaction};

pub use aftercare_proto::event_types::complaint::{
    COMPLAINT_ACKNOWLEDGED as ACKNOWLEDGED, COMPLAINT_ASSIGNED as ASSIGNED,
    COMPLAINT_CLOSED as CLOSED, COMPLAINT_ESCALATED as ESCALATED, COMPLAINT_FILED as FILED,
    COMPLAINT_REOPENED as REOPENED, COMPLAINT_RESOLVED as RESOLVED,
};

pub use aftercare_proto::aggregates::COMPLAINT as AGGREGATE;

pub use aftercare_proto::sealed::complaint as subject;

pub fn stream(dealer: &DealerId, ticket_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), AGGREGATE, ticket_id)
}

pub fn channel_to(c: Channel) -> pb::Channel {
    match c {
        Channel::WalkIn => pb::Channel::WalkIn,
        Channel::Phone => pb::Channel::Phone,
        Channel::Callback => pb::Channel::Callback,
        Channel::OemHotline => pb::Channel::OemHotline,
        Channel::ConsumerAssociation => pb::Channel::ConsumerAssociation,
        Channel::Media => pb::Channel::Media,
        Channel::GroupHq => pb::Channel::GroupHq,
    }
}

pub fn channel_from(value: i32) -> Option<Channel> {
    Some(match pb::Channel::try_from(value).ok()? {
        pb::Channel::Unspecified => return None,
        pb::Channel::WalkIn => Channel::WalkIn,
        pb::Channel::Phone => Channel::Phone,
        pb::Channel::Callback => Channel::Callback,
        pb::Channel::OemHotline => Channel::OemHotline,
        pb::Channel::ConsumerAssociation => Channel::ConsumerAssociation,
        pb::Channel::Media => Channel::Media,
        pb::Channel::GroupHq => Channel::GroupHq,
    })
}

pub fn satisfaction_to(s: Satisfaction) -> pb::Satisfaction {
    match s {
        Satisfaction::Satisfied => pb::Satisfaction::Satisfied,
        Satisfaction::Neutral => pb::Satisfaction::Neutral,
        Satisfaction::Dissatisfied => pb::Satisfaction::Dissatisfied,
    }
}

pub fn satisfaction_from(value: i32) -> Option<Satisfaction> {
    Some(match pb::Satisfaction::try_from(value).ok()? {
        pb::Satisfaction::Unspecified => return None,
        pb::Satisfaction::Satisfied => Satisfaction::Satisfied,
        pb::Satisfaction::Neutral => Satisfaction::Neutral,
        pb::Satisfaction::Dissatisfied => Satisfaction::Dissatisfied,
    })
}

fn ts(t: &Timestamp) -> Option<prost_types::Timestamp> {
    Some(timestamp(*t))
}

fn from_ts(t: Option<&prost_types::Timestamp>, what: &str) -> Result<Timestamp, String> {
    t.and_then(instant)
        .ok_or_else(|| format!("{what} missing or invalid"))
}

fn grade(value: u32) -> Result<Grade, String> {
    Grade::new(value).ok_or_else(|| format!("grade {value} is not 1-5"))
}

/// The ticket id an event belongs to is its stream's id; events carry it too so
/// a reader without the stream (an OEM feed) knows it.
pub struct TicketCodec {
    pub ticket_id: String,
}

impl EventCodec<Event> for TicketCodec {
    fn encode(&self, event: &Event) -> EventData {
        let id = self.ticket_id.clone();
        let (kind, bytes) = match event {
            Event::Filed {
                filing_grade,
                handler,
                respond_by,
                resolve_by,
                at,
                ticket_id,
                channel,
                oem_ticket,
                customer_id,
                vin,
                description,
                product_liability,
                owner,
            } => (
                FILED,
                pb::ComplaintFiled {
                    ticket_id: ticket_id.clone(),
                    channel: channel_to(*channel) as i32,
                    oem_ticket: oem_ticket.clone().unwrap_or_default(),
                    grade: filing_grade.value(),
                    handler: handler.clone(),
                    owner: owner.clone(),
                    customer_id: customer_id.clone(),
                    vin: vin.clone(),
                    description: description.clone(),
                    product_liability: *product_liability,
                    respond_by: ts(respond_by),
                    resolve_by: ts(resolve_by),
                    filed_at: ts(at),
                }
                .encode_to_vec(),
            ),
            Event::Acknowledged { by, at } => (
                ACKNOWLEDGED,
                pb::ComplaintAcknowledged {
                    ticket_id: id,
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
            ),
            Event::Assigned { to, by, at } => (
                ASSIGNED,
                pb::ComplaintAssigned {
                    ticket_id: id,
                    to: to.clone(),
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
            ),
            Event::Escalated {
                from,
                to,
                handler,
                reason,
                respond_by,
                resolve_by,
                by,
                at,
            } => {
                let (kind, text, missed) = match reason {
                    EscalationReason::ByHand(t) => (pb::EscalationKind::ByHand, t.clone(), None),
                    EscalationReason::ComplainedAgain(t) => {
                        (pb::EscalationKind::ComplainedAgain, t.clone(), None)
                    }
                    EscalationReason::DeadlineMissed(d) => {
                        (pb::EscalationKind::DeadlineMissed, String::new(), ts(d))
                    }
                };
                (
                    ESCALATED,
                    pb::ComplaintEscalated {
                        ticket_id: id,
                        from_grade: from.value(),
                        to_grade: to.value(),
                        handler: handler.clone(),
                        kind: kind as i32,
                        reason: text,
                        missed_deadline: missed,
                        respond_by: respond_by.as_ref().and_then(ts),
                        resolve_by: ts(resolve_by),
                        by: by.clone(),
                        at: ts(at),
                    }
                    .encode_to_vec(),
                )
            }
            Event::Resolved {
                resolution,
                compensation_fen,
                by,
                at,
            } => (
                RESOLVED,
                pb::ComplaintResolved {
                    ticket_id: id,
                    resolution: resolution.clone(),
                    compensation: Some(Money {
                        fen: *compensation_fen,
                    }),
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
            ),
            Event::Closed { satisfaction, at } => (
                CLOSED,
                pb::ComplaintClosed {
                    ticket_id: id,
                    satisfaction: satisfaction_to(*satisfaction) as i32,
                    at: ts(at),
                }
                .encode_to_vec(),
            ),
            Event::Reopened {
                reason,
                resolve_by,
                by,
                at,
            } => (
                REOPENED,
                pb::ComplaintReopened {
                    ticket_id: id,
                    reason: reason.clone(),
                    resolve_by: ts(resolve_by),
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
            ),
        };
        let at = match event {
            Event::Filed { at, .. }
            | Event::Acknowledged { at, .. }
            | Event::Assigned { at, .. }
            | Event::Escalated { at, .. }
            | Event::Resolved { at, .. }
            | Event::Closed { at, .. }
            | Event::Reopened { at, .. } => *at,
        };
        EventData::new(kind, bytes).occurred_at(at)
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<Event, String> {
        decode(recorded)
    }
}

fn message<M: Message + Default>(recorded: &RecordedEvent) -> Result<M, String> {
    M::decode(recorded.data.payload.as_ref())
        .map_err(|e| format!("{}: {e}", recorded.data.event_type))
}

/// A ticket event from its stored form.
pub fn decode(recorded: &RecordedEvent) -> Result<Event, String> {
    Ok(match recorded.data.event_type.as_str() {
        FILED => {
            let e: pb::ComplaintFiled = message(recorded)?;
            Event::Filed {
                filing_grade: grade(e.grade)?,
                handler: e.handler,
                respond_by: from_ts(e.respond_by.as_ref(), "respond_by")?,
                resolve_by: from_ts(e.resolve_by.as_ref(), "resolve_by")?,
                at: from_ts(e.filed_at.as_ref(), "filed_at")?,
                ticket_id: e.ticket_id,
                channel: channel_from(e.channel).ok_or("unknown channel")?,
                oem_ticket: Some(e.oem_ticket).filter(|t| !t.is_empty()),
                customer_id: e.customer_id,
                vin: e.vin,
                description: e.description,
                product_liability: e.product_liability,
                owner: e.owner,
            }
        }
        ACKNOWLEDGED => {
            let e: pb::ComplaintAcknowledged = message(recorded)?;
            Event::Acknowledged {
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        ASSIGNED => {
            let e: pb::ComplaintAssigned = message(recorded)?;
            Event::Assigned {
                to: e.to,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        ESCALATED => {
            let e: pb::ComplaintEscalated = message(recorded)?;
            let reason = match pb::EscalationKind::try_from(e.kind) {
                Ok(pb::EscalationKind::DeadlineMissed) => EscalationReason::DeadlineMissed(
                    from_ts(e.missed_deadline.as_ref(), "missed_deadline")?,
                ),
                Ok(pb::EscalationKind::ComplainedAgain) => {
                    EscalationReason::ComplainedAgain(e.reason)
                }
                _ => EscalationReason::ByHand(e.reason),
            };
            Event::Escalated {
                from: grade(e.from_grade)?,
                to: grade(e.to_grade)?,
                handler: e.handler,
                reason,
                respond_by: e.respond_by.as_ref().and_then(instant),
                resolve_by: from_ts(e.resolve_by.as_ref(), "resolve_by")?,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        RESOLVED => {
            let e: pb::ComplaintResolved = message(recorded)?;
            Event::Resolved {
                resolution: e.resolution,
                compensation_fen: e.compensation.map_or(0, |m| m.fen),
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        CLOSED => {
            let e: pb::ComplaintClosed = message(recorded)?;
            Event::Closed {
                satisfaction: satisfaction_from(e.satisfaction).ok_or("unknown satisfaction")?,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        REOPENED => {
            let e: pb::ComplaintReopened = message(recorded)?;
            Event::Reopened {
                reason: e.reason,
                resolve_by: from_ts(e.resolve_by.as_ref(), "resolve_by")?,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        other => return Err(format!("{other} is not a complaint event")),
    })
}
