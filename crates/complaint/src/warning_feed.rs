//! Early warnings go to the OEM call center on `<prefix>.out.<dealer>.warnings`,
//! each once: a policy on the warning events, with the event id as message id.

use aftercare_eventstore::{Filter, JetStreamStore, RecordedEvent};
use aftercare_runtime::projection::{Policy, ReactError};
use async_trait::async_trait;

use crate::warnings::AGGREGATE;

pub const NAME: &str = "complaint_warning_feed";
pub const KIND: &str = "warnings";

pub struct WarningFeed {
    pub nats: JetStreamStore,
}

#[async_trait]
impl Policy for WarningFeed {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(AGGREGATE)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        // The stored payload is the EarlyWarningRaised message the OEM receives.
        crate::warnings::decode(event).map_err(ReactError::Poison)?;
        self.nats
            .publish_outbound(
                event.dealer(),
                KIND,
                &event.data.event_id.to_string(),
                event.data.payload.clone(),
            )
            .await
            .map_err(|e| ReactError::Transient(e.to_string()))
    }
}
