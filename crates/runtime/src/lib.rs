//! What every aftercare service stands on: configuration, telemetry, gRPC hosting,
//! authentication, read-model databases, and the projection and policy runners.
#![forbid(unsafe_code)]

pub mod auth;
pub mod command;
pub mod config;
pub mod data_dir;
pub mod db;
pub mod dead_letters;
pub mod error;
pub mod grpc;
pub mod hex;
pub mod i18n;
pub mod masking;
pub mod memory;
pub mod metrics;
pub mod module;
pub mod paging;
pub mod password;
pub mod privacy;
pub mod projection;
pub mod reference;
pub mod request_id;
mod secret;
pub mod session_key;
pub mod store;
pub mod system;
pub mod telemetry;

pub use auth::{Authenticator, DealerScope, Principal, Role, TokenTable};
pub use config::Config;
pub use db::Database;
pub use error::{FieldViolation, ServiceError};
pub use masking::PersonalData;
pub use request_id::ClientRequestId;
pub use secret::Secret;
