//! The loyalty service through its gRPC handlers on an embedded log, with
//! intake's handlers feeding it sales, visits and customers, on SQLite and on
//! PostgreSQL.

mod app;
mod club;
mod group;
