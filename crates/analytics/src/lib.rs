//! Analytics: churn segments, monthly churn rates (rule A and rule B), their
//! breakdowns and the churn incentive scorecard, built from intake's events.
#![forbid(unsafe_code)]

pub mod domain;
