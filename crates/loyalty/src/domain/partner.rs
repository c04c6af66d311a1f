//! A partner merchant (友好商户): registered once, and each month's statement
//! settled once with the figures finance paid on.

use aftercare_kernel::aggregate::Aggregate;
use jiff::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Registered {
        partner_id: String,
        name: String,
        by: String,
        at: Timestamp,
    },
    Settled(Settlement),
}

/// A month's redemptions at the partner, as settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// YYYY-MM at the dealer.
    pub month: String,
    pub redemptions: u64,
    pub points: i64,
    pub value_fen: i64,
    pub by: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Register {
        partner_id: String,
        name: String,
        by: String,
        at: Timestamp,
    },
    Settle(Settlement),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    NotRegistered,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Partner {
    registered: bool,
    settled: Vec<String>,
}

impl Aggregate for Partner {
    type Command = Command;
    type Event = Event;
    type Rejection = Rejection;

    fn decide(&self, command: Command) -> Result<Vec<Event>, Rejection> {
        match command {
            Command::Register {
                partner_id,
                name,
                by,
                at,
            } => Ok(if self.registered {
                Vec::new()
            } else {
                vec![Event::Registered {
                    partner_id,
                    name,
                    by,
                    at,
                }]
            }),
            Command::Settle(settlement) => {
                if !self.registered {
                    return Err(Rejection::NotRegistered);
                }
                Ok(if self.settled.contains(&settlement.month) {
                    Vec::new()
                } else {
                    vec![Event::Settled(settlement)]
                })
            }
        }
    }

    fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::Registered { .. } => self.registered = true,
            Event::Settled(s) => self.settled.push(s.month.clone()),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::aggregate::given;

    use super::*;

    fn registered() -> Event {
        Event::Registered {
            partner_id: "carwash-01".into(),
            name: "洁美洗车".into(),
            by: "经理".into(),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    fn settle(month: &str) -> Settlement {
        Settlement {
            month: month.into(),
            redemptions: 2,
            points: 3_000,
            value_fen: 30_000,
            by: "财务".into(),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_month_is_settled_once_and_only_for_a_registered_partner() {
        assert_eq!(
            given::<Partner>(&[]).when(Command::Settle(settle("2026-11"))),
            Err(Rejection::NotRegistered)
        );
        assert_eq!(
            given::<Partner>(&[registered()]).when(Command::Settle(settle("2026-11"))),
            Ok(vec![Event::Settled(settle("2026-11"))])
        );
        assert_eq!(
            given::<Partner>(&[registered(), Event::Settled(settle("2026-11"))])
                .when(Command::Settle(settle("2026-11"))),
            Ok(vec![])
        );
    }
}
