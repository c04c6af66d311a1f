//! One member of the club: joined once, their vehicles and referred buyers,
//! a ledger of entries (earned, redeemed, adjusted) that never overdraws, and
//! their card, re-decided after every change with the reason it was given.

use std::collections::{BTreeMap, BTreeSet};

use aftercare_kernel::aggregate::Aggregate;
use jiff::Timestamp;
use jiff::civil::Date;

use super::rules::LoyaltyRules;
use super::tier::{Earned, Figures, card};
use super::{Card, Source};

/// When a command happens: the instant, the day at the dealer, and the
/// dealer's club rules the card is decided by.
#[derive(Clone, Debug, PartialEq)]
pub struct Terms {
    pub at: Timestamp,
    pub today: Date,
    pub rules: LoyaltyRules,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Joined {
        member_id: String,
        customer_id: String,
        card: Card,
        at: Timestamp,
    },
    VehicleLinked {
        vehicle_id: String,
        at: Timestamp,
    },
    VehicleUnlinked {
        vehicle_id: String,
        at: Timestamp,
    },
    VipSet {
        reason: String,
        by: String,
        at: Timestamp,
    },
    ReferralCounted {
        sale_id: String,
        at: Timestamp,
    },
    Earned {
        entry_id: String,
        source: Source,
        reference: String,
        points: i64,
        from_spend: bool,
        note: String,
        at: Timestamp,
        on: Date,
    },
    Redeemed {
        entry_id: String,
        points: i64,
        item: String,
        partner_id: String,
        key: String,
        by: String,
        value_fen: i64,
        at: Timestamp,
    },
    Adjusted {
        entry_id: String,
        points: i64,
        reason: String,
        by: String,
        at: Timestamp,
    },
    Expired {
        entry_id: String,
        points: i64,
        at: Timestamp,
    },
    TierChanged {
        from: Card,
        to: Card,
        reason: String,
        at: Timestamp,
    },
}

/// Who a member is, for a command that may make them one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub member_id: String,
    pub customer_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// A prospect with purchase intent applies (or an owner joins).
    Join {
        who: Identity,
        card: Card,
        terms: Terms,
    },
    /// A vehicle of the brand came on file for them: an owner joins green.
    LinkVehicle {
        who: Identity,
        vehicle_id: String,
        terms: Terms,
    },
    UnlinkVehicle {
        vehicle_id: String,
        terms: Terms,
    },
    /// Points earned; an owner (a visit, a referral) joins green.
    Earn {
        who: Identity,
        entry_id: String,
        source: Source,
        reference: String,
        points: i64,
        from_spend: bool,
        note: String,
        terms: Terms,
    },
    /// A referred prospect bought: one more referred buyer, and the points.
    Referral {
        who: Identity,
        sale_id: String,
        points: i64,
        terms: Terms,
    },
    Redeem {
        entry_id: String,
        points: i64,
        item: String,
        partner_id: String,
        key: String,
        by: String,
        value_fen: i64,
        terms: Terms,
    },
    Adjust {
        entry_id: String,
        points: i64,
        reason: String,
        by: String,
        terms: Terms,
    },
    SetVip {
        reason: String,
        by: String,
        terms: Terms,
    },
    /// The card as of the terms' day (points leave the window).
    Reevaluate {
        terms: Terms,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    NotMember,
    /// Redeeming more than the balance.
    Insufficient {
        balance: i64,
        asked: i64,
    },
    /// Points must be positive (an adjustment may be negative, not zero).
    NotPositive,
    /// The key was used for a different redemption or adjustment.
    KeyReused {
        key: String,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::NotMember => write!(f, "the customer is not a member of the club"),
            Rejection::Insufficient { balance, asked } => write!(
                f,
                "the balance is {balance} points; {asked} cannot be redeemed"
            ),
            Rejection::NotPositive => write!(f, "points must be more than 0"),
            Rejection::KeyReused { key } => write!(
                f,
                "the key {key} was used for a different entry; a new entry needs a new key"
            ),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Member {
    pub member_id: Option<String>,
    pub owner: bool,
    pub vip: bool,
    pub vehicles: BTreeSet<String>,
    pub referred: BTreeSet<String>,
    pub earned: Vec<Earned>,
    /// Entry ids on the ledger.
    pub entries: BTreeSet<String>,
    /// Keys of redemptions and adjustments, with what they were for.
    pub keys: BTreeMap<String, (i64, String)>,
    pub balance: i64,
    pub card: Option<Card>,
    /// Points redeemed or taken by hand, and lapsed: what the oldest earnings
    /// were used for.
    pub consumed: i64,
    pub expired: i64,
}

impl Member {
    pub fn figures(&self) -> Figures {
        Figures {
            owner: self.owner,
            vip: self.vip,
            vehicles: self.vehicles.len() as u32,
            referred: self.referred.len() as u32,
            earned: self.earned.clone(),
        }
    }

    fn join(&self, who: &Identity, card: Card, at: Timestamp) -> Vec<Event> {
        if self.member_id.is_some() {
            return Vec::new();
        }
        vec![Event::Joined {
            member_id: who.member_id.clone(),
            customer_id: who.customer_id.clone(),
            card,
            at,
        }]
    }

    fn keyed(&self, key: &str, points: i64, what: &str) -> Result<bool, Rejection> {
        match self.keys.get(key) {
            None => Ok(false),
            Some((p, w)) if *p == points && w == what => Ok(true),
            Some(_) => Err(Rejection::KeyReused {
                key: key.to_owned(),
            }),
        }
    }

    fn decide_change(&self, command: &Command) -> Result<Vec<Event>, Rejection> {
        let member = self.member_id.is_some();
        Ok(match command {
            Command::Join { who, card, terms } => self.join(who, *card, terms.at),
            Command::LinkVehicle {
                who,
                vehicle_id,
                terms,
            } => {
                let mut events = self.join(who, Card::Green, terms.at);
                if !self.vehicles.contains(vehicle_id) {
                    events.push(Event::VehicleLinked {
                        vehicle_id: vehicle_id.clone(),
                        at: terms.at,
                    });
                }
                events
            }
            Command::UnlinkVehicle { vehicle_id, terms } => {
                if self.vehicles.contains(vehicle_id) {
                    vec![Event::VehicleUnlinked {
                        vehicle_id: vehicle_id.clone(),
                        at: terms.at,
                    }]
                } else {
                    Vec::new()
                }
            }
            Command::Earn {
                who,
                entry_id,
                source,
                reference,
                points,
                from_spend,
                note,
                terms,
            } => {
                if self.entries.contains(entry_id) || *points <= 0 {
                    return Ok(Vec::new());
                }
                let mut events = self.join(who, Card::Green, terms.at);
                events.push(Event::Earned {
                    entry_id: entry_id.clone(),
                    source: *source,
                    reference: reference.clone(),
                    points: *points,
                    from_spend: *from_spend,
                    note: note.clone(),
                    at: terms.at,
                    on: terms.today,
                });
                events
            }
            Command::Referral {
                who,
                sale_id,
                points,
                terms,
            } => {
                if self.referred.contains(sale_id) {
                    return Ok(Vec::new());
                }
                let mut events = self.join(who, Card::Green, terms.at);
                events.push(Event::ReferralCounted {
                    sale_id: sale_id.clone(),
                    at: terms.at,
                });
                if *points > 0 {
                    events.push(Event::Earned {
                        entry_id: format!("referral/{sale_id}"),
                        source: Source::Referral,
                        reference: sale_id.clone(),
                        points: *points,
                        from_spend: false,
                        note: String::new(),
                        at: terms.at,
                        on: terms.today,
                    });
                }
                events
            }
            Command::Redeem {
                entry_id,
                points,
                item,
                partner_id,
                key,
                by,
                value_fen,
                terms,
            } => {
                if !member {
                    return Err(Rejection::NotMember);
                }
                if *points <= 0 {
                    return Err(Rejection::NotPositive);
                }
                if self.keyed(key, -points, item)? {
                    return Ok(Vec::new());
                }
                if *points > self.balance {
                    return Err(Rejection::Insufficient {
                        balance: self.balance,
                        asked: *points,
                    });
                }
                vec![Event::Redeemed {
                    entry_id: entry_id.clone(),
                    points: *points,
                    item: item.clone(),
                    partner_id: partner_id.clone(),
                    key: key.clone(),
                    by: by.clone(),
                    value_fen: *value_fen,
                    at: terms.at,
                }]
            }
            Command::Adjust {
                entry_id,
                points,
                reason,
                by,
                terms,
            } => {
                if !member {
                    return Err(Rejection::NotMember);
                }
                if *points == 0 {
                    return Err(Rejection::NotPositive);
                }
                if self.keyed(entry_id, *points, reason)? {
                    return Ok(Vec::new());
                }
                if self.balance + points < 0 {
                    return Err(Rejection::Insufficient {
                        balance: self.balance,
                        asked: -points,
                    });
                }
                vec![Event::Adjusted {
                    entry_id: entry_id.clone(),
                    points: *points,
                    reason: reason.clone(),
                    by: by.clone(),
                    at: terms.at,
                }]
            }
            Command::SetVip { reason, by, terms } => {
                if !member {
                    return Err(Rejection::NotMember);
                }
                if self.vip {
                    Vec::new()
                } else {
                    vec![Event::VipSet {
                        reason: reason.clone(),
                        by: by.clone(),
                        at: terms.at,
                    }]
                }
            }
            Command::Reevaluate { terms } => self.expiry(terms).into_iter().collect(),
        })
    }
}

impl Member {
    /// What lapses on the terms' day: points earned on or before the cutoff,
    /// less everything used or lapsed since (the oldest points go first).
    fn expiry(&self, terms: &Terms) -> Option<Event> {
        let months = terms.rules.expiry_months?;
        self.member_id.as_ref()?;
        let cutoff = terms
            .today
            .checked_sub(jiff::Span::new().months(i64::from(months)))
            .ok()?;
        let old: i64 = self
            .earned
            .iter()
            .filter(|e| e.on <= cutoff)
            .map(|e| e.points)
            .sum();
        let due = (old - self.consumed - self.expired).min(self.balance);
        (due > 0).then(|| Event::Expired {
            entry_id: format!("expiry/{}", terms.today),
            points: due,
            at: terms.at,
        })
    }
}

impl Command {
    /// The command for the member its customer file turned out to be (in a
    /// group-wide club, the group's member of the same person).
    pub fn for_member(mut self, member_id: &str) -> Self {
        match &mut self {
            Command::Join { who, .. }
            | Command::LinkVehicle { who, .. }
            | Command::Earn { who, .. }
            | Command::Referral { who, .. } => who.member_id = member_id.to_owned(),
            Command::UnlinkVehicle { .. }
            | Command::Redeem { .. }
            | Command::Adjust { .. }
            | Command::SetVip { .. }
            | Command::Reevaluate { .. } => {}
        }
        self
    }
}

fn terms_of(command: &Command) -> &Terms {
    match command {
        Command::Join { terms, .. }
        | Command::LinkVehicle { terms, .. }
        | Command::UnlinkVehicle { terms, .. }
        | Command::Earn { terms, .. }
        | Command::Referral { terms, .. }
        | Command::Redeem { terms, .. }
        | Command::Adjust { terms, .. }
        | Command::SetVip { terms, .. }
        | Command::Reevaluate { terms } => terms,
    }
}

impl Aggregate for Member {
    type Command = Command;
    type Event = Event;
    type Rejection = Rejection;

    /// The change, then the card its figures give (kept when downgrades are
    /// off and the figures fell), with the reason.
    fn decide(&self, command: Command) -> Result<Vec<Event>, Rejection> {
        let mut events = self.decide_change(&command)?;
        let after = events.iter().fold(self.clone(), |m, e| m.evolve(e));
        let Some(current) = after.card else {
            return Ok(events);
        };
        let terms = terms_of(&command);
        let (earned, reason) = card(&after.figures(), terms.today, &terms.rules);
        let to = if terms.rules.downgrades {
            earned
        } else {
            earned.max(current)
        };
        if to != current {
            events.push(Event::TierChanged {
                from: current,
                to,
                reason,
                at: terms.at,
            });
        }
        Ok(events)
    }

    fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::Joined {
                member_id, card, ..
            } => {
                self.member_id = Some(member_id.clone());
                self.owner = *card != Card::Prospect;
                self.card = Some(*card);
            }
            Event::VehicleLinked { vehicle_id, .. } => {
                self.owner = true;
                self.vehicles.insert(vehicle_id.clone());
            }
            Event::VehicleUnlinked { vehicle_id, .. } => {
                self.vehicles.remove(vehicle_id);
            }
            Event::VipSet { .. } => self.vip = true,
            Event::ReferralCounted { sale_id, .. } => {
                self.referred.insert(sale_id.clone());
            }
            Event::Earned {
                entry_id,
                points,
                from_spend,
                on,
                ..
            } => {
                self.entries.insert(entry_id.clone());
                self.balance += points;
                self.earned.push(Earned {
                    on: *on,
                    points: *points,
                    from_spend: *from_spend,
                });
            }
            Event::Redeemed {
                entry_id,
                points,
                key,
                item,
                ..
            } => {
                self.entries.insert(entry_id.clone());
                self.balance -= points;
                self.consumed += points;
                self.keys.insert(key.clone(), (-points, item.clone()));
            }
            Event::Adjusted {
                entry_id,
                points,
                reason,
                ..
            } => {
                self.entries.insert(entry_id.clone());
                self.balance += points;
                self.consumed += (-points).max(0);
                self.keys
                    .insert(entry_id.clone(), (*points, reason.clone()));
            }
            Event::Expired {
                entry_id, points, ..
            } => {
                self.entries.insert(entry_id.clone());
                self.balance -= points;
                self.expired += points;
            }
            Event::TierChanged { to, .. } => self.card = Some(*to),
        }
        self
    }
}

#[cfg(test)]
mod tests;
