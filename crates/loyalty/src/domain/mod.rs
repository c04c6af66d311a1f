//! The owner club as the dealers run it, pure: the five cards and the rules
//! that give them, and one member's points ledger — every entry with its
//! source, the balance and the 24-month window derived from the entries.

pub mod identity;
pub mod member;
pub mod partner;
pub mod rules;
pub mod tier;

/// The five cards, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Card {
    Prospect,
    Green,
    GreenOneStar,
    GreenTwoStar,
    Gold,
}

impl Card {
    pub fn as_str(self) -> &'static str {
        match self {
            Card::Prospect => "prospect",
            Card::Green => "green",
            Card::GreenOneStar => "green-1-star",
            Card::GreenTwoStar => "green-2-star",
            Card::Gold => "gold",
        }
    }

    pub fn parse(text: &str) -> Option<Card> {
        [
            Card::Prospect,
            Card::Green,
            Card::GreenOneStar,
            Card::GreenTwoStar,
            Card::Gold,
        ]
        .into_iter()
        .find(|c| c.as_str() == text)
    }
}

/// Where earned points came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Visit,
    Referral,
    Activity,
}
