//! `RecordVisits`: many repair orders in one call (a DMS backfill, `aftercare
//! import visits`), each decided exactly as `RecordVisit` would, with many
//! appends in flight at once; the answer counts them and lists every rejected
//! row with its reasons.

use aftercare_eventstore::{EventStore, Metadata};
use aftercare_proto::common::v1 as common;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::{Principal, ServiceError};
use futures::{Stream, StreamExt};
use tonic::Status;

use crate::events;
use crate::record::{RecordError, record_visit};

/// Rows decided at once: appends are pipelined, not one round trip after
/// another, and the store writes those waiting together as large groups.
const IN_FLIGHT: usize = 1024;

pub async fn record_visits(
    store: &dyn EventStore,
    principal: &Principal,
    meta: Metadata,
    rows: impl Stream<Item = Result<pb::RecordVisitsRequest, Status>>,
) -> Result<pb::RecordVisitsResponse, Status> {
    let now = jiff::Timestamp::now();
    // Many rows in flight at once, so the appends are pipelined; each row is
    // decided exactly as RecordVisit would.
    let outcomes = rows
        .map(|row| {
            let (principal, meta) = (principal.clone(), meta.clone());
            async move {
                let row = row?;
                let dealer = principal.dealer("dealer", row.dealer.as_ref())?;
                let order = row.repair_order.unwrap_or_default();
                let outcome =
                    record_visit(store, &dealer, &events::repair_order(&order), now, meta).await;
                Ok::<_, Status>((row.line, order.repair_order, outcome))
            }
        })
        .buffer_unordered(IN_FLIGHT);
    futures::pin_mut!(outcomes);
    let mut summary = pb::RecordVisitsResponse::default();
    let mut last = 0;
    while let Some(outcome) = outcomes.next().await {
        let (line, repair_order, outcome) = outcome?;
        match outcome {
            Ok(recorded) => {
                last = last.max(recorded.position.0);
                if recorded.already_recorded {
                    summary.already_recorded += 1;
                } else {
                    summary.accepted += 1;
                }
            }
            Err(RecordError::Invalid(errors)) => summary.rejected.push(pb::RejectedRow {
                line,
                repair_order,
                errors: errors
                    .into_iter()
                    .map(|e| pb::IngestFieldError {
                        field: e.field,
                        reason: e.reason,
                    })
                    .collect(),
            }),
            Err(RecordError::Store(err)) => return Err(ServiceError::from(err).into()),
        }
    }
    summary.rejected.sort_by_key(|r| r.line);
    summary.position = Some(common::Position { value: last });
    Ok(summary)
}
