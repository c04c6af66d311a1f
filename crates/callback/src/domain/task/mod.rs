//! One task's life: claimed by one person (a second claimant is refused), called
//! up to the dealer's number of attempts, closed reached or unreached, and the
//! outcome of a reached call recorded once.

use aftercare_kernel::aggregate::Aggregate;
use jiff::Timestamp;
use jiff::civil::Date;

use super::AttemptResult;

/// A task the timer scheduled (a birthday, an inspection due).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub kind: super::Kind,
    pub customer_id: String,
    pub vehicle_id: String,
    pub cause: String,
    pub window: super::schedule::Window,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Scheduled(Scheduled),
    Claimed {
        agent: String,
        at: Timestamp,
    },
    Reassigned {
        from: String,
        to: String,
        by: String,
        at: Timestamp,
    },
    Attempted {
        result: AttemptResult,
        agent: String,
        at: Timestamp,
        attempt: u32,
        retry_at: Option<Timestamp>,
        closed: bool,
        note: String,
        /// Who was called on which number, for which lead.
        customer_id: String,
        phone: String,
        lead_id: String,
    },
    OutcomeRecorded(Outcome),
    /// An OEM lead's report was due and no call had been made.
    ReportMissed {
        lead_id: String,
        oem_reference: String,
        due_at: Timestamp,
    },
}

/// What a reached call came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub agent: String,
    pub at: Timestamp,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub satisfaction: Option<u8>,
    pub appointment: Option<(Date, u32)>,
    /// The churn reason's number in the protos (false and real churn).
    pub churn_reason: Option<u32>,
    pub note: String,
    /// A complaint made on the call, to be filed by the complaint context.
    pub complaint: Option<CallComplaint>,
}

/// A complaint made on a call: what it says and the VIN, sealed for the task,
/// and the customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallComplaint {
    pub description: String,
    pub customer_id: String,
    pub vin: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Schedules the task once: a task with any history is left as it is.
    Schedule(Scheduled),
    Claim {
        agent: String,
        at: Timestamp,
    },
    Reassign {
        to: String,
        by: String,
        at: Timestamp,
    },
    Attempt {
        agent: String,
        result: AttemptResult,
        at: Timestamp,
        note: String,
        /// Attempts before the task closes unreached (the dealer's rule).
        max_attempts: u32,
        /// When the next attempt is due, if there is one.
        retry_at: Timestamp,
        /// Who is called on which number, for which lead.
        customer_id: String,
        phone: String,
        lead_id: String,
    },
    Outcome(Outcome),
    /// Flags an OEM lead's missed report, once, unless a call was made.
    FlagReportMissed {
        lead_id: String,
        oem_reference: String,
        due_at: Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Someone else holds the task.
    ClaimedBy(String),
    /// The task was closed (reached, refused, wrong number or out of attempts).
    Closed,
    /// An outcome needs a reached call.
    NotReached,
    /// A different outcome was already recorded.
    OutcomeRecorded,
    /// An outcome with nothing in it.
    EmptyOutcome,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::ClaimedBy(agent) => write!(f, "the task is claimed by {agent}"),
            Rejection::Closed => write!(f, "the task is closed"),
            Rejection::NotReached => write!(f, "the customer was not reached on this task"),
            Rejection::OutcomeRecorded => {
                write!(f, "this task's outcome is already recorded")
            }
            Rejection::EmptyOutcome => write!(
                f,
                "an outcome needs a satisfaction, an appointment, a churn reason or a complaint"
            ),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Task {
    /// Anything happened to the task.
    begun: bool,
    claimed_by: Option<String>,
    attempts: u32,
    last_attempt: Option<(String, Timestamp, AttemptResult)>,
    closed: bool,
    reached: bool,
    outcome: Option<Outcome>,
    report_missed: bool,
}

impl Aggregate for Task {
    type Command = Command;
    type Event = Event;
    type Rejection = Rejection;

    fn decide(&self, command: Command) -> Result<Vec<Event>, Rejection> {
        match command {
            Command::Schedule(scheduled) => Ok(if self.begun {
                Vec::new()
            } else {
                vec![Event::Scheduled(scheduled)]
            }),
            Command::Claim { agent, at } => {
                if self.claimed_by.as_deref() == Some(agent.as_str()) {
                    return Ok(Vec::new());
                }
                if self.closed {
                    return Err(Rejection::Closed);
                }
                if let Some(holder) = &self.claimed_by {
                    return Err(Rejection::ClaimedBy(holder.clone()));
                }
                Ok(vec![Event::Claimed { agent, at }])
            }
            Command::Reassign { to, by, at } => {
                if self.closed {
                    return Err(Rejection::Closed);
                }
                if self.claimed_by.as_deref() == Some(to.as_str()) {
                    return Ok(Vec::new());
                }
                Ok(vec![Event::Reassigned {
                    from: self.claimed_by.clone().unwrap_or_default(),
                    to,
                    by,
                    at,
                }])
            }
            Command::Attempt {
                agent,
                result,
                at,
                note,
                max_attempts,
                retry_at,
                customer_id,
                phone,
                lead_id,
            } => {
                // The same call sent again (a client's retry) is recorded once.
                if self.last_attempt.as_ref() == Some(&(agent.clone(), at, result)) {
                    return Ok(Vec::new());
                }
                if self.closed {
                    return Err(Rejection::Closed);
                }
                let mut events = Vec::new();
                match &self.claimed_by {
                    Some(holder) if *holder != agent => {
                        return Err(Rejection::ClaimedBy(holder.clone()));
                    }
                    Some(_) => {}
                    // Whoever calls holds the task.
                    None => events.push(Event::Claimed {
                        agent: agent.clone(),
                        at,
                    }),
                }
                let attempt = self.attempts + 1;
                let closed = !result.retried() || attempt >= max_attempts;
                events.push(Event::Attempted {
                    result,
                    agent,
                    at,
                    attempt,
                    retry_at: (!closed).then_some(retry_at),
                    closed,
                    note,
                    customer_id,
                    phone,
                    lead_id,
                });
                Ok(events)
            }
            Command::FlagReportMissed {
                lead_id,
                oem_reference,
                due_at,
            } => Ok(if self.attempts > 0 || self.report_missed {
                Vec::new()
            } else {
                vec![Event::ReportMissed {
                    lead_id,
                    oem_reference,
                    due_at,
                }]
            }),
            Command::Outcome(outcome) => {
                if !self.reached {
                    return Err(Rejection::NotReached);
                }
                if outcome.satisfaction.is_none()
                    && outcome.appointment.is_none()
                    && outcome.churn_reason.is_none()
                    && outcome.complaint.is_none()
                {
                    return Err(Rejection::EmptyOutcome);
                }
                match &self.outcome {
                    Some(recorded) if same_outcome(recorded, &outcome) => Ok(Vec::new()),
                    Some(_) => Err(Rejection::OutcomeRecorded),
                    None => Ok(vec![Event::OutcomeRecorded(outcome)]),
                }
            }
        }
    }

    fn evolve(mut self, event: &Event) -> Self {
        self.begun = true;
        match event {
            Event::Scheduled(_) => {}
            Event::Claimed { agent, .. } => self.claimed_by = Some(agent.clone()),
            Event::Reassigned { to, .. } => self.claimed_by = Some(to.clone()),
            Event::Attempted {
                result,
                agent,
                at,
                attempt,
                closed,
                ..
            } => {
                self.attempts = *attempt;
                self.last_attempt = Some((agent.clone(), *at, *result));
                self.closed |= *closed;
                self.reached |= *result == AttemptResult::Reached;
            }
            Event::OutcomeRecorded(outcome) => self.outcome = Some(outcome.clone()),
            Event::ReportMissed { .. } => self.report_missed = true,
        }
        self
    }
}

/// The same outcome sent again (its time aside; a complaint's words are
/// sealed anew each time, so only whether there was one is compared).
fn same_outcome(a: &Outcome, b: &Outcome) -> bool {
    (
        &a.satisfaction,
        &a.appointment,
        &a.churn_reason,
        &a.note,
        a.complaint.is_some(),
    ) == (
        &b.satisfaction,
        &b.appointment,
        &b.churn_reason,
        &b.note,
        b.complaint.is_some(),
    )
}

#[cfg(test)]
mod tests;
