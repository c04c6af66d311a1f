//! The complaint ticket: filed once, owned by its first receiver, handled at its
//! grade, escalated up (never down), resolved, closed with the customer's
//! satisfaction, reopened. Every refusal says why.

use super::rules::ComplaintRules;
use aftercare_kernel::Aggregate;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::deadline::{resolve_by, respond_by};
use super::{Channel, Grade, Satisfaction, Status};

/// The dealer's rules and calendar a command is decided with.
#[derive(Clone, Debug, PartialEq)]
pub struct Terms {
    pub rules: ComplaintRules,
    pub zone: TimeZone,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Filing {
    pub ticket_id: String,
    pub channel: Channel,
    pub oem_ticket: Option<String>,
    /// None: the channel's default grade.
    pub grade: Option<Grade>,
    pub customer_id: String,
    pub vin: String,
    pub description: String,
    pub product_liability: bool,
    /// Who received it first: the owner until it is resolved.
    pub receiver: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EscalationReason {
    /// By hand, with the reason given.
    ByHand(String),
    /// The deadline in force passed (the sweep names which one).
    DeadlineMissed(Timestamp),
    /// The customer complained again.
    ComplainedAgain(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    File {
        filing: Filing,
        at: Timestamp,
        terms: Terms,
    },
    Acknowledge {
        by: String,
        at: Timestamp,
    },
    Assign {
        to: String,
        by: String,
        at: Timestamp,
    },
    Escalate {
        reason: EscalationReason,
        by: String,
        at: Timestamp,
        terms: Terms,
    },
    Resolve {
        resolution: String,
        compensation_fen: i64,
        by: String,
        at: Timestamp,
    },
    Close {
        satisfaction: Satisfaction,
        at: Timestamp,
    },
    Reopen {
        reason: String,
        by: String,
        at: Timestamp,
        terms: Terms,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Filed {
        filing_grade: Grade,
        handler: String,
        respond_by: Timestamp,
        resolve_by: Timestamp,
        at: Timestamp,
        ticket_id: String,
        channel: Channel,
        oem_ticket: Option<String>,
        customer_id: String,
        vin: String,
        description: String,
        product_liability: bool,
        owner: String,
    },
    Acknowledged {
        by: String,
        at: Timestamp,
    },
    Assigned {
        to: String,
        by: String,
        at: Timestamp,
    },
    Escalated {
        from: Grade,
        to: Grade,
        handler: String,
        reason: EscalationReason,
        /// The new handler's response deadline, while the ticket is unanswered.
        respond_by: Option<Timestamp>,
        resolve_by: Timestamp,
        by: String,
        at: Timestamp,
    },
    Resolved {
        resolution: String,
        compensation_fen: i64,
        by: String,
        at: Timestamp,
    },
    Closed {
        satisfaction: Satisfaction,
        at: Timestamp,
    },
    Reopened {
        reason: String,
        resolve_by: Timestamp,
        by: String,
        at: Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    AlreadyFiled,
    NotFiled,
    /// The command does not apply in the ticket's status.
    NotAllowed {
        command: &'static str,
        status: Status,
    },
    AlreadyHighestGrade,
    Invalid {
        field: &'static str,
        reason: String,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::AlreadyFiled => write!(f, "the complaint is already filed"),
            Rejection::NotFiled => write!(f, "no such complaint"),
            Rejection::NotAllowed { command, status } => {
                write!(f, "a {} complaint cannot be {command}", status.as_str())
            }
            Rejection::AlreadyHighestGrade => {
                write!(f, "the complaint is already at grade 5 (crisis)")
            }
            Rejection::Invalid { field, reason } => write!(f, "{field}: {reason}"),
        }
    }
}

/// The ticket as its events left it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ticket {
    pub filed: bool,
    pub status: Option<Status>,
    pub grade: Option<Grade>,
    pub owner: String,
    pub handler: String,
    pub assignee: String,
    pub product_liability: bool,
    pub respond_by: Option<Timestamp>,
    pub resolve_by: Option<Timestamp>,
}

fn required(field: &'static str, value: &str) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        Err(Rejection::Invalid {
            field,
            reason: "is required".to_owned(),
        })
    } else {
        Ok(())
    }
}

impl Ticket {
    fn status(&self) -> Result<Status, Rejection> {
        self.status.ok_or(Rejection::NotFiled)
    }

    fn only(&self, command: &'static str, allowed: &[Status]) -> Result<Status, Rejection> {
        let status = self.status()?;
        if allowed.contains(&status) {
            Ok(status)
        } else {
            Err(Rejection::NotAllowed { command, status })
        }
    }
}

impl Aggregate for Ticket {
    type Command = Command;
    type Event = Event;
    type Rejection = Rejection;

    fn decide(&self, command: Command) -> Result<Vec<Event>, Rejection> {
        use Status::*;
        match command {
            Command::File { filing, at, terms } => {
                if self.filed {
                    return Err(Rejection::AlreadyFiled);
                }
                required("description", &filing.description)?;
                required("receiver", &filing.receiver)?;
                if filing.channel == Channel::OemHotline && filing.oem_ticket.is_none() {
                    return Err(Rejection::Invalid {
                        field: "oem_ticket",
                        reason: "an OEM hotline complaint needs the OEM's ticket number".to_owned(),
                    });
                }
                let grade = filing.grade.unwrap_or(filing.channel.default_grade());
                Ok(vec![Event::Filed {
                    filing_grade: grade,
                    handler: terms.rules.handlers[grade.index()].clone(),
                    respond_by: respond_by(&terms.rules, at),
                    resolve_by: resolve_by(
                        &terms.rules,
                        grade,
                        filing.product_liability,
                        at,
                        &terms.zone,
                    ),
                    at,
                    ticket_id: filing.ticket_id,
                    channel: filing.channel,
                    oem_ticket: filing.oem_ticket,
                    customer_id: filing.customer_id,
                    vin: filing.vin,
                    description: filing.description,
                    product_liability: filing.product_liability,
                    owner: filing.receiver,
                }])
            }
            Command::Acknowledge { by, at } => {
                self.only("acknowledged", &[Open])?;
                Ok(vec![Event::Acknowledged { by, at }])
            }
            Command::Assign { to, by, at } => {
                self.only("assigned", &[Open, InProgress])?;
                required("to", &to)?;
                if to == self.assignee {
                    return Ok(Vec::new());
                }
                Ok(vec![Event::Assigned { to, by, at }])
            }
            Command::Escalate {
                reason,
                by,
                at,
                terms,
            } => {
                self.only("escalated", &[Open, InProgress])?;
                if let EscalationReason::DeadlineMissed(deadline) = &reason {
                    // Only the deadline in force, once it has passed: a sweep that
                    // runs again, or late, changes nothing.
                    // To the microsecond: the precision the read model (and so
                    // the sweep) keeps deadlines in.
                    let same = |d: Option<Timestamp>| {
                        d.map(|d| d.as_microsecond()) == Some(deadline.as_microsecond())
                    };
                    let in_force = match self.status()? {
                        Open => same(self.respond_by) || same(self.resolve_by),
                        _ => same(self.resolve_by),
                    };
                    if !in_force || at <= *deadline {
                        return Ok(Vec::new());
                    }
                }
                if let EscalationReason::ByHand(text) | EscalationReason::ComplainedAgain(text) =
                    &reason
                {
                    required("reason", text)?;
                }
                let from = self.grade.ok_or(Rejection::NotFiled)?;
                let to = from.raised().ok_or(Rejection::AlreadyHighestGrade)?;
                let unanswered = self.status()? == Open;
                Ok(vec![Event::Escalated {
                    from,
                    to,
                    handler: terms.rules.handlers[to.index()].clone(),
                    respond_by: unanswered.then(|| respond_by(&terms.rules, at)),
                    resolve_by: resolve_by(
                        &terms.rules,
                        to,
                        self.product_liability,
                        at,
                        &terms.zone,
                    ),
                    reason,
                    by,
                    at,
                }])
            }
            Command::Resolve {
                resolution,
                compensation_fen,
                by,
                at,
            } => {
                self.only("resolved", &[Open, InProgress])?;
                required("resolution", &resolution)?;
                if compensation_fen < 0 {
                    return Err(Rejection::Invalid {
                        field: "compensation",
                        reason: format!("{compensation_fen} fen is negative"),
                    });
                }
                Ok(vec![Event::Resolved {
                    resolution,
                    compensation_fen,
                    by,
                    at,
                }])
            }
            Command::Close { satisfaction, at } => {
                self.only("closed", &[Resolved])?;
                Ok(vec![Event::Closed { satisfaction, at }])
            }
            Command::Reopen {
                reason,
                by,
                at,
                terms,
            } => {
                self.only("reopened", &[Resolved, Closed])?;
                required("reason", &reason)?;
                let grade = self.grade.ok_or(Rejection::NotFiled)?;
                Ok(vec![Event::Reopened {
                    reason,
                    resolve_by: resolve_by(
                        &terms.rules,
                        grade,
                        self.product_liability,
                        at,
                        &terms.zone,
                    ),
                    by,
                    at,
                }])
            }
        }
    }

    fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::Filed {
                filing_grade,
                handler,
                respond_by,
                resolve_by,
                owner,
                product_liability,
                ..
            } => {
                self.filed = true;
                self.status = Some(Status::Open);
                self.grade = Some(*filing_grade);
                self.handler = handler.clone();
                self.owner = owner.clone();
                self.product_liability = *product_liability;
                self.respond_by = Some(*respond_by);
                self.resolve_by = Some(*resolve_by);
            }
            Event::Acknowledged { .. } => {
                self.status = Some(Status::InProgress);
                self.respond_by = None;
            }
            Event::Assigned { to, .. } => self.assignee = to.clone(),
            Event::Escalated {
                to,
                handler,
                respond_by,
                resolve_by,
                ..
            } => {
                self.grade = Some(*to);
                self.handler = handler.clone();
                self.respond_by = *respond_by;
                self.resolve_by = Some(*resolve_by);
            }
            Event::Resolved { .. } => {
                self.status = Some(Status::Resolved);
                self.respond_by = None;
                self.resolve_by = None;
            }
            Event::Closed { .. } => self.status = Some(Status::Closed),
            Event::Reopened { resolve_by, .. } => {
                self.status = Some(Status::InProgress);
                self.resolve_by = Some(*resolve_by);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests;
