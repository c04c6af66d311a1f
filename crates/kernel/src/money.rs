//! Money as people read it: fen (分, the stored integer) shown as yuan with two
//! decimals.

/// `33611244` fen → `"336112.44"`; `-5` → `"-0.05"`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn fen_read_as_yuan_with_two_decimals() {
        assert_eq!(yuan(33_611_244), "336112.44");
        assert_eq!(yuan(20_000), "200.00");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }
}
