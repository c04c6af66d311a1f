//! Complaints as the dealers' standards define them, pure: one complaint, one
//! ticket (一事一单); the first receiver owns it (首问负责制); five grades with their
//! handlers and deadlines; escalation raises the grade and hands the ticket on.

pub mod deadline;
pub mod rules;
pub mod ticket;
pub mod warning;
pub mod words;

use std::fmt;

/// Complaint grade 1–5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grade(u8);

impl Grade {
    pub const HIGHEST: Grade = Grade(5);

    pub fn new(value: u32) -> Option<Grade> {
        (1..=5).contains(&value).then_some(Grade(value as u8))
    }

    pub fn value(self) -> u32 {
        u32::from(self.0)
    }

    /// 0-based, for per-grade tables.
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }

    /// The next grade up, none above crisis.
    pub fn raised(self) -> Option<Grade> {
        Grade::new(self.value() + 1)
    }

    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "minor grumble",
            2 => "grumble",
            3 => "complaint",
            4 => "major complaint",
            _ => "crisis",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grade {} ({})", self.0, self.name())
    }
}

/// Where a complaint came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    WalkIn,
    Phone,
    Callback,
    /// The OEM's 400/800 hotline, with the OEM's ticket number.
    OemHotline,
    ConsumerAssociation,
    Media,
    GroupHq,
}

impl Channel {
    /// The grade a complaint from this channel starts at when the receiver does
    /// not say: the OEM hotline, the consumer association and group HQ are major
    /// complaints (grade 4) by definition.
    pub fn default_grade(self) -> Grade {
        match self {
            Channel::OemHotline | Channel::ConsumerAssociation | Channel::GroupHq => Grade(4),
            _ => Grade(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Satisfaction {
    Satisfied,
    Neutral,
    Dissatisfied,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Filed, no response yet.
    Open,
    /// Responded to and being worked on (also after a reopening).
    InProgress,
    Resolved,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in-progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Open,
            Status::InProgress,
            Status::Resolved,
            Status::Closed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}
