//! The language a dealer reads: the texts that leave the system for people (the
//! OEM's feedback forms, early warnings, the complaint timeline) are written in
//! the dealer's language setting, Chinese or English, with times at the dealer
//! to the minute and money in yuan.

use jiff::Timestamp;
use jiff::tz::TimeZone;

mod chinese;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// Simplified Chinese (`zh-CN`), what a 4S store and its OEM read.
    #[default]
    Chinese,
    English,
}

impl Language {
    /// `zh-CN`, `zh`, `en`, `en-US` … as in a language setting.
    pub fn parse(text: &str) -> Option<Language> {
        let primary = text.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Language::Chinese),
            "en" => Some(Language::English),
            _ => None,
        }
    }

    /// The BCP 47 tag (`zh-CN`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::Chinese => "zh-CN",
            Language::English => "en",
        }
    }

    /// The text of this language out of the two.
    pub fn pick<'a>(self, english: &'a str, chinese: &'a str) -> &'a str {
        match self {
            Language::Chinese => chinese,
            Language::English => english,
        }
    }

    /// An instant as a person at the dealer reads it: the local date and time
    /// to the minute, then the zone (`2026-12-02 23:59 CST`; in Chinese
    /// `2026年12月2日 23:59`, the zone only when it is not China's).
    pub fn time(self, at: Timestamp, zone: &TimeZone) -> String {
        let local = at.to_zoned(zone.clone());
        match self {
            Language::English => local.strftime("%Y-%m-%d %H:%M %Z").to_string(),
            Language::Chinese => {
                let text = local.strftime("%Y年%-m月%-d日 %H:%M").to_string();
                if local.offset() == jiff::tz::offset(8) {
                    text
                } else {
                    format!("{text}（{}）", local.strftime("%Z"))
                }
            }
        }
    }

    /// One of the system's own sentences (an error, a reason) in this
    /// language: they are written in English, and Chinese has a catalogue of
    /// them.
    pub fn say(self, english: &str) -> String {
        match self {
            Language::English => english.to_owned(),
            Language::Chinese => chinese::chinese(english),
        }
    }

    /// An amount in fen as yuan with two decimals (`1234.50 yuan`, `1234.50元`).
    pub fn yuan(self, fen: i64) -> String {
        let amount = crate::money::yuan(fen);
        match self {
            Language::English => format!("{amount} yuan"),
            Language::Chinese => format!("{amount}元"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_by_their_primary_tag() {
        for (text, language) in [
            ("zh-CN", Language::Chinese),
            ("zh", Language::Chinese),
            ("zh_Hans", Language::Chinese),
            ("en", Language::English),
            ("EN-us", Language::English),
        ] {
            assert_eq!(Language::parse(text), Some(language), "{text}");
        }
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::parse(""), None);
        assert_eq!(Language::default().tag(), "zh-CN");
    }

    #[test]
    fn times_read_at_the_dealer_to_the_minute() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        let end_of_day = "2026-12-02T15:59:59.999999Z"
            .parse::<Timestamp>()
            .expect("instant");
        assert_eq!(
            Language::English.time(end_of_day, &shanghai),
            "2026-12-02 23:59 CST"
        );
        assert_eq!(
            Language::Chinese.time(end_of_day, &shanghai),
            "2026年12月2日 23:59"
        );
        let urumqi = TimeZone::fixed(jiff::tz::offset(6));
        assert_eq!(
            Language::Chinese.time(end_of_day, &urumqi),
            "2026年12月2日 21:59（+06）"
        );
    }

    #[test]
    fn money_reads_in_yuan() {
        assert_eq!(Language::English.yuan(20_000), "200.00 yuan");
        assert_eq!(Language::Chinese.yuan(123_456), "1234.56元");
    }
}
