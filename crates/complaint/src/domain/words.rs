//! What the complaint context writes for people — the OEM's feedback form, the
//! staff's timeline, early warnings — in the dealer's language, with times at
//! the dealer to the minute and money in yuan. What people typed (a reason, a
//! resolution) is never part of these words: it travels beside them, so each
//! reader sees it as their role may.

use aftercare_kernel::Language;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::ticket::EscalationReason;
use super::{Grade, Satisfaction};

/// The words of one dealer: its language and its clock.
#[derive(Clone, Copy, Debug)]
pub struct Words<'a> {
    pub language: Language,
    pub zone: &'a TimeZone,
}

impl Words<'_> {
    fn time(&self, at: Timestamp) -> String {
        self.language.time(at, self.zone)
    }

    fn grade(&self, grade: Grade) -> String {
        match self.language {
            Language::English => format!("grade {}", grade.value()),
            Language::Chinese => format!("{}级", grade.value()),
        }
    }

    /// A handler's name for people: the default handlers' titles in the
    /// dealer's language, a dealer's own handler names as configured.
    fn handler(&self, handler: &str) -> String {
        let titles = match handler {
            "front-desk" => ("the front desk", "前台接待"),
            "department-manager" => ("the department manager", "部门经理"),
            "director" => ("the director", "总监"),
            "general-manager" => ("the general manager", "总经理"),
            other => return other.to_owned(),
        };
        match self.language {
            Language::English => titles.0.to_owned(),
            Language::Chinese => titles.1.to_owned(),
        }
    }

    /// The timeline's words for a filing: its grade and who handles it.
    pub fn filed(&self, grade: Grade, handler: &str) -> String {
        let handler = self.handler(handler);
        match self.language {
            Language::English => format!("{}, handled by {handler}", self.grade(grade)),
            Language::Chinese => format!("{}，由{handler}处理", self.grade(grade)),
        }
    }

    /// Why a ticket was escalated, without what anyone typed: by hand, because
    /// the customer complained again, or because a deadline passed (when).
    pub fn escalation_cause(&self, reason: &EscalationReason) -> String {
        match (self.language, reason) {
            (Language::English, EscalationReason::ByHand(_)) => "escalated by hand".into(),
            (Language::Chinese, EscalationReason::ByHand(_)) => "人工升级".into(),
            (Language::English, EscalationReason::ComplainedAgain(_)) => {
                "the customer complained again".into()
            }
            (Language::Chinese, EscalationReason::ComplainedAgain(_)) => "客户再次投诉".into(),
            (Language::English, EscalationReason::DeadlineMissed(at)) => {
                format!("the deadline of {} passed", self.time(*at))
            }
            (Language::Chinese, EscalationReason::DeadlineMissed(at)) => {
                format!("已超过处理时限（{}）", self.time(*at))
            }
        }
    }

    /// The timeline's words for an escalation: the grades, the new handler and
    /// the cause.
    pub fn escalated(
        &self,
        from: Grade,
        to: Grade,
        handler: &str,
        reason: &EscalationReason,
    ) -> String {
        let cause = self.escalation_cause(reason);
        let handler = self.handler(handler);
        match self.language {
            Language::English => format!(
                "{} → {}, handled by {handler}: {cause}",
                self.grade(from),
                to.value()
            ),
            Language::Chinese => format!(
                "{} → {}，由{handler}处理：{cause}",
                self.grade(from),
                self.grade(to)
            ),
        }
    }

    /// An escalation as one sentence with what was typed (opened by `open`),
    /// for the OEM's feedback form.
    pub fn escalation_sentence(
        &self,
        reason: &EscalationReason,
        open: &dyn Fn(&str) -> String,
    ) -> String {
        let cause = self.escalation_cause(reason);
        match reason {
            EscalationReason::DeadlineMissed(_) => cause,
            EscalationReason::ByHand(text) | EscalationReason::ComplainedAgain(text) => {
                self.with_note(&cause, &open(text))
            }
        }
    }

    /// The timeline's words for a resolution: the compensation.
    pub fn compensation(&self, fen: i64) -> String {
        match self.language {
            Language::English => format!("compensation {}", self.language.yuan(fen)),
            Language::Chinese => format!("补偿{}", self.language.yuan(fen)),
        }
    }

    /// A resolution as one sentence: what was done, then the compensation.
    pub fn resolution_sentence(&self, resolution: &str, fen: i64) -> String {
        match self.language {
            Language::English => format!("{resolution} ({})", self.compensation(fen)),
            Language::Chinese => format!("{resolution}（{}）", self.compensation(fen)),
        }
    }

    pub fn satisfaction(&self, satisfaction: Satisfaction) -> &'static str {
        match satisfaction {
            Satisfaction::Satisfied => self.language.pick("satisfied", "满意"),
            Satisfaction::Neutral => self.language.pick("neutral", "一般"),
            Satisfaction::Dissatisfied => self.language.pick("dissatisfied", "不满意"),
        }
    }

    /// The system's words and what someone typed, as one line.
    pub fn with_note(&self, words: &str, note: &str) -> String {
        match (words.is_empty(), note.is_empty()) {
            (_, true) => words.to_owned(),
            (true, false) => note.to_owned(),
            (false, false) => format!("{words}{}{note}", self.language.pick(": ", "：")),
        }
    }

    /// Early warning: a car in the workshop with no promised completion.
    pub fn workshop_stay(&self, opened: Timestamp) -> String {
        match self.language {
            Language::English => format!(
                "in the workshop since {} with no promised completion",
                self.time(opened)
            ),
            Language::Chinese => format!("自{}起在店维修，未承诺交车时间", self.time(opened)),
        }
    }

    /// Early warning: a repair open too long.
    pub fn long_repair(&self, opened: Timestamp) -> String {
        match self.language {
            Language::English => format!("repair open since {}", self.time(opened)),
            Language::Chinese => format!("维修自{}起仍未完工", self.time(opened)),
        }
    }

    /// Early warning: the same fault on `visits` visits within `days` days.
    pub fn repeat_fault(&self, code: &str, visits: u32, days: u32) -> String {
        match self.language {
            Language::English => format!("fault {code} on {visits} visits within {days} days"),
            Language::Chinese => format!("故障{code}在{days}天内出现{visits}次进站"),
        }
    }

    /// Early warning: a serious complaint reopened.
    pub fn reopened(&self, grade: Grade) -> String {
        match self.language {
            Language::English => format!("a {} complaint was reopened", self.grade(grade)),
            Language::Chinese => format!("{}投诉被重新打开", self.grade(grade)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("instant")
    }

    #[test]
    fn an_escalation_reads_as_a_sentence_in_either_language() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        let open = |text: &str| text.to_uppercase();
        let missed = EscalationReason::DeadlineMissed(at("2026-12-02T06:42:01.393143Z"));
        let again = EscalationReason::ComplainedAgain("noise".into());
        let by_hand = EscalationReason::ByHand("upset".into());
        let en = Words {
            language: Language::English,
            zone: &shanghai,
        };
        let zh = Words {
            language: Language::Chinese,
            zone: &shanghai,
        };
        assert_eq!(
            en.escalation_sentence(&missed, &open),
            "the deadline of 2026-12-02 14:42 CST passed"
        );
        assert_eq!(
            en.escalation_sentence(&again, &open),
            "the customer complained again: NOISE"
        );
        assert_eq!(
            en.escalation_sentence(&by_hand, &open),
            "escalated by hand: UPSET"
        );
        assert_eq!(
            zh.escalation_sentence(&missed, &open),
            "已超过处理时限（2026年12月2日 14:42）"
        );
        assert_eq!(zh.escalation_sentence(&again, &open), "客户再次投诉：NOISE");
        assert_eq!(zh.escalation_sentence(&by_hand, &open), "人工升级：UPSET");
        let (two, three) = (Grade::new(2).expect("2"), Grade::new(3).expect("3"));
        assert_eq!(
            en.escalated(two, three, "director", &missed),
            "grade 2 → 3, handled by the director: the deadline of 2026-12-02 14:42 CST passed"
        );
        assert_eq!(
            zh.escalated(two, three, "总监", &by_hand),
            "2级 → 3级，由总监处理：人工升级"
        );
        // The default handlers by their titles; a dealer's own names as given.
        let one = Grade::new(1).expect("1");
        assert_eq!(zh.filed(one, "front-desk"), "1级，由前台接待处理");
        assert_eq!(
            en.filed(one, "front-desk"),
            "grade 1, handled by the front desk"
        );
        assert_eq!(zh.filed(one, "客服经理"), "1级，由客服经理处理");
    }

    #[test]
    fn forms_say_money_satisfaction_and_warnings_in_the_dealers_words() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        let en = Words {
            language: Language::English,
            zone: &shanghai,
        };
        let zh = Words {
            language: Language::Chinese,
            zone: &shanghai,
        };
        assert_eq!(
            en.resolution_sentence("refunded", 20_000),
            "refunded (compensation 200.00 yuan)"
        );
        assert_eq!(
            zh.resolution_sentence("已退款", 20_000),
            "已退款（补偿200.00元）"
        );
        assert_eq!(zh.satisfaction(Satisfaction::Dissatisfied), "不满意");
        assert_eq!(en.satisfaction(Satisfaction::Neutral), "neutral");
        let opened = at("2026-11-30T01:05:00Z");
        assert_eq!(
            en.workshop_stay(opened),
            "in the workshop since 2026-11-30 09:05 CST with no promised completion"
        );
        assert_eq!(
            zh.long_repair(opened),
            "维修自2026年11月30日 09:05起仍未完工"
        );
        assert_eq!(
            zh.repeat_fault("P0301", 3, 90),
            "故障P0301在90天内出现3次进站"
        );
        assert_eq!(
            en.reopened(Grade::new(4).expect("4")),
            "a grade 4 complaint was reopened"
        );
        assert_eq!(en.with_note("", "typed"), "typed");
        assert_eq!(zh.with_note("人工升级", ""), "人工升级");
    }
}
