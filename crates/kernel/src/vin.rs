//! Vehicle identification numbers: 17 characters (ISO 3779), no I, O or Q, and in
//! China the 9th is a check digit (GB 16735, the same computation as in North America).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vin(String);

/// Why a VIN is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    #[error("must be 17 characters, not {0}")]
    Length(usize),
    #[error(
        "character {position} {character:?} is not allowed (letters other than I, O, Q, and digits)"
    )]
    Character { position: usize, character: char },
    #[error("check digit (9th character) is {found:?}, the other characters give {expected:?}")]
    CheckDigit { found: char, expected: char },
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

fn value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A' | 'J' => Some(1),
        'B' | 'K' | 'S' => Some(2),
        'C' | 'L' | 'T' => Some(3),
        'D' | 'M' | 'U' => Some(4),
        'E' | 'N' | 'V' => Some(5),
        'F' | 'W' => Some(6),
        'G' | 'P' | 'X' => Some(7),
        'H' | 'Y' => Some(8),
        'R' | 'Z' => Some(9),
        _ => None,
    }
}

/// The check digit the other 16 characters call for.
pub fn check_digit(vin: &str) -> Option<char> {
    let mut sum = 0;
    for (i, c) in vin.chars().enumerate() {
        sum += value(c)? * WEIGHTS.get(i).copied()?;
    }
    Some(match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10)?,
    })
}

impl Vin {
    /// Accepts lower case and surrounding spaces (as typed at a service desk);
    /// stores upper case.
    pub fn parse(input: &str) -> Result<Vin, VinError> {
        let vin: String = input.trim().to_ascii_uppercase();
        let count = vin.chars().count();
        if count != 17 {
            return Err(VinError::Length(count));
        }
        if let Some((i, c)) = vin.chars().enumerate().find(|(_, c)| value(*c).is_none()) {
            return Err(VinError::Character {
                position: i + 1,
                character: c,
            });
        }
        let expected = check_digit(&vin).expect("every character has a value");
        let found = vin.chars().nth(8).expect("17 characters");
        if found != expected {
            return Err(VinError::CheckDigit { found, expected });
        }
        Ok(Vin(vin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The namespace of every id aftercare derives from outside references (a
/// repair order's number, a VIN): the same reference gives the same id in every
/// context, minutes or years later.
pub const ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6166_7465_7263_6172_652d_696e_7461_6b65);

/// A dealer's file for a vehicle: derived from the VIN, so a visit of an unknown
/// vehicle and its later sale record land on the same file, and any context that
/// knows a VIN (a complaint's) finds the vehicle's file.
pub fn vehicle_id(dealer: &str, vin: &Vin) -> uuid::Uuid {
    uuid::Uuid::new_v5(&ID_NAMESPACE, format!("vehicle/{dealer}/{vin}").as_bytes())
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_vins() {
        // The textbook example, and one with X as its check digit.
        assert_eq!(
            Vin::parse("1M8GDM9AXKP042788").expect("valid").as_str(),
            "1M8GDM9AXKP042788"
        );
        assert_eq!(
            Vin::parse(" lsvag2186e2100001 ").map(|v| v.0),
            Ok("LSVAG2186E2100001".to_owned())
        );
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(Vin::parse("LSVAG2186E210000"), Err(VinError::Length(16)));
        assert_eq!(
            Vin::parse("LSVAG2I86E2100001"),
            Err(VinError::Character {
                position: 7,
                character: 'I'
            })
        );
        assert_eq!(
            Vin::parse("LSVAG2181E2100001"),
            Err(VinError::CheckDigit {
                found: '1',
                expected: '6'
            })
        );
    }

    #[test]
    fn every_check_digit_value_round_trips() {
        let mut seen = std::collections::BTreeSet::new();
        for serial in 0..200 {
            let body = format!("LFV2A21K0{:08}", serial);
            let digit = check_digit(&body).expect("valid characters");
            let vin: String = body
                .chars()
                .take(8)
                .chain([digit])
                .chain(body.chars().skip(9))
                .collect();
            assert!(Vin::parse(&vin).is_ok(), "{vin}");
            seen.insert(digit);
        }
        assert!(seen.contains(&'X'), "the X case was exercised");
    }
}
