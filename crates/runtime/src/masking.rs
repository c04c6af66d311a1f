//! The one policy for personal data in answers: who sees it, and what the others
//! see instead. Every service asks [`PersonalData::for_principal`] and masks with
//! its methods, so a role cannot see a name in one call that another call hides.
//!
//! Personal data is what identifies or describes a customer: names, phone
//! numbers, VINs, and free text typed about them (a complaint's description and
//! resolution). Ids are not: they lead only to files that are masked the same way.
//!
//! The masks:
//! - phone: the prefix (or area code) and the last four, `138****1234`;
//! - name: the first character, one star for each other, `刘*`;
//! - VIN: the manufacturer code (WMI, three characters) and the last four,
//!   `LSV**********1234`;
//! - free text: replaced by its length, `(hidden: 42 characters)`, so a viewer
//!   knows there is text without reading any of it.

pub use aftercare_kernel::masking::{hide_text, mask_name, mask_phone, mask_vin};

use crate::Principal;

/// Whether a caller sees personal data as recorded or masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonalData {
    Shown,
    Masked,
}

impl PersonalData {
    /// Roles with the right to see personal data see it; everyone else
    /// ([`crate::Role::Viewer`], [`crate::Role::Dms`]) sees it masked.
    pub fn for_principal(principal: &Principal) -> Self {
        if principal.sees_personal_data() {
            PersonalData::Shown
        } else {
            PersonalData::Masked
        }
    }

    pub fn is_masked(self) -> bool {
        self == PersonalData::Masked
    }

    pub fn phone(self, number: &str) -> String {
        self.apply(number, mask_phone)
    }

    pub fn name(self, name: &str) -> String {
        self.apply(name, mask_name)
    }

    pub fn vin(self, vin: &str) -> String {
        self.apply(vin, mask_vin)
    }

    pub fn text(self, text: &str) -> String {
        self.apply(text, hide_text)
    }

    fn apply(self, value: &str, mask: fn(&str) -> String) -> String {
        match self {
            PersonalData::Shown => value.to_owned(),
            PersonalData::Masked => mask(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::{DealerScope, Role};

    fn principal(role: Role) -> Principal {
        Principal {
            name: role.as_str().to_owned(),
            roles: BTreeSet::from([role]),
            scope: DealerScope::All,
        }
    }

    #[test]
    fn only_roles_without_the_right_see_masks() {
        for role in [
            Role::Admin,
            Role::CareManager,
            Role::CallbackAgent,
            Role::ServiceAdvisor,
            Role::Manager,
            Role::Oem,
            Role::Viewer,
            Role::Dms,
        ] {
            let seen = PersonalData::for_principal(&principal(role));
            let masked = matches!(role, Role::Viewer | Role::Dms);
            assert_eq!(seen.is_masked(), masked, "{role:?}");
            let shown = [
                seen.phone("13812341234"),
                seen.name("刘洋"),
                seen.vin("LSVAG2186E2100001"),
                seen.text("发动机异响"),
            ];
            let expected = if masked {
                [
                    "138****1234",
                    "刘*",
                    "LSV**********0001",
                    "(hidden: 5 characters)",
                ]
            } else {
                ["13812341234", "刘洋", "LSVAG2186E2100001", "发动机异响"]
            };
            assert_eq!(shown, expected, "{role:?}");
        }
    }
}
