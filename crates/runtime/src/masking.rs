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

/// Every character but the first `front` and the last `back` replaced by `*`;
/// a value too short to keep both is starred whole.
fn keep_ends(value: &str, front: usize, back: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= front + back {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - front - back;
    let mut out: String = chars[..front].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - back..]);
    out
}

/// A stored phone number with its middle hidden: `138****1234`, `021-****5678`.
pub fn mask_phone(number: &str) -> String {
    let front = match number.find('-') {
        Some(dash) => number[..=dash].chars().count(),
        None => 3,
    };
    keep_ends(number, front, 4)
}

/// A name with all but its first character hidden: `刘*`, `王**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            std::iter::once(first)
                .chain("*".repeat(rest).chars())
                .collect()
        }
    }
}

/// A VIN with the manufacturer code and the last four kept: `LSV**********1234`.
pub fn mask_vin(vin: &str) -> String {
    keep_ends(vin, 3, 4)
}

/// Free text replaced by how long it is.
pub fn hide_text(text: &str) -> String {
    match text.chars().count() {
        0 => String::new(),
        1 => "(hidden: 1 character)".to_owned(),
        n => format!("(hidden: {n} characters)"),
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
    fn phones_keep_the_prefix_and_the_last_four() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("021-62345678"), "021-****5678");
        assert_eq!(mask_phone("0755-2345678"), "0755-***5678");
        assert_eq!(mask_phone("1234567"), "*******", "too short to keep ends");
    }

    #[test]
    fn names_keep_the_first_character() {
        assert_eq!(mask_name("刘洋"), "刘*");
        assert_eq!(mask_name("王先生"), "王**");
        assert_eq!(
            mask_name("王"),
            "王*",
            "a one-character name still gets a star"
        );
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn vins_keep_the_manufacturer_and_the_last_four() {
        assert_eq!(mask_vin("LSVAG2186E2100001"), "LSV**********0001");
        assert_eq!(mask_vin("LSV1"), "****");
        assert_eq!(mask_vin(""), "");
    }

    #[test]
    fn free_text_shows_only_its_length() {
        assert_eq!(
            hide_text("发动机异响，三次未修好"),
            "(hidden: 11 characters)"
        );
        assert_eq!(hide_text("x"), "(hidden: 1 character)");
        assert_eq!(hide_text(""), "");
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
