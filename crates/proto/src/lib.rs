//! Generated protobuf messages and gRPC services of every aftercare context.
//! Other crates use these types; they never keep copies of them.
#![forbid(unsafe_code)]
#![allow(clippy::all, missing_docs)]

/// The encoded `FileDescriptorSet` of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/aftercare_descriptor.bin"));

pub mod calendar;
pub mod edge;

pub mod common {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.common.v1.rs"));
    }
}

pub mod system {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.system.v1.rs"));
    }
}

pub mod intake {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.intake.v1.rs"));
    }
}

pub mod analytics {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.analytics.v1.rs"));
    }
}

pub mod complaint {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.complaint.v1.rs"));
    }
}
