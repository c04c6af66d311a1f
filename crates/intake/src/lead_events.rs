//! Lead events as stored (`aftercare.intake.v1` messages).

use aftercare_eventstore::{EventData, RecordedEvent};
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::EventCodec;
use prost::Message;

use crate::domain::lead::{Captured, LeadEvent, LeadSource};
use crate::domain::phone::Phone;
use crate::events::{instant, timestamp};

pub use aftercare_proto::event_types::intake::{
    LEAD_CAPTURED, LEAD_CONVERTED, LEAD_LOST, LEAD_VERIFIED,
};

pub struct LeadCodec;

pub fn source_to(source: LeadSource) -> pb::LeadSource {
    match source {
        LeadSource::Hotline => pb::LeadSource::Hotline,
        LeadSource::Web => pb::LeadSource::Web,
        LeadSource::Referral => pb::LeadSource::Referral,
        LeadSource::WalkIn => pb::LeadSource::WalkIn,
        LeadSource::Event => pb::LeadSource::Event,
        LeadSource::Oem => pb::LeadSource::Oem,
    }
}

pub fn source_from(value: i32) -> Option<LeadSource> {
    match pb::LeadSource::try_from(value).ok()? {
        pb::LeadSource::Unspecified => None,
        pb::LeadSource::Hotline => Some(LeadSource::Hotline),
        pb::LeadSource::Web => Some(LeadSource::Web),
        pb::LeadSource::Referral => Some(LeadSource::Referral),
        pb::LeadSource::WalkIn => Some(LeadSource::WalkIn),
        pb::LeadSource::Event => Some(LeadSource::Event),
        pb::LeadSource::Oem => Some(LeadSource::Oem),
    }
}

impl EventCodec<LeadEvent> for LeadCodec {
    fn encode(&self, event: &LeadEvent) -> EventData {
        match event {
            LeadEvent::Captured(c) => EventData::new(
                LEAD_CAPTURED,
                pb::LeadCaptured {
                    lead_id: c.lead_id.clone(),
                    source: source_to(c.source) as i32,
                    name: c.name.clone(),
                    phone: Some(pb::Phone {
                        number: c.phone.as_str().to_owned(),
                        kind: 0,
                    }),
                    model_of_interest: c.model_of_interest.clone(),
                    expected_purchase: None,
                    first_contact_due_at: c.first_contact_due.map(timestamp),
                    oem_reference: c.oem_reference.clone().unwrap_or_default(),
                    oem_report_due_at: c.oem_report_due.map(timestamp),
                    referrer_customer_id: c.referrer.clone().unwrap_or_default(),
                }
                .encode_to_vec(),
            ),
            LeadEvent::Verified { lead_id } => EventData::new(
                LEAD_VERIFIED,
                pb::LeadVerified {
                    lead_id: lead_id.clone(),
                }
                .encode_to_vec(),
            ),
            LeadEvent::Converted {
                lead_id,
                customer_id,
                vehicle_id,
            } => EventData::new(
                LEAD_CONVERTED,
                pb::LeadConverted {
                    lead_id: lead_id.clone(),
                    customer_id: customer_id.clone(),
                    vehicle_id: vehicle_id.clone(),
                }
                .encode_to_vec(),
            ),
            LeadEvent::Lost { lead_id, reason } => EventData::new(
                LEAD_LOST,
                pb::LeadLost {
                    lead_id: lead_id.clone(),
                    reason: reason.clone(),
                }
                .encode_to_vec(),
            ),
        }
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<LeadEvent, String> {
        let bytes = recorded.data.payload.as_ref();
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        match recorded.data.event_type.as_str() {
            LEAD_CAPTURED => {
                let e = pb::LeadCaptured::decode(bytes).map_err(|e| e.to_string())?;
                Ok(LeadEvent::Captured(Captured {
                    lead_id: e.lead_id,
                    source: source_from(e.source).ok_or("lead without a source")?,
                    name: e.name,
                    phone: Phone::parse(&e.phone.map(|p| p.number).unwrap_or_default())
                        .map_err(|e| format!("stored phone: {e}"))?,
                    model_of_interest: e.model_of_interest,
                    first_contact_due: e.first_contact_due_at.as_ref().and_then(instant),
                    oem_reference: some(e.oem_reference),
                    oem_report_due: e.oem_report_due_at.as_ref().and_then(instant),
                    referrer: some(e.referrer_customer_id),
                }))
            }
            LEAD_VERIFIED => {
                let e = pb::LeadVerified::decode(bytes).map_err(|e| e.to_string())?;
                Ok(LeadEvent::Verified { lead_id: e.lead_id })
            }
            LEAD_CONVERTED => {
                let e = pb::LeadConverted::decode(bytes).map_err(|e| e.to_string())?;
                Ok(LeadEvent::Converted {
                    lead_id: e.lead_id,
                    customer_id: e.customer_id,
                    vehicle_id: e.vehicle_id,
                })
            }
            LEAD_LOST => {
                let e = pb::LeadLost::decode(bytes).map_err(|e| e.to_string())?;
                Ok(LeadEvent::Lost {
                    lead_id: e.lead_id,
                    reason: e.reason,
                })
            }
            other => Err(format!("{other} is not a lead event")),
        }
    }
}
