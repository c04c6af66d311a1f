//! OEM feedback: every change of a complaint the OEM call center issued is
//! published to `<prefix>.out.<dealer>.complaint-feedback` as a
//! `ComplaintFeedback`, with the OEM's ticket number. A policy on the ticket
//! events, so the runner's checkpoint makes every change published, in order;
//! the event id as message id makes a repeat after a crash a no-op.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, Filter, JetStreamStore, RecordedEvent};
use aftercare_proto::common::v1::Position;
use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::PersonalData;
use aftercare_runtime::command::Aggregate;
use aftercare_runtime::privacy::Vault;
use aftercare_runtime::projection::{Policy, ReactError};
use async_trait::async_trait;
use prost::Message;

use crate::domain::ticket::{Event, Ticket};
use crate::domain::words::Words;
use crate::events::{AGGREGATE, decode};

pub const NAME: &str = "complaint_oem_feedback";
pub const KIND: &str = "complaint-feedback";

pub struct OemFeedback {
    pub store: Arc<dyn EventStore>,
    pub nats: JetStreamStore,
    pub vault: Vault,
    pub dealers: Arc<crate::config::ComplaintDealers>,
}

fn change(event: &Event) -> &'static str {
    match event {
        Event::Filed { .. } => "filed",
        Event::Acknowledged { .. } => "acknowledged",
        Event::Assigned { .. } => "assigned",
        Event::Escalated { .. } => "escalated",
        Event::Resolved { .. } => "resolved",
        Event::Closed { .. } => "closed",
        Event::Reopened { .. } => "reopened",
    }
}

#[async_trait]
impl Policy for OemFeedback {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(AGGREGATE)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), ReactError> {
        // The OEM issued the complaint: its feedback carries the customer's words.
        let words = crate::config::words(&self.dealers, event.dealer().as_str());
        let form = feedback_form(
            self.store.as_ref(),
            &self.vault,
            event,
            words,
            PersonalData::Shown,
        );
        let Some(feedback) = form.await? else {
            return Ok(());
        };
        self.nats
            .publish_outbound(
                event.dealer(),
                KIND,
                &event.data.event_id.to_string(),
                feedback.encode_to_vec().into(),
            )
            .await
            .map_err(|e| ReactError::Transient(e.to_string()))
    }
}

/// The feedback form of one change, none when the complaint was not issued by
/// the OEM: the ticket as it stood after the change (grade, handler, status),
/// its personal data as `personal` lets the reader see it, its words in the
/// dealer's language.
pub async fn feedback_form(
    store: &dyn EventStore,
    vault: &Vault,
    event: &RecordedEvent,
    words: Words<'_>,
    personal: PersonalData,
) -> Result<Option<pb::ComplaintFeedback>, ReactError> {
    let history = store
        .read_stream(&event.stream)
        .await
        .map_err(|e| ReactError::Transient(e.to_string()))?;
    let mut ticket = Ticket::default();
    let mut oem_ticket = None;
    let mut this = None;
    for recorded in history.iter().take_while(|e| e.position <= event.position) {
        let decoded = decode(recorded).map_err(ReactError::Poison)?;
        if let Event::Filed {
            oem_ticket: number, ..
        } = &decoded
        {
            oem_ticket = number.clone();
        }
        ticket = ticket.evolve(&decoded);
        this = Some(decoded);
    }
    let (Some(oem_ticket), Some(this)) = (oem_ticket, this) else {
        return Ok(None);
    };
    let subject = crate::events::subject(event.stream.id());
    let keys = vault
        .keyring(std::slice::from_ref(&subject))
        .await
        .map_err(|e| ReactError::Transient(e.to_string()))?;
    Ok(Some(pb::ComplaintFeedback {
        oem_ticket,
        ticket_id: event.stream.id().to_owned(),
        dealer: event.dealer().to_string(),
        change: change(&this).to_owned(),
        grade: ticket.grade.map_or(0, |g| g.value()),
        handler: ticket.handler.clone(),
        status: ticket.status.map_or("", |s| s.as_str()).to_owned(),
        detail: detail(&this, words, &|text| {
            personal.text(&keys.open(&subject, text))
        }),
        at: Some(aftercare_proto::calendar::timestamp(event.data.occurred_at)),
        position: Some(Position {
            value: event.position.0,
        }),
    }))
}

/// What changed, in a sentence, with the personal data opened by `open`.
fn detail(event: &Event, words: Words<'_>, open: &dyn Fn(&str) -> String) -> String {
    match event {
        Event::Filed { description, .. } => open(description),
        Event::Assigned { to, .. } => to.clone(),
        Event::Escalated { reason, .. } => words.escalation_sentence(reason, open),
        Event::Resolved {
            resolution,
            compensation_fen,
            ..
        } => words.resolution_sentence(&open(resolution), *compensation_fen),
        Event::Closed { satisfaction, .. } => words.satisfaction(*satisfaction).to_owned(),
        Event::Reopened { reason, .. } => reason.clone(),
        Event::Acknowledged { .. } => String::new(),
    }
}
