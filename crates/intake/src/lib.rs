//! Intake: who the customers are, which vehicles they own, what was sold, every
//! service visit the DMS reports, and every lead. Every other service reads its
//! events.
#![forbid(unsafe_code)]

pub mod domain;
