//! The callback service through its gRPC handlers on an embedded log, with
//! intake's handlers feeding it customers, sales, visits and leads, on SQLite
//! and on PostgreSQL.

mod app;
mod claims;
mod outcomes;
mod reminders;
mod worklist;
