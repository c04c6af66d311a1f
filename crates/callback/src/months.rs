//! A month's callback measures, published once per dealer a week after the
//! month ended (`MonthMeasured`), so other contexts — analytics' targets and
//! scorecards — read them from the log instead of this context's tables. The
//! stream of a dealer's month must not exist yet, so two replicas publish it
//! once.

use aftercare_eventstore::{DealerId, EventData, EventStore, Expected, StreamId};
use aftercare_kernel::Month;
use aftercare_proto::aggregates::CALLBACK_MONTH;
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::event_types::callback::MONTH_MEASURED;
use aftercare_runtime::{Database, ServiceError};
use jiff::Timestamp;
use prost::Message;

use crate::config::CallbackDealers;
use crate::domain::measures::Tally;
use crate::queries::tally_month;

/// Days after a month's end its measures wait for late calls and outcomes.
pub const SETTLE_DAYS: i64 = 7;

/// Months looked back at for a measure not yet published.
const LOOK_BACK: u32 = 12;

pub fn stream(
    dealer: &DealerId,
    month: Month,
) -> Result<StreamId, aftercare_eventstore::StoreError> {
    StreamId::new(dealer.clone(), CALLBACK_MONTH, month.to_string())
}

pub fn counts(t: &Tally) -> pb::MeasureCounts {
    pb::MeasureCounts {
        callbacks_due: t.callbacks_due,
        callbacks_in_window: t.callbacks_in_window,
        attempted: t.attempted,
        reached: t.reached,
        sales_rated: t.sales_rated,
        sales_satisfied: t.sales_satisfied,
        service_rated: t.service_rated,
        service_satisfied: t.service_satisfied,
        winback_called: t.winback_called,
        winback_appointments: t.winback_appointments,
    }
}

/// Publishes every month of the last year at `dealer` that has settled by
/// `now`, had tasks, and was not published yet: how many it published.
pub async fn publish(
    store: &dyn EventStore,
    db: &Database,
    dealers: &CallbackDealers,
    dealer: &DealerId,
    now: Timestamp,
) -> Result<usize, ServiceError> {
    let zone = &dealers.rules(dealer.as_str()).time_zone;
    let this = Month::of_instant(now, zone);
    let mut published = 0;
    for back in 1..=LOOK_BACK {
        let month = this.minus(back);
        let Some((from, to)) = month.bounds_at(zone) else {
            continue;
        };
        if now < to + jiff::SignedDuration::from_hours(24 * SETTLE_DAYS) {
            continue;
        }
        let stream = stream(dealer, month)?;
        if !store.read_stream(&stream).await?.is_empty() {
            continue;
        }
        let measured = tally_month(
            db,
            dealer.as_str(),
            from.as_microsecond(),
            to.as_microsecond(),
            zone,
        )
        .await?;
        if measured.dealer == Tally::default() {
            continue;
        }
        let event = pb::MonthMeasured {
            month: Some(aftercare_proto::common::v1::YearMonth {
                year: month.year(),
                month: month.month() as u32,
            }),
            dealer: Some(counts(&measured.dealer)),
            people: measured
                .people
                .iter()
                .map(|(person, t)| pb::PersonCounts {
                    person: person.clone(),
                    counts: Some(counts(t)),
                })
                .collect(),
            at: Some(aftercare_proto::calendar::timestamp(now)),
            calls_by_group: measured
                .calls_by_group
                .iter()
                .map(|((person, group), called)| pb::GroupCalls {
                    person: person.clone(),
                    group: group.clone(),
                    called: *called,
                })
                .collect(),
            groups: measured
                .groups
                .iter()
                .map(|(group, t)| pb::GroupCounts {
                    group: group.clone(),
                    counts: Some(counts(t)),
                })
                .collect(),
        };
        let data = EventData::new(MONTH_MEASURED, event.encode_to_vec()).occurred_at(now);
        match store.append(&stream, Expected::NoStream, vec![data]).await {
            Ok(_) => published += 1,
            // Another replica published it first.
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(published)
}
