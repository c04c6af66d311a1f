//! Wrong numbers found by callbacks: the callback context records the call
//! attempt with the customer and the number called; the customer file marks
//! the number wrong, once however often the attempt is delivered.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, Filter, Metadata, RecordedEvent};
use aftercare_proto::callback::v1 as callback;
use aftercare_proto::event_types::callback::ATTEMPT_RECORDED;
use aftercare_runtime::command::{CommandError, execute};
use aftercare_runtime::projection::{Policy, ReactError};
use async_trait::async_trait;
use prost::Message;

use crate::customer_events::CustomerCodec;
use crate::domain::customer::{Customer, CustomerCommand, CustomerRejection};

pub const NAME: &str = "intake_wrong_numbers";

pub struct WrongNumbers {
    pub store: Arc<dyn EventStore>,
}

#[async_trait]
impl Policy for WrongNumbers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::CALLBACK_TASK)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        if event.data.event_type != ATTEMPT_RECORDED {
            return Ok(());
        }
        let attempt = callback::AttemptRecorded::decode(event.data.payload.as_ref())
            .map_err(|e| ReactError::Poison(format!("{ATTEMPT_RECORDED}: {e}")))?;
        if attempt.result != callback::AttemptResult::WrongNumber as i32
            || attempt.customer_id.is_empty()
            || attempt.phone.is_empty()
        {
            return Ok(());
        }
        let stream = crate::customer_api::stream(event.dealer(), &attempt.customer_id)
            .map_err(|e| ReactError::Poison(format!("the attempt's customer: {e}")))?;
        let at = attempt
            .at
            .as_ref()
            .and_then(aftercare_proto::calendar::read_instant)
            .unwrap_or(event.data.occurred_at);
        let command = CustomerCommand::ReportWrongPhone {
            number: attempt.phone,
            by: attempt.agent,
            task_id: attempt.task_id,
            at,
        };
        let metadata = Metadata {
            actor: format!("system:{NAME}"),
            causation_id: Some(event.data.event_id),
            // The reaction's own span, within the event's trace.
            traceparent: aftercare_runtime::telemetry::current_traceparent()
                .or_else(|| event.data.metadata.traceparent.clone()),
            ..event.data.metadata.clone()
        };
        match execute::<Customer>(self.store.as_ref(), &stream, &CustomerCodec, command, |e| {
            e.with_metadata(metadata.clone())
        })
        .await
        {
            Ok(_) => Ok(()),
            Err(CommandError::Rejected(CustomerRejection::NotRegistered)) => Err(
                ReactError::Poison(format!("customer {} is not on file", stream.id())),
            ),
            Err(CommandError::Rejected(other)) => Err(ReactError::Poison(format!("{other:?}"))),
            Err(e) => Err(ReactError::Transient(e.to_string())),
        }
    }
}
