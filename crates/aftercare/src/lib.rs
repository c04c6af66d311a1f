//! The one aftercare binary, as a library so end-to-end tests and `main` share
//! the same entry points.
#![forbid(unsafe_code)]

pub mod admin_token;
pub mod callback_cli;
pub mod client;
pub mod club_cli;
pub mod complaint_cli;
pub mod customer_cli;
pub mod demo;
pub mod dlq_cli;
pub mod import;
pub mod lead_cli;
pub mod migrate;
pub mod modules;
pub mod rebuild;
pub mod report_cli;
pub mod serve;
pub mod table;
pub mod vehicle_cli;
pub mod visit_cli;
pub mod web;
