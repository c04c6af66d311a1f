//! Complaints customers make on callback calls: the callback context records
//! them on the call's outcome; this policy files each as a ticket (channel
//! callback) whose id is derived from the task, so a redelivery, a replay or a
//! second runner files it once.

use std::sync::Arc;

use aftercare_eventstore::Filter;
use aftercare_eventstore::{EventStore, Metadata, RecordedEvent};
use aftercare_proto::callback::v1 as callback;
use aftercare_proto::event_types::callback::OUTCOME_RECORDED;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::privacy::Vault;
use aftercare_runtime::projection::{Policy, ReactError};
use async_trait::async_trait;
use prost::Message;
use uuid::Uuid;

use crate::config::ComplaintDealers;
use crate::domain::Channel;
use crate::domain::ticket::{Command, Filing, Rejection, Terms, Ticket};
use crate::events::{TicketCodec, stream, subject};

pub const NAME: &str = "complaint_from_callbacks";

const NAMESPACE: Uuid = Uuid::from_u128(0x0b1d_5c3e_77a2_4f1e_8c4d_2e9f_6a7b_c301);

/// The ticket a callback task's complaint is filed as.
pub fn ticket_id(dealer: &str, task_id: &str) -> String {
    Uuid::new_v5(
        &NAMESPACE,
        format!("complaint/{dealer}/callback/{task_id}").as_bytes(),
    )
    .simple()
    .to_string()
}

pub struct CallbackComplaints {
    pub store: Arc<dyn EventStore>,
    pub vault: Vault,
    pub dealers: Arc<ComplaintDealers>,
}

fn transient(e: impl std::fmt::Display) -> ReactError {
    ReactError::Transient(e.to_string())
}

#[async_trait]
impl Policy for CallbackComplaints {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::CALLBACK_TASK)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        if event.data.event_type != OUTCOME_RECORDED {
            return Ok(());
        }
        let outcome = callback::OutcomeRecorded::decode(event.data.payload.as_ref())
            .map_err(|e| ReactError::Poison(format!("{OUTCOME_RECORDED}: {e}")))?;
        if outcome.complaint.is_empty() {
            return Ok(());
        }
        let dealer = event.dealer();
        let task = event.stream.id();
        let ticket = ticket_id(dealer.as_str(), task);
        // The call's words were sealed for the task (`callback/<task_id>`);
        // the ticket keeps them sealed for itself.
        let task_subject = format!("callback/{task}");
        let keys = self
            .vault
            .keyring(std::slice::from_ref(&task_subject))
            .await
            .map_err(transient)?;
        let ticket_subject = subject(&ticket);
        let seal = |text: String| {
            let vault = self.vault.clone();
            let ticket_subject = ticket_subject.clone();
            async move {
                vault
                    .seal(&ticket_subject, &text)
                    .await
                    .map_err(|e| match e {
                        aftercare_runtime::privacy::PrivacyError::Erased(_) => {
                            ReactError::Poison(format!("{ticket_subject} is erased"))
                        }
                        other => transient(other),
                    })
            }
        };
        let filing = Filing {
            ticket_id: ticket.clone(),
            channel: Channel::Callback,
            oem_ticket: None,
            grade: None,
            customer_id: seal(outcome.complaint_customer_id.clone()).await?,
            vin: seal(keys.open(&task_subject, &outcome.complaint_vin)).await?,
            description: seal(keys.open(&task_subject, &outcome.complaint)).await?,
            product_liability: false,
            receiver: outcome.agent.clone(),
        };
        let rules = self.dealers.rules(dealer.as_str());
        let at = outcome
            .at
            .as_ref()
            .and_then(aftercare_proto::calendar::read_instant)
            .unwrap_or(event.data.occurred_at);
        let command = Command::File {
            filing,
            at,
            terms: Terms {
                rules: rules.rules.complaint.clone(),
                zone: rules.time_zone.clone(),
            },
        };
        let metadata = Metadata {
            actor: format!("system:{NAME}"),
            causation_id: Some(event.data.event_id),
            // The reaction's own span, within the event's trace.
            traceparent: aftercare_runtime::telemetry::current_traceparent()
                .or_else(|| event.data.metadata.traceparent.clone()),
            ..event.data.metadata.clone()
        };
        let stream = stream(dealer, &ticket).map_err(|e| ReactError::Poison(e.to_string()))?;
        let codec = TicketCodec {
            ticket_id: ticket.clone(),
        };
        match execute::<Ticket>(self.store.as_ref(), &stream, &codec, command, |e| {
            e.with_metadata(metadata.clone())
        })
        .await
        {
            Ok(_) | Err(CommandError::Rejected(Rejection::AlreadyFiled)) => Ok(()),
            Err(CommandError::Rejected(other)) => Err(ReactError::Poison(format!(
                "the complaint of task {task} cannot be filed: {other}"
            ))),
            Err(e) => Err(transient(e)),
        }
    }
}
