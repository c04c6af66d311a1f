//! `WatchComplaints`: the OEM feedback of a caller's dealers' complaints, from
//! any position of the log and then live, masked as the caller may see it.

use aftercare_eventstore::DealerId;
use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::{PersonalData, Principal, ServiceError};
use futures::StreamExt;
use tonic::Status;

use crate::api::{ComplaintApi, READERS};

pub type FeedbackStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::ComplaintFeedback, Status>> + Send>>;

impl ComplaintApi {
    pub(crate) async fn watch(
        &self,
        principal: &Principal,
        body: &pb::WatchComplaintsRequest,
    ) -> Result<FeedbackStream, ServiceError> {
        principal.require_role(READERS)?;
        let mut filter = aftercare_eventstore::Filter::default();
        let dealers: Vec<DealerId> = if body.dealers.is_empty() {
            match &principal.scope {
                aftercare_runtime::DealerScope::All => Vec::new(),
                aftercare_runtime::DealerScope::Dealer(d) => vec![d.clone()],
                aftercare_runtime::DealerScope::Group { dealers, .. } => {
                    dealers.iter().cloned().collect()
                }
            }
        } else {
            body.dealers
                .iter()
                .map(|d| principal.dealer("dealers", d))
                .collect::<Result<_, _>>()?
        };
        if dealers.is_empty() && !matches!(principal.scope, aftercare_runtime::DealerScope::All) {
            return Err(ServiceError::invalid(
                "dealers",
                "the caller's scope has no dealers",
            ));
        }
        for d in &dealers {
            filter = filter.or(aftercare_eventstore::StreamPattern {
                dealer: Some(d.clone()),
                aggregate: Some(crate::events::AGGREGATE.to_owned()),
            });
        }
        if dealers.is_empty() {
            filter = filter.or_aggregate(crate::events::AGGREGATE);
        }
        let from = aftercare_eventstore::Position(body.from_position.max(1));
        let events = self.store.subscribe(&filter, from).await?;
        let (store, vault, dealers) =
            (self.store.clone(), self.vault.clone(), self.dealers.clone());
        let personal = PersonalData::for_principal(principal);
        let stream = events.filter_map(move |event| {
            let (store, vault, dealers) = (store.clone(), vault.clone(), dealers.clone());
            async move {
                match event {
                    Ok(event) => {
                        let words = crate::config::words(&dealers, event.dealer().as_str());
                        let form = crate::feedback::feedback_form(
                            store.as_ref(),
                            &vault,
                            &event,
                            words,
                            personal,
                        );
                        match form.await {
                            Ok(form) => form.map(Ok),
                            Err(e) => Some(Err(Status::unavailable(e.to_string()))),
                        }
                    }
                    Err(e) => Some(Err(Status::from(ServiceError::from(e)))),
                }
            }
        });
        Ok(Box::pin(stream))
    }
}
