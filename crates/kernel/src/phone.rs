//! Chinese phone numbers as people type them (`+86 138-1234-1234`,
//! `(021)62345678`), normalised to one form so search and deduplication work:
//! mobiles as 11 digits, landlines as `<area code>-<number>`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    Mobile,
    Landline,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone {
    number: String,
    kind: PhoneKind,
}

/// Area codes with two digits after the 0: Beijing 010 and 020–029; all others
/// have three (0311, 0755, …).
fn area_code_len(digits: &str) -> usize {
    if digits.starts_with("010") || (digits.starts_with("02") && digits.len() > 2) {
        3
    } else {
        4
    }
}

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, String> {
        let mut digits = String::with_capacity(input.len());
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '（' | '）' => {}
                '+' if digits.is_empty() => {}
                other => return Err(format!("{other:?} is not part of a phone number")),
            }
        }
        // International prefixes: +86 / 0086 / 86 in front of a mobile or area code.
        let national = digits
            .strip_prefix("0086")
            .or_else(|| digits.strip_prefix("86").filter(|rest| rest.len() >= 10))
            .map(|rest| {
                if rest.starts_with('1') {
                    rest.to_owned()
                } else {
                    format!("0{}", rest.trim_start_matches('0'))
                }
            })
            .unwrap_or(digits);
        if national.is_empty() {
            return Err("is empty".to_owned());
        }
        if national.starts_with('1') {
            let valid = national.len() == 11 && matches!(national.as_bytes()[1], b'3'..=b'9');
            return if valid {
                Ok(Phone {
                    number: national,
                    kind: PhoneKind::Mobile,
                })
            } else {
                Err("a mobile number has 11 digits and starts with 13–19".to_owned())
            };
        }
        if national.starts_with('0') {
            let split = area_code_len(&national);
            let (area, local) = national.split_at(split.min(national.len()));
            let valid = (7..=8).contains(&local.len()) && !local.starts_with(['0', '1']);
            return if valid {
                Ok(Phone {
                    number: format!("{area}-{local}"),
                    kind: PhoneKind::Landline,
                })
            } else {
                Err(format!(
                    "a landline is an area code ({area}) and a 7 or 8 digit number"
                ))
            };
        }
        Err("needs an area code (0…) or a mobile number (1…)".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.number
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> (String, PhoneKind) {
        let p = Phone::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        (p.number, p.kind)
    }

    #[test]
    fn mobiles_in_every_typed_form_normalise_alike() {
        for input in [
            "13812341234",
            "138-1234-1234",
            "+86 138 1234 1234",
            "008613812341234",
            "8613812341234",
        ] {
            assert_eq!(
                ok(input),
                ("13812341234".to_owned(), PhoneKind::Mobile),
                "{input}"
            );
        }
    }

    #[test]
    fn landlines_keep_their_area_code() {
        assert_eq!(
            ok("021-62345678"),
            ("021-62345678".to_owned(), PhoneKind::Landline)
        );
        assert_eq!(
            ok("(010) 8765 4321"),
            ("010-87654321".to_owned(), PhoneKind::Landline)
        );
        assert_eq!(
            ok("0755 2345678"),
            ("0755-2345678".to_owned(), PhoneKind::Landline)
        );
        assert_eq!(
            ok("+86 21 62345678"),
            ("021-62345678".to_owned(), PhoneKind::Landline)
        );
    }

    #[test]
    fn rejects_with_a_reason() {
        assert!(
            Phone::parse("1381234123")
                .expect_err("10 digits")
                .contains("11 digits")
        );
        assert!(
            Phone::parse("12812341234")
                .expect_err("12x")
                .contains("13–19")
        );
        assert!(
            Phone::parse("021-0234567")
                .expect_err("leading 0")
                .contains("area code (021)")
        );
        assert!(
            Phone::parse("62345678")
                .expect_err("no area code")
                .contains("area code")
        );
        assert!(
            Phone::parse("138x1234")
                .expect_err("letter")
                .contains("'x'")
        );
        assert!(Phone::parse("  ").expect_err("empty").contains("empty"));
    }
}
