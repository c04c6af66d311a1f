//! The analytics read models and handlers against SQLite and PostgreSQL, fed
//! with intake's and complaint's events as those services write them.

mod fixture;

mod churn;
mod risk;
mod rules;
mod targets;
mod value;
