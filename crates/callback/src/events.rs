//! Task events to and from protobuf, and the stream a task lives on.

use aftercare_eventstore::{DealerId, EventData, RecordedEvent, StoreError, StreamId};
use aftercare_proto::calendar::{read_instant as instant, timestamp};
use aftercare_proto::callback::v1 as pb;
use aftercare_runtime::command::EventCodec;
use jiff::Timestamp;
use prost::Message;

use crate::domain::appointments::Booked;
use crate::domain::schedule::Window;
use crate::domain::task::{CallComplaint, Event, Outcome, Scheduled};
use crate::domain::{AttemptResult, Kind};

pub use aftercare_proto::aggregates::CALLBACK_TASK as AGGREGATE;
pub use aftercare_proto::event_types::callback::{
    ATTEMPT_RECORDED, LEAD_REPORT_MISSED, OUTCOME_RECORDED, SLOT_BOOKED, TASK_CLAIMED,
    TASK_REASSIGNED, TASK_SCHEDULED,
};

/// The stream of a dealer's day of appointments.
pub const APPOINTMENT_DAY: &str = "appointment-day";

pub use aftercare_proto::sealed::callback_task as subject;

pub fn day_stream(dealer: &DealerId, day: jiff::civil::Date) -> Result<StreamId, StoreError> {
    StreamId::new(
        dealer.clone(),
        APPOINTMENT_DAY,
        day.strftime("%Y-%m-%d").to_string(),
    )
}

/// A day's bookings to and from protobuf.
pub struct DayCodec {
    pub day: jiff::civil::Date,
}

impl EventCodec<Booked> for DayCodec {
    fn encode(&self, e: &Booked) -> EventData {
        let bytes = pb::SlotBooked {
            task_id: e.task_id.clone(),
            date: Some(aftercare_proto::calendar::to_date(self.day)),
            slot: e.slot,
            vehicle_id: e.vehicle_id.clone(),
            at: ts(&e.at),
        }
        .encode_to_vec();
        EventData::new(SLOT_BOOKED, bytes).occurred_at(e.at)
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<Booked, String> {
        let e: pb::SlotBooked = message(recorded)?;
        Ok(Booked {
            task_id: e.task_id,
            slot: e.slot,
            vehicle_id: e.vehicle_id,
            at: from_ts(e.at.as_ref(), "at")?,
        })
    }
}

pub fn stream(dealer: &DealerId, task_id: &str) -> Result<StreamId, StoreError> {
    StreamId::new(dealer.clone(), AGGREGATE, task_id)
}

pub fn kind_to(kind: Kind) -> pb::TaskKind {
    match kind {
        Kind::PostSale => pb::TaskKind::PostSale,
        Kind::PostService => pb::TaskKind::PostService,
        Kind::LeadFirstContact => pb::TaskKind::LeadFirstContact,
        Kind::Winback => pb::TaskKind::Winback,
        Kind::ChurnRisk => pb::TaskKind::ChurnRisk,
        Kind::FirstServiceReminder => pb::TaskKind::FirstServiceReminder,
        Kind::MaintenanceReminder => pb::TaskKind::MaintenanceReminder,
        Kind::InsuranceReminder => pb::TaskKind::InsuranceReminder,
        Kind::Birthday => pb::TaskKind::Birthday,
        Kind::InspectionReminder => pb::TaskKind::InspectionReminder,
    }
}

pub fn kind_from(value: i32) -> Option<Kind> {
    Some(match pb::TaskKind::try_from(value).ok()? {
        pb::TaskKind::Unspecified => return None,
        pb::TaskKind::PostSale => Kind::PostSale,
        pb::TaskKind::PostService => Kind::PostService,
        pb::TaskKind::LeadFirstContact => Kind::LeadFirstContact,
        pb::TaskKind::Winback => Kind::Winback,
        pb::TaskKind::ChurnRisk => Kind::ChurnRisk,
        pb::TaskKind::FirstServiceReminder => Kind::FirstServiceReminder,
        pb::TaskKind::MaintenanceReminder => Kind::MaintenanceReminder,
        pb::TaskKind::InsuranceReminder => Kind::InsuranceReminder,
        pb::TaskKind::Birthday => Kind::Birthday,
        pb::TaskKind::InspectionReminder => Kind::InspectionReminder,
    })
}

pub fn result_to(result: AttemptResult) -> pb::AttemptResult {
    match result {
        AttemptResult::NoAnswer => pb::AttemptResult::NoAnswer,
        AttemptResult::Busy => pb::AttemptResult::Busy,
        AttemptResult::WrongNumber => pb::AttemptResult::WrongNumber,
        AttemptResult::Refused => pb::AttemptResult::Refused,
        AttemptResult::Reached => pb::AttemptResult::Reached,
    }
}

pub fn result_from(value: i32) -> Option<AttemptResult> {
    Some(match pb::AttemptResult::try_from(value).ok()? {
        pb::AttemptResult::Unspecified => return None,
        pb::AttemptResult::NoAnswer => AttemptResult::NoAnswer,
        pb::AttemptResult::Busy => AttemptResult::Busy,
        pb::AttemptResult::WrongNumber => AttemptResult::WrongNumber,
        pb::AttemptResult::Refused => AttemptResult::Refused,
        pb::AttemptResult::Reached => AttemptResult::Reached,
    })
}

fn ts(t: &Timestamp) -> Option<prost_types::Timestamp> {
    Some(timestamp(*t))
}

fn from_ts(t: Option<&prost_types::Timestamp>, what: &str) -> Result<Timestamp, String> {
    t.and_then(instant)
        .ok_or_else(|| format!("{what} missing or invalid"))
}

pub fn appointment_to(appointment: Option<(jiff::civil::Date, u32)>) -> Option<pb::Appointment> {
    appointment.map(|(day, slot)| pb::Appointment {
        date: Some(aftercare_proto::calendar::to_date(day)),
        slot,
    })
}

/// The task id an event belongs to is its stream's id; events carry it too.
pub struct TaskCodec {
    pub task_id: String,
}

impl EventCodec<Event> for TaskCodec {
    fn encode(&self, event: &Event) -> EventData {
        let task_id = self.task_id.clone();
        let (kind, bytes, at) = match event {
            Event::Scheduled(t) => (
                TASK_SCHEDULED,
                pb::TaskScheduled {
                    task_id,
                    kind: kind_to(t.kind) as i32,
                    customer_id: t.customer_id.clone(),
                    vehicle_id: t.vehicle_id.clone(),
                    cause: t.cause.clone(),
                    opens_at: ts(&t.window.opens_at),
                    due_at: ts(&t.window.due_at),
                    closes_at: ts(&t.window.closes_at),
                }
                .encode_to_vec(),
                Timestamp::now(),
            ),
            Event::Claimed { agent, at } => (
                TASK_CLAIMED,
                pb::TaskClaimed {
                    task_id,
                    agent: agent.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::Reassigned { from, to, by, at } => (
                TASK_REASSIGNED,
                pb::TaskReassigned {
                    task_id,
                    from_agent: from.clone(),
                    to_agent: to.clone(),
                    by: by.clone(),
                    at: ts(at),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::Attempted {
                result,
                agent,
                at,
                attempt,
                retry_at,
                closed,
                note,
                customer_id,
                phone,
                lead_id,
            } => (
                ATTEMPT_RECORDED,
                pb::AttemptRecorded {
                    task_id,
                    result: result_to(*result) as i32,
                    agent: agent.clone(),
                    at: ts(at),
                    attempt: *attempt,
                    retry_at: retry_at.as_ref().and_then(ts),
                    closed: *closed,
                    note: note.clone(),
                    customer_id: customer_id.clone(),
                    phone: phone.clone(),
                    lead_id: lead_id.clone(),
                }
                .encode_to_vec(),
                *at,
            ),
            Event::ReportMissed {
                lead_id,
                oem_reference,
                due_at,
            } => (
                LEAD_REPORT_MISSED,
                pb::LeadReportMissed {
                    task_id,
                    lead_id: lead_id.clone(),
                    oem_reference: oem_reference.clone(),
                    due_at: ts(due_at),
                }
                .encode_to_vec(),
                Timestamp::now(),
            ),
            Event::OutcomeRecorded(o) => (
                OUTCOME_RECORDED,
                pb::OutcomeRecorded {
                    task_id,
                    agent: o.agent.clone(),
                    at: ts(&o.at),
                    satisfaction: o.satisfaction.map_or(0, i32::from),
                    appointment: appointment_to(o.appointment),
                    churn_reason: o.churn_reason.map_or(0, |r| r as i32),
                    note: o.note.clone(),
                    complaint: o
                        .complaint
                        .as_ref()
                        .map(|c| c.description.clone())
                        .unwrap_or_default(),
                    complaint_customer_id: o
                        .complaint
                        .as_ref()
                        .map(|c| c.customer_id.clone())
                        .unwrap_or_default(),
                    complaint_vin: o
                        .complaint
                        .as_ref()
                        .map(|c| c.vin.clone())
                        .unwrap_or_default(),
                }
                .encode_to_vec(),
                o.at,
            ),
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

/// A task event from its stored form.
pub fn decode(recorded: &RecordedEvent) -> Result<Event, String> {
    Ok(match recorded.data.event_type.as_str() {
        TASK_SCHEDULED => {
            let e: pb::TaskScheduled = message(recorded)?;
            Event::Scheduled(Scheduled {
                kind: kind_from(e.kind).ok_or("unknown task kind")?,
                customer_id: e.customer_id,
                vehicle_id: e.vehicle_id,
                cause: e.cause,
                window: Window {
                    opens_at: from_ts(e.opens_at.as_ref(), "opens_at")?,
                    due_at: from_ts(e.due_at.as_ref(), "due_at")?,
                    closes_at: from_ts(e.closes_at.as_ref(), "closes_at")?,
                },
            })
        }
        TASK_CLAIMED => {
            let e: pb::TaskClaimed = message(recorded)?;
            Event::Claimed {
                agent: e.agent,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        TASK_REASSIGNED => {
            let e: pb::TaskReassigned = message(recorded)?;
            Event::Reassigned {
                from: e.from_agent,
                to: e.to_agent,
                by: e.by,
                at: from_ts(e.at.as_ref(), "at")?,
            }
        }
        ATTEMPT_RECORDED => {
            let e: pb::AttemptRecorded = message(recorded)?;
            Event::Attempted {
                result: result_from(e.result).ok_or("unknown attempt result")?,
                agent: e.agent,
                at: from_ts(e.at.as_ref(), "at")?,
                attempt: e.attempt,
                retry_at: e.retry_at.as_ref().and_then(instant),
                closed: e.closed,
                note: e.note,
                customer_id: e.customer_id,
                phone: e.phone,
                lead_id: e.lead_id,
            }
        }
        OUTCOME_RECORDED => {
            let e: pb::OutcomeRecorded = message(recorded)?;
            let appointment = match e.appointment {
                Some(a) => Some((
                    aftercare_proto::calendar::date(&a.date.unwrap_or_default())?,
                    a.slot,
                )),
                None => None,
            };
            Event::OutcomeRecorded(Outcome {
                agent: e.agent,
                at: from_ts(e.at.as_ref(), "at")?,
                satisfaction: u8::try_from(e.satisfaction)
                    .ok()
                    .filter(|s| (1..=5).contains(s)),
                appointment,
                churn_reason: u32::try_from(e.churn_reason).ok().filter(|r| *r > 0),
                note: e.note,
                complaint: (!e.complaint.is_empty()).then_some(CallComplaint {
                    description: e.complaint,
                    customer_id: e.complaint_customer_id,
                    vin: e.complaint_vin,
                }),
            })
        }
        LEAD_REPORT_MISSED => {
            let e: pb::LeadReportMissed = message(recorded)?;
            Event::ReportMissed {
                lead_id: e.lead_id,
                oem_reference: e.oem_reference,
                due_at: from_ts(e.due_at.as_ref(), "due_at")?,
            }
        }
        other => return Err(format!("{other} is not a callback task event")),
    })
}
