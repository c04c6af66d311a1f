//! Intake's pure domain: validation of the identifiers dealers type every day
//! (VINs, phone numbers, plates) and the rules of the customer file. No I/O, no
//! clock: `now` comes in with the command.

pub mod customer;
pub mod given;
pub mod lead;
pub mod vehicle;
pub mod visit;

pub use aftercare_kernel::{phone, plate, vin};

/// One rejected field: which, and why, in words a DMS integrator can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
