//! Generated protobuf messages and gRPC services of every aftercare context.
//! Other crates use these types; they never keep copies of them.
#![forbid(unsafe_code)]
#![allow(clippy::all, missing_docs)]

/// The encoded `FileDescriptorSet` of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/aftercare_descriptor.bin"));

pub mod calendar;

/// Event type names, generated from the `events.proto` of every context: the
/// one spelling of each, equal to the message's `prost::Name::full_name()`.
pub mod event_types {
    include!(concat!(env!("OUT_DIR"), "/event_types.rs"));
}

/// The aggregate of each stream, as it appears in subjects
/// (`aftercare.ev.<dealer>.<aggregate>.<id>`) and in filters.
pub mod aggregates {
    pub const CUSTOMER: &str = "customer";
    pub const VEHICLE: &str = "vehicle";
    pub const VISIT: &str = "visit";
    pub const LEAD: &str = "lead";
    pub const COMPLAINT: &str = "complaint";
    pub const WARNING: &str = "warning";
    pub const VEHICLE_CHURN: &str = "vehicle-churn";
    /// A vehicle's churn-risk warning.
    pub const VEHICLE_RISK: &str = "vehicle-risk";
    /// A dealer's targets of a year.
    pub const TARGETS: &str = "targets";
    pub const CALLBACK_TASK: &str = "callback-task";
    /// A dealer's month of callback measures, published once.
    pub const CALLBACK_MONTH: &str = "callback-month";
    pub const MEMBER: &str = "member";
    pub const PARTNER: &str = "partner";
    /// A customer's link to their member of a group-wide club.
    pub const MEMBER_LINK: &str = "member-link";
}
/// The data subjects personal data is sealed for, by the context that seals it
/// and any context that opens it.
pub mod sealed {
    /// A complaint ticket's personal data (customer, VIN, description,
    /// resolution): erasing it is the ticket's retention.
    pub fn complaint(ticket_id: &str) -> String {
        format!("{}/{ticket_id}", super::aggregates::COMPLAINT)
    }

    /// What is said on a callback task's calls (a complaint's words, the VIN).
    pub fn callback_task(task_id: &str) -> String {
        format!("callback/{task_id}")
    }
}
pub mod edge;
pub mod json;

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

pub mod callback {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.callback.v1.rs"));
    }
}

pub mod loyalty {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.loyalty.v1.rs"));
    }
}

pub mod complaint {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/aftercare.complaint.v1.rs"));
    }
}

#[cfg(test)]
mod tests {
    use prost::Name;

    #[test]
    fn event_type_names_are_the_messages_full_names() {
        use crate::event_types::{analytics, complaint, intake};
        assert_eq!(
            intake::VISIT_RECORDED,
            crate::intake::v1::VisitRecorded::full_name()
        );
        assert_eq!(
            intake::VEHICLE_OWNERSHIP_TRANSFERRED,
            crate::intake::v1::VehicleOwnershipTransferred::full_name()
        );
        assert_eq!(
            complaint::EARLY_WARNING_RAISED,
            crate::complaint::v1::EarlyWarningRaised::full_name()
        );
        assert_eq!(
            analytics::VEHICLE_CHURN_STATUS_CHANGED,
            crate::analytics::v1::VehicleChurnStatusChanged::full_name()
        );
    }
}

#[cfg(test)]
mod dealer_fields {
    use prost::Message;

    /// Every request of every service takes its dealer the same way: a field
    /// `dealer` (or `dealers`) of type `aftercare.common.v1.DealerId`.
    #[test]
    fn every_request_takes_the_dealer_as_a_dealer_id() {
        let set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let requests: Vec<String> = set
            .file
            .iter()
            .flat_map(|f| &f.service)
            .flat_map(|s| &s.method)
            .map(|m| m.input_type().trim_start_matches('.').to_owned())
            .collect();
        let mut checked = 0;
        for file in &set.file {
            for message in &file.message_type {
                let name = format!("{}.{}", file.package(), message.name());
                if !requests.contains(&name) {
                    continue;
                }
                for field in &message.field {
                    if matches!(field.name(), "dealer" | "dealers") {
                        assert_eq!(
                            field.type_name(),
                            ".aftercare.common.v1.DealerId",
                            "{name}.{}",
                            field.name()
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 20, "only {checked} dealer fields found");
    }
}
