//! Given / when / then over a pure aggregate, from the runtime.

pub use aftercare_runtime::command::{Aggregate, replay};

#[cfg(test)]
pub use aftercare_runtime::command::given;
