//! Chinese licence plates: a province character, the issuing office's letter, and
//! five characters (petrol) or six (new energy, `D`/`F` first); special suffixes
//! for trailers, driving schools, police, Hong Kong and Macao cars. Stored upper
//! case, without the separator dot people type (`沪A·12345` → `沪A12345`).

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
const SUFFIXES: &str = "挂学警港澳";

fn serial_char(c: char) -> bool {
    (c.is_ascii_uppercase() && c != 'I' && c != 'O') || c.is_ascii_digit()
}

pub fn normalise(input: &str) -> Result<String, String> {
    let plate: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, '·' | '.' | ' ' | '-' | '•'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let chars: Vec<char> = plate.chars().collect();
    let Some(&province) = chars.first() else {
        return Err("is empty".to_owned());
    };
    if !PROVINCES.contains(province) {
        return Err(format!(
            "must start with a province character such as 沪 or 粤, not {province:?}"
        ));
    }
    match chars.get(1) {
        Some(c) if c.is_ascii_uppercase() && *c != 'I' && *c != 'O' => {}
        _ => {
            return Err(
                "the second character is the issuing office's letter (A–Z, not I or O)".to_owned(),
            );
        }
    }
    let rest = &chars[2..];
    let (serial, suffix) = match rest.last() {
        Some(c) if SUFFIXES.contains(*c) => (&rest[..rest.len() - 1], true),
        _ => (rest, false),
    };
    if let Some(c) = serial.iter().find(|c| !serial_char(**c)) {
        return Err(format!(
            "{c:?} is not allowed in the serial (letters other than I and O, digits)"
        ));
    }
    let valid = match (serial.len(), suffix) {
        (5, _) => true,
        (4, true) => true,
        // New-energy plates: six characters, D (electric) or F (hybrid) first or last.
        (6, false) => matches!(serial[0], 'D' | 'F') || matches!(serial[5], 'D' | 'F'),
        _ => false,
    };
    if valid {
        Ok(plate)
    } else {
        Err(
            "after the province and letter come 5 characters, or 6 for a new-energy plate"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_plates_on_the_road() {
        assert_eq!(normalise("沪A·12345"), Ok("沪A12345".to_owned()));
        assert_eq!(normalise("粤b 3c4d5"), Ok("粤B3C4D5".to_owned()));
        assert_eq!(normalise("京AD12345"), Ok("京AD12345".to_owned()));
        assert_eq!(normalise("苏E12345F"), Ok("苏E12345F".to_owned()));
        assert_eq!(normalise("鲁B1234学"), Ok("鲁B1234学".to_owned()));
    }

    #[test]
    fn rejects_with_a_reason() {
        assert!(
            normalise("A12345")
                .expect_err("no province")
                .contains("province")
        );
        assert!(
            normalise("沪112345")
                .expect_err("no letter")
                .contains("letter")
        );
        assert!(
            normalise("沪A1234")
                .expect_err("short")
                .contains("5 characters")
        );
        assert!(normalise("沪A12O45").expect_err("O").contains("'O'"));
        assert!(
            normalise("沪A123456")
                .expect_err("6 without D/F")
                .contains("new-energy")
        );
    }
}
