//! The complaint gRPC service, called as the server calls it, on SQLite and on
//! PostgreSQL read models: what each role sees of a complaint, retried filings,
//! and which dealer's customers a complaint may name.

mod app;
mod language;
mod masking;
mod overdue;
mod paging;
mod retries;
mod scope;
