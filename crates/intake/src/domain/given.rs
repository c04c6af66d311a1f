//! Given / when / then over a pure aggregate, from the runtime.

pub use aftercare_kernel::{Aggregate, replay};

#[cfg(test)]
pub use aftercare_kernel::given;
