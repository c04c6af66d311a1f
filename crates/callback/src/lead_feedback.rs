//! What goes back to the OEM about the leads it sent: at each change — the
//! lead received, each first-contact call, verified, converted, lost, and a
//! missed status report — a `LeadFeedback` on
//! `aftercare.out.<dealer>.lead-feedback`, its status in the dealer's language,
//! flagged when it came after the 7-day report was due. Leads the OEM did not
//! send (no OEM reference) send nothing.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, Filter, JetStreamStore, RecordedEvent, StreamId};
use aftercare_kernel::Language;
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::event_types::intake as intake_events;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::projection::{Policy, ReactError};
use async_trait::async_trait;
use prost::Message;

use crate::config::CallbackDealers;
use crate::events::{self, ATTEMPT_RECORDED, LEAD_REPORT_MISSED};

pub const NAME: &str = "callback_lead_feedback";
pub const KIND: &str = "lead-feedback";

pub struct LeadFeedbackPolicy {
    pub store: Arc<dyn EventStore>,
    pub nats: JetStreamStore,
    pub dealers: Arc<CallbackDealers>,
}

/// The status as the OEM's people read it.
pub fn status_text(language: Language, status: pb::LeadStatus, reason: &str) -> String {
    let (english, chinese) = match status {
        pb::LeadStatus::Received => ("The dealer received the lead", "经销商已收到线索"),
        pb::LeadStatus::NotReached => (
            "Called; the prospect was not reached",
            "已致电，未联系上客户",
        ),
        pb::LeadStatus::Contacted => ("The prospect was reached by phone", "已电话联系上客户"),
        pb::LeadStatus::Verified => ("The lead was verified", "线索已核实"),
        pb::LeadStatus::Converted => ("The prospect bought a vehicle", "客户已购车"),
        pb::LeadStatus::Lost => ("The lead was lost", "线索已战败"),
        pb::LeadStatus::ReportMissed => (
            "No call was made before the status report was due",
            "状态报告到期前未致电客户",
        ),
        pb::LeadStatus::Unspecified => ("", ""),
    };
    let text = language.pick(english, chinese).to_owned();
    if reason.is_empty() {
        text
    } else {
        format!("{text}{}{reason}", language.pick(": ", "："))
    }
}

fn transient(e: impl std::fmt::Display) -> ReactError {
    ReactError::Transient(e.to_string())
}

impl LeadFeedbackPolicy {
    /// The lead's OEM reference and report deadline, from its capture.
    async fn captured(
        &self,
        event: &RecordedEvent,
        lead_id: &str,
    ) -> Result<Option<intake::LeadCaptured>, ReactError> {
        let Ok(id) = uuid::Uuid::parse_str(lead_id) else {
            return Ok(None);
        };
        let stream = StreamId::new(
            event.dealer().clone(),
            aftercare_proto::aggregates::LEAD,
            id.simple().to_string(),
        )
        .map_err(|e| ReactError::Poison(e.to_string()))?;
        let recorded = self.store.read_stream(&stream).await.map_err(transient)?;
        Ok(recorded
            .events
            .iter()
            .find(|e| e.data.event_type == intake_events::LEAD_CAPTURED)
            .and_then(|e| intake::LeadCaptured::decode(e.data.payload.as_ref()).ok()))
    }

    /// The lead id, status and reason `event` reports, if it is about a lead.
    fn change(
        event: &RecordedEvent,
    ) -> Result<Option<(String, pb::LeadStatus, String)>, ReactError> {
        let payload = event.data.payload.as_ref();
        let poison =
            |e: prost::DecodeError| ReactError::Poison(format!("{}: {e}", event.data.event_type));
        Ok(Some(match event.data.event_type.as_str() {
            intake_events::LEAD_CAPTURED => {
                let e = intake::LeadCaptured::decode(payload).map_err(poison)?;
                (e.lead_id, pb::LeadStatus::Received, String::new())
            }
            intake_events::LEAD_VERIFIED => {
                let e = intake::LeadVerified::decode(payload).map_err(poison)?;
                (e.lead_id, pb::LeadStatus::Verified, String::new())
            }
            intake_events::LEAD_CONVERTED => {
                let e = intake::LeadConverted::decode(payload).map_err(poison)?;
                (e.lead_id, pb::LeadStatus::Converted, String::new())
            }
            intake_events::LEAD_LOST => {
                let e = intake::LeadLost::decode(payload).map_err(poison)?;
                (e.lead_id, pb::LeadStatus::Lost, e.reason)
            }
            ATTEMPT_RECORDED => {
                let e = pb::AttemptRecorded::decode(payload).map_err(poison)?;
                if e.lead_id.is_empty() {
                    return Ok(None);
                }
                let status = if e.result == pb::AttemptResult::Reached as i32 {
                    pb::LeadStatus::Contacted
                } else {
                    pb::LeadStatus::NotReached
                };
                (e.lead_id, status, String::new())
            }
            LEAD_REPORT_MISSED => {
                let e = pb::LeadReportMissed::decode(payload).map_err(poison)?;
                (e.lead_id, pb::LeadStatus::ReportMissed, String::new())
            }
            _ => return Ok(None),
        }))
    }
}

#[async_trait]
impl Policy for LeadFeedbackPolicy {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::LEAD).or_aggregate(events::AGGREGATE)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        let Some((lead_id, status, reason)) = Self::change(event)? else {
            return Ok(());
        };
        let Some(lead) = self.captured(event, &lead_id).await? else {
            return Ok(());
        };
        if lead.oem_reference.is_empty() {
            return Ok(());
        }
        let rules = self.dealers.rules(event.dealer().as_str());
        let at = event.data.occurred_at;
        let due = lead
            .oem_report_due_at
            .as_ref()
            .and_then(aftercare_proto::calendar::read_instant);
        let overdue = status == pb::LeadStatus::ReportMissed
            || (status != pb::LeadStatus::Received && due.is_some_and(|d| at > d));
        let feedback = pb::LeadFeedback {
            dealer: Some(aftercare_proto::common::v1::DealerId {
                value: event.dealer().to_string(),
            }),
            lead_id,
            oem_reference: lead.oem_reference,
            status: status as i32,
            status_text: status_text(rules.language, status, &reason),
            at: Some(aftercare_proto::calendar::timestamp(at)),
            report_due_at: lead.oem_report_due_at,
            report_overdue: overdue,
            reason,
        };
        self.nats
            .publish_outbound(
                event.dealer(),
                KIND,
                &event.data.event_id.to_string(),
                feedback.encode_to_vec().into(),
            )
            .await
            .map_err(transient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_sentences_in_the_dealers_language() {
        assert_eq!(
            status_text(Language::Chinese, pb::LeadStatus::Lost, "已在别处购车"),
            "线索已战败：已在别处购车"
        );
        assert_eq!(
            status_text(Language::English, pb::LeadStatus::Contacted, ""),
            "The prospect was reached by phone"
        );
    }
}
