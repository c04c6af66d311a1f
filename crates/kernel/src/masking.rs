//! The masks of personal data, pure: what a role without the right to see a
//! value is shown instead. Who sees what is decided by the runtime's policy.

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
    use super::*;

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
}
