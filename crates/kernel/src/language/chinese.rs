//! The Chinese of the system's own sentences: each English sentence (its
//! `{}` the values it names) beside its Chinese, where `{0}`, `{1}` … place the
//! values in Chinese order. A sentence not listed stays in English.

/// (English pattern, Chinese template).
const CATALOG: &[(&str, &str)] = &[
    // Every field.
    ("is required", "必填"),
    ("is required: {}", "必填：{0}"),
    ("is in the future", "不能是将来的时间"),
    ("{} is in the future", "{0}是将来的时间"),
    ("must not be negative", "不能为负数"),
    ("{} fen is negative", "{0}分为负数"),
    ("{} is not 1-5", "{0}不是1–5级"),
    ("must be 1–100 characters", "须为1–100个字符"),
    ("must be 1–64 characters", "须为1–64个字符"),
    (
        "must be 1–64 letters, digits, '-', '_', '/' or '.'",
        "须为1–64个字母、数字或“-”“_”“/”“.”",
    ),
    ("is {} characters; at most {}", "有{0}个字符，最多{1}个"),
    (
        "is {} characters long; at most {} are accepted",
        "有{0}个字符，最多接受{1}个",
    ),
    (
        "contains the control character {} at byte {}; only printable text, tabs and line breaks are accepted",
        "第{1}字节处有控制字符{0}；只接受可打印文字、制表符和换行",
    ),
    ("has more than {} items", "超过{0}项"),
    (
        "has {} items; at most {} are accepted",
        "有{0}项，最多接受{1}项",
    ),
    ("and {} more violations not listed", "另有{0}处错误未列出"),
    ("is not valid UTF-8", "不是有效的UTF-8文本"),
    (
        "must be printable ASCII, not {}",
        "须为可打印的ASCII字符，不能是{0}",
    ),
    // Ids, codes, pages.
    ("is not a customer id", "不是客户编号"),
    ("is not a lead id", "不是线索编号"),
    ("is not a ticket id", "不是投诉单号"),
    ("is not a {} id", "不是{0}编号"),
    ("is not a fault code", "不是故障码"),
    (
        "is not a token from a previous page",
        "不是上一页给出的翻页标记",
    ),
    (
        "is empty: give a phone number or part of a name",
        "为空：请输入电话号码或部分姓名",
    ),
    // VINs, phones, months, dates.
    ("must be 17 characters, not {}", "须为17位，现为{0}位"),
    (
        "character {} {} is not allowed (letters other than I, O, Q, and digits)",
        "第{0}位的{1}不允许（只能是除I、O、Q以外的字母和数字）",
    ),
    (
        "check digit (9th character) is {}, the other characters give {}",
        "校验位（第9位）是{0}，按其他各位应为{1}",
    ),
    (
        "{} is not part of a phone number",
        "{0}不是电话号码的一部分",
    ),
    ("{} is not a month like 2026-09", "{0}不是形如2026-09的月份"),
    ("{} is not a calendar date", "{0}不是有效日期"),
    ("{} is not a calendar month", "{0}不是有效月份"),
    (
        "{}: the year must be between {} and {}",
        "{0}：年份须在{1}至{2}之间",
    ),
    (
        "{} is out of range: the year must be between {} and {}",
        "{0}超出范围：年份须在{1}至{2}之间",
    ),
    (
        "{} seconds since 1970 is out of range: the year must be between {} and {}",
        "自1970年起{0}秒超出范围：年份须在{1}至{2}之间",
    ),
    ("is before opened_at", "早于开单时间（opened_at）"),
    (
        "has no bounds at the dealer",
        "在经销商的时区内没有对应的时间范围",
    ),
    (
        "{} has no end at the dealer",
        "{0}在经销商的时区内没有结束时间",
    ),
    ("{} is after today ({})", "{0}晚于今天（{1}）"),
    (
        "{} is after the current month at dealer {} ({})",
        "{0}晚于经销商{1}的当前月份（{2}）",
    ),
    ("{} is more than 36 months", "{0}超过36个月"),
    ("{} is not a breakdown", "{0}不是可用的分组方式"),
    (
        "{} is in the future: the sweep judges deadlines as of now or earlier (server.allow_future_sweeps is for tests)",
        "{0}是将来的时间：时限检查只按现在或更早的时间判断（server.allow_future_sweeps 仅供测试）",
    ),
    // Choices.
    (
        "must be hotline, web, referral, walk-in, event or oem",
        "须为 hotline、web、referral、walk-in、event 或 oem",
    ),
    (
        "must be open, in-progress, resolved or closed",
        "须为 open、in-progress、resolved 或 closed",
    ),
    ("must be phone, sms or wechat", "须为 phone、sms 或 wechat"),
    // Customers, vehicles, leads.
    (
        "at least one phone number is needed to reach the customer",
        "至少需要一个电话号码才能联系到客户",
    ),
    ("the customer is already registered", "该客户已登记"),
    (
        "the customer already owns this vehicle",
        "该客户已拥有这辆车",
    ),
    ("the buyer cannot refer themselves", "购车人不能推荐自己"),
    ("vehicle {} is already on file", "车辆{0}已建档"),
    (
        "vehicle {} had no visit or sale by {}",
        "车辆{0}截至{1}没有进站或销售记录",
    ),
    ("the lead exists", "该线索已存在"),
    ("the lead is already {}", "该线索已是“{0}”"),
    (
        "a converted lead names its customer",
        "已成交的线索须注明客户",
    ),
    (
        "a lost lead needs the reason it was lost",
        "战败的线索须注明原因",
    ),
    (
        "a referral lead needs the referring customer",
        "转介绍线索须注明推荐人",
    ),
    (
        "an OEM lead needs the OEM's reference for its status report",
        "厂家线索须有厂家编号，以便回报进展",
    ),
    // Complaints.
    (
        "an OEM hotline complaint needs the OEM's ticket number",
        "厂家热线投诉须有厂家工单号",
    ),
    ("the complaint is already filed", "该投诉已登记"),
    ("no such complaint", "没有这张投诉单"),
    ("a {} complaint cannot be {}", "“{0}”状态的投诉不能再{1}"),
    (
        "the complaint is already at grade 5 (crisis)",
        "该投诉已是最高级别（5级，危机）",
    ),
    (
        "the complaint's records are past their retention and erased",
        "该投诉的记录已过保存期限并已删除",
    ),
    // What was not found.
    ("complaint {} at dealer {}", "经销商{1}的投诉单{0}"),
    ("customer {} at dealer {}", "经销商{1}的客户{0}"),
    ("vehicle {} at dealer {}", "经销商{1}的车辆{0}"),
    // Callbacks.
    ("task {} at dealer {}", "经销商{1}的回访任务{0}"),
    ("is not a task id", "不是任务编号"),
    ("{} is not a task kind", "{0}不是任务类型"),
    ("{} is not a churn reason", "{0}不是流失原因"),
    ("{} is in the past", "{0}已经过去"),
    ("the task is claimed by {}", "任务已由{0}认领"),
    ("the task is closed", "任务已关闭"),
    (
        "the customer was not reached on this task",
        "此任务尚未联系上客户",
    ),
    (
        "this task's outcome is already recorded",
        "此任务的结果已记录",
    ),
    (
        "an outcome needs a satisfaction, an appointment, a churn reason or a complaint",
        "结果须包含满意度、预约、流失原因或投诉之一",
    ),
    (
        "the task was superseded by a later visit",
        "此任务因之后的进站已不再需要",
    ),
    ("the task's records are erased", "任务记录已删除"),
    (
        "slot {} on {} is full; the next free slot is {} on {}",
        "{1}第{0}时段已约满；下一个空闲时段是{3}第{2}时段",
    ),
    (
        "slot {} on {} is full and no slot is free in the {} days after",
        "{1}第{0}时段已约满，之后{2}天内没有空闲时段",
    ),
    (
        "is {}; a day has slots 1 to {}",
        "为{0}；每天的时段为1至{1}",
    ),
    // The owner club.
    ("club member {} at dealer {}", "经销商{1}的会员{0}"),
    ("partner {} at dealer {}", "经销商{1}的合作商户{0}"),
    ("the customer's club membership", "该客户的会员资格"),
    (
        "the balance is {} points; {} cannot be redeemed",
        "积分余额为{0}分，不能兑换{1}分",
    ),
    ("must be more than 0", "须大于0"),
    (
        "the key {} was used for a different entry; a new entry needs a new key",
        "编号{0}已用于另一笔记录；新记录须用新编号",
    ),
    (
        "{} is not over yet at the dealer; a month is settled once it has ended",
        "{0}尚未结束；月份结束后才能结算",
    ),
    (
        "must be 1–64 letters, digits, '-' or '_'",
        "须为1–64个字母、数字或“-”“_”",
    ),
    (
        "must be 1–64 letters, digits, '-', '_', '/', '.' or ':'",
        "须为1–64个字母、数字或“-”“_”“/”“.”“:”",
    ),
    ("complaint {}", "投诉单{0}"),
    ("customer {}", "客户{0}"),
    ("vehicle {}", "车辆{0}"),
    ("lead {}", "线索{0}"),
    // Who may do what.
    ("{} may not act for dealer {}", "{0}无权操作经销商{1}"),
    ("{} needs one of the roles {}", "{0}需要以下角色之一：{1}"),
    (
        "the caller's scope has no dealers",
        "调用者的权限范围内没有经销商",
    ),
    // JSON records.
    ("must be a JSON object", "须为JSON对象"),
    ("must be a JSON object, not {}", "须为JSON对象，不能是{0}"),
    ("is not JSON: {}", "不是JSON：{0}"),
    ("cannot be read from {}: {}", "无法读取{0}：{1}"),
];

/// `english` in Chinese: a listed sentence with its values put back; `field:
/// sentence` with the sentence translated; anything else as it is.
pub fn chinese(english: &str) -> String {
    for (pattern, template) in CATALOG {
        if let Some(values) = capture(pattern, english) {
            let mut out = (*template).to_owned();
            for (i, value) in values.iter().enumerate() {
                out = out.replace(&format!("{{{i}}}"), value);
            }
            return out;
        }
    }
    match english.split_once(": ") {
        Some((field, rest)) if !field.contains(' ') => format!("{field}：{}", chinese(rest)),
        _ => english.to_owned(),
    }
}

/// The values `pattern`'s `{}` stand for in `text`, when `text` is the pattern.
fn capture<'a>(pattern: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = pattern.split("{}").collect();
    let mut rest = text.strip_prefix(parts[0])?;
    let mut values = Vec::new();
    for (i, part) in parts.iter().enumerate().skip(1) {
        let end = if i == parts.len() - 1 {
            if part.is_empty() {
                rest.len()
            } else {
                rest.strip_suffix(part).map(str::len)?
            }
        } else {
            // The value is at least one character; the next literal follows it.
            let first = rest.chars().next()?.len_utf8();
            first + rest.get(first..)?.find(part)?
        };
        if end == 0 {
            return None;
        }
        values.push(&rest[..end]);
        rest = &rest[end + part.len()..];
    }
    (parts.len() > 1 || rest.is_empty()).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_translated_with_their_values_in_place() {
        assert_eq!(chinese("is required"), "必填");
        assert_eq!(
            chinese("2999-01-01 is in the future"),
            "2999-01-01是将来的时间"
        );
        assert_eq!(
            chinese("complaint T-1 at dealer D001"),
            "经销商D001的投诉单T-1",
            "values in Chinese order"
        );
        assert_eq!(
            chinese("a closed complaint cannot be escalated"),
            "“closed”状态的投诉不能再escalated"
        );
        assert_eq!(
            chinese("vin: must be 17 characters, not 9"),
            "vin：须为17位，现为9位"
        );
        assert_eq!(
            chinese("slot 1 on 2026-12-03 is full; the next free slot is 2 on 2026-12-03"),
            "2026-12-03第1时段已约满；下一个空闲时段是2026-12-03第2时段"
        );
        assert_eq!(chinese("the task is claimed by 王芳"), "任务已由王芳认领");
        assert_eq!(
            chinese("something new"),
            "something new",
            "a sentence not listed stays as it is"
        );
        assert_eq!(chinese("is required, twice"), "is required, twice");
    }

    #[test]
    fn every_pattern_matches_itself_with_values() {
        for (pattern, template) in CATALOG {
            let example = pattern.replace("{}", "X9");
            let got = chinese(&example);
            assert_ne!(got, example, "{pattern}");
            let slots = pattern.matches("{}").count();
            for i in 0..slots {
                assert!(
                    template.contains(&format!("{{{i}}}")),
                    "{template} lacks {{{i}}}"
                );
            }
        }
    }
}
