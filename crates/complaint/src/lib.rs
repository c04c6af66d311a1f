//! Complaints: OEM hotline and walk-in complaints as tickets with five grades, a
//! first-contact owner, deadlines at the dealer, and escalation.
#![forbid(unsafe_code)]

pub mod domain;
