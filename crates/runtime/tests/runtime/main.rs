//! The runtime against real databases, event stores and the deploy files it
//! must agree with.

mod monitoring;
mod privacy;
mod projections;
