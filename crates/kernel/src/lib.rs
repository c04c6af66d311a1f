//! The pure kernel every context shares: identifiers of cars and people (`Vin`,
//! `Phone`, plates) and their masks, calendar months and time at the dealer, and
//! the aggregate trait with its given / when / then harness. No I/O, no async,
//! no clock: its dependency tree has none of tokio, tonic, sqlx or OpenTelemetry
//! (a test checks it), so a domain module can use it and stay pure.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod dealer_time;
pub mod language;
pub mod masking;
pub mod money;
pub mod month;
pub mod phone;
pub mod plate;
pub mod random;
pub mod vin;

pub use aggregate::{Aggregate, Given, Then, given, replay};
pub use dealer_time::{day_at, end_of_day, end_of_day_after};
pub use language::Language;
pub use month::Month;
pub use phone::Phone;
pub use vin::Vin;
