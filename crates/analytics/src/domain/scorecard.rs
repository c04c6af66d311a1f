//! The churn incentive (a dealer's trial scheme): an advisor group below the
//! dealer's churn rate earns the bonus, above it pays it, equal is zero; the
//! service manager earns it when the month is no worse than the average of the
//! previous three months. Rates are compared exactly, never as floats.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::history::{MonthContacts, VisitMark};
use super::{Month, report::ChurnLine};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Equal,
    Worse,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    pub who: String,
    pub line: ChurnLine,
    pub verdict: Verdict,
    pub amount_fen: i64,
}

fn score(who: &str, line: &ChurnLine, order: Ordering, fen: i64) -> Score {
    let verdict = match order {
        Ordering::Less => Verdict::Better,
        Ordering::Equal => Verdict::Equal,
        Ordering::Greater => Verdict::Worse,
    };
    let amount_fen = match verdict {
        Verdict::Better => fen,
        Verdict::Equal => 0,
        Verdict::Worse => -fen,
    };
    Score {
        who: who.to_owned(),
        line: line.clone(),
        verdict,
        amount_fen,
    }
}

/// The rate the groups are judged against: every group's line added up, so
/// the dealer's figure has the groups' denominator (the visits charged to a
/// group; a sale, counted as a contact under rule B, has no group).
pub fn groups_rate(groups: &[ChurnLine]) -> ChurnLine {
    let mut sum = ChurnLine::default();
    for g in groups.iter().filter(|g| !g.value.is_empty()) {
        sum.absorb(g);
    }
    sum
}

/// Each advisor group against the dealer's rate. Groups without visits in the
/// cohort month have no rate and are not scored.
pub fn advisor_groups(dealer: &ChurnLine, groups: &[ChurnLine], fen: i64) -> Vec<Score> {
    groups
        .iter()
        .filter(|g| !g.value.is_empty())
        .filter_map(|g| {
            g.cmp_rate(dealer)
                .map(|order| score(&g.value, g, order, fen))
        })
        .collect()
}

/// Each service advisor against the rate the groups are judged on: shown with
/// the verdict, paid nothing of their own (the scheme pays the group).
pub fn advisors(rate: &ChurnLine, advisors: &[ChurnLine]) -> Vec<Score> {
    advisor_groups(rate, advisors, 0)
}

/// What the month's scheme pays out in all, deductions counted negative: the
/// advisor groups, the callback agents, the service manager and the workshop
/// supervisor. Advisors are judged and shown but paid through their group.
pub fn payout_fen<'a>(
    groups: impl IntoIterator<Item = &'a Score>,
    agents: impl IntoIterator<Item = &'a AgentScore>,
    leaders: impl IntoIterator<Item = &'a Score>,
) -> i64 {
    groups.into_iter().map(|s| s.amount_fen).sum::<i64>()
        + agents.into_iter().map(|a| a.amount_fen).sum::<i64>()
        + leaders.into_iter().map(|s| s.amount_fen).sum::<i64>()
}

/// A callback agent's score: the churn rates of the groups they called,
/// averaged by their calls, against the groups' rate.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentScore {
    pub agent: String,
    pub calls: u64,
    pub rate: f64,
    pub verdict: Verdict,
    pub amount_fen: i64,
}

/// Each agent judged on the groups they called (`(agent, group, calls)`):
/// below the groups' rate earns `fen`, above it loses it, equal is zero.
/// Calls to a group without a rate that month do not count; an agent with
/// none is not scored.
pub fn callback_agents(
    rate: &ChurnLine,
    groups: &[ChurnLine],
    calls: &[(String, String, u64)],
    fen: i64,
) -> Vec<AgentScore> {
    let Some(dealer) = rate.rate() else {
        return Vec::new();
    };
    let mut by_agent: std::collections::BTreeMap<&str, (u64, f64)> = Default::default();
    for (agent, group, called) in calls {
        let Some(group_rate) = groups
            .iter()
            .find(|g| &g.value == group)
            .and_then(ChurnLine::rate)
        else {
            continue;
        };
        let entry = by_agent.entry(agent.as_str()).or_default();
        entry.0 += called;
        entry.1 += *called as f64 * group_rate;
    }
    by_agent
        .into_iter()
        .filter(|(_, (calls, _))| *calls > 0)
        .map(|(agent, (calls, weighted))| {
            let average = weighted / calls as f64;
            let verdict = if (average - dealer).abs() < 1e-12 {
                Verdict::Equal
            } else if average < dealer {
                Verdict::Better
            } else {
                Verdict::Worse
            };
            AgentScore {
                agent: agent.to_owned(),
                calls,
                rate: average,
                verdict,
                amount_fen: match verdict {
                    Verdict::Better => fen,
                    Verdict::Equal => 0,
                    Verdict::Worse => -fen,
                },
            }
        })
        .collect()
}

/// The service manager: this month's rate against the average rate of the
/// previous months that have one. "No worse than the average" earns the bonus.
pub fn service_manager(month: &ChurnLine, previous: &[ChurnLine], fen: i64) -> Option<Score> {
    against_previous("service manager", month, previous, fen)
}

/// The workshop supervisor, by the service manager's rule.
pub fn workshop_supervisor(month: &ChurnLine, previous: &[ChurnLine], fen: i64) -> Option<Score> {
    against_previous("workshop supervisor", month, previous, fen)
}

fn against_previous(
    who: &str,
    month: &ChurnLine,
    previous: &[ChurnLine],
    fen: i64,
) -> Option<Score> {
    let rated: Vec<&ChurnLine> = previous.iter().filter(|l| l.base > 0).collect();
    if month.base <= 0 || rated.is_empty() {
        return None;
    }
    // churned/base <= (Σ cᵢ/bᵢ)/n  ⇔  n·churned·Πbᵢ <= base·Σ(cᵢ·Π_{j≠i} bⱼ)
    let product: i128 = rated.iter().map(|l| i128::from(l.base)).product();
    let left = rated.len() as i128 * i128::from(month.churned) * product;
    let sum: i128 = rated
        .iter()
        .map(|l| i128::from(l.churned) * (product / i128::from(l.base)))
        .sum();
    let right = i128::from(month.base) * sum;
    let order = if left <= right {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    Some(score(who, month, order, fen))
}

/// The visit that last served a vehicle at or before `at` (microseconds since
/// the epoch): whom a complaint filed then is charged to.
pub fn served_last(months: &BTreeMap<Month, MonthContacts>, at: i64) -> Option<&VisitMark> {
    months
        .values()
        .rev()
        .flat_map(|c| c.visits.iter().rev())
        .find(|v| v.closed_at <= at)
}

/// A month's complaints charged to the advisor groups and advisors who last
/// served the vehicles complained about (the visit each complaint follows).
/// A complaint about no known vehicle — none given, erased, never serviced
/// here — and a visit without a group or advisor count for the dealer only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Charged {
    pub groups: BTreeMap<String, u64>,
    pub advisors: BTreeMap<String, u64>,
}

pub fn charge_complaints<'a>(served: impl IntoIterator<Item = Option<&'a VisitMark>>) -> Charged {
    let mut out = Charged::default();
    for visit in served.into_iter().flatten() {
        if !visit.group.is_empty() {
            *out.groups.entry(visit.group.clone()).or_default() += 1;
        }
        if !visit.advisor.is_empty() {
            *out.advisors.entry(visit.advisor.clone()).or_default() += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(closed_at: i64, group: &str, advisor: &str) -> VisitMark {
        VisitMark {
            closed_at,
            group: group.to_owned(),
            advisor: advisor.to_owned(),
        }
    }

    #[test]
    fn the_payout_adds_groups_agents_and_leaders_and_leaves_advisors_to_their_group() {
        let paid = |who: &str, amount_fen: i64| Score {
            who: who.to_owned(),
            line: ChurnLine::default(),
            verdict: Verdict::Equal,
            amount_fen,
        };
        let groups = [
            paid("A组", 20_000),
            paid("B组", -20_000),
            paid("C组", 20_000),
        ];
        let agents = [AgentScore {
            agent: "王芳".to_owned(),
            calls: 12,
            rate: 0.02,
            verdict: Verdict::Better,
            amount_fen: 10_000,
        }];
        let manager = paid("service manager", -20_000);
        let supervisor = paid("workshop supervisor", 20_000);
        assert_eq!(
            payout_fen(&groups, &agents, [&manager, &supervisor]),
            30_000
        );
        assert_eq!(payout_fen([], [], []), 0);
    }

    #[test]
    fn a_complaint_is_charged_to_the_visit_before_it() {
        let mut months = BTreeMap::new();
        months.insert(
            Month::new(2026, 1),
            MonthContacts {
                visits: vec![mark(100, "A组", "张伟"), mark(200, "B组", "李娜")],
                sales: 0,
            },
        );
        months.insert(
            Month::new(2026, 3),
            MonthContacts {
                visits: vec![mark(900, "C组", "王强")],
                sales: 0,
            },
        );
        assert_eq!(served_last(&months, 99), None, "filed before any visit");
        assert_eq!(
            served_last(&months, 100).map(|v| v.advisor.as_str()),
            Some("张伟")
        );
        assert_eq!(
            served_last(&months, 899).map(|v| v.advisor.as_str()),
            Some("李娜")
        );
        assert_eq!(
            served_last(&months, 5_000).map(|v| v.group.as_str()),
            Some("C组")
        );
        let no_group = mark(300, "", "赵敏");
        let charged = charge_complaints([
            served_last(&months, 150),
            served_last(&months, 250),
            served_last(&months, 260),
            None,
            Some(&no_group),
        ]);
        assert_eq!(
            charged.groups.into_iter().collect::<Vec<_>>(),
            [("A组".to_owned(), 1), ("B组".to_owned(), 2)]
        );
        assert_eq!(
            charged.advisors.into_iter().collect::<Vec<_>>(),
            [
                ("张伟".to_owned(), 1),
                ("李娜".to_owned(), 2),
                ("赵敏".to_owned(), 1)
            ]
        );
    }

    fn line(value: &str, churned: i64, base: i64) -> ChurnLine {
        ChurnLine {
            value: value.to_owned(),
            base,
            churned,
        }
    }

    #[test]
    fn groups_below_the_dealer_rate_earn_above_pay_equal_is_zero() {
        // Dealer: 60 of 1,000 = 6%.
        let dealer = line("", 60, 1000);
        let groups = [
            line("A", 20, 400), // 5%
            line("B", 30, 500), // 6%
            line("C", 10, 100), // 10%
            line("D", 0, 0),    // no visits in the cohort month
        ];
        let scores = advisor_groups(&dealer, &groups, 20_000);
        let amounts: Vec<(&str, Verdict, i64)> = scores
            .iter()
            .map(|s| (s.who.as_str(), s.verdict, s.amount_fen))
            .collect();
        assert_eq!(
            amounts,
            [
                ("A", Verdict::Better, 20_000),
                ("B", Verdict::Equal, 0),
                ("C", Verdict::Worse, -20_000),
            ]
        );
    }

    #[test]
    fn equal_rates_are_equal_even_where_floats_would_round() {
        // 1/3 and 3/9 compare equal exactly.
        let scores = advisor_groups(&line("", 3, 9), &[line("A", 1, 3)], 20_000);
        assert_eq!(scores[0].verdict, Verdict::Equal);
    }

    #[test]
    fn under_rule_b_the_groups_are_judged_on_their_own_denominator() {
        // Rule B adds the month's 100 sales (no group) to the dealer's base,
        // with 2 vehicles churned after a sale: 52 of 900. The groups are
        // judged against their own visits added up, 50 of 800 (6.25%): A at
        // 5% is better, B at 7.5% worse, on the same denominator.
        let groups = [line("", 2, 100), line("A", 20, 400), line("B", 30, 400)];
        let rate = groups_rate(&groups);
        assert_eq!(
            (rate.churned, rate.base),
            (50, 800),
            "the sales line is not a group"
        );
        let scores = advisor_groups(&rate, &groups, 20_000);
        let verdicts: Vec<(&str, Verdict)> =
            scores.iter().map(|s| (s.who.as_str(), s.verdict)).collect();
        assert_eq!(verdicts, [("A", Verdict::Better), ("B", Verdict::Worse)]);
    }

    #[test]
    fn a_dealer_with_one_group_is_equal_to_itself() {
        let groups = [line("A", 7, 90)];
        let scores = advisor_groups(&groups_rate(&groups), &groups, 20_000);
        assert_eq!(
            scores
                .iter()
                .map(|s| (s.verdict, s.amount_fen))
                .collect::<Vec<_>>(),
            [(Verdict::Equal, 0)]
        );
    }

    #[test]
    fn advisors_are_shown_against_the_groups_rate_and_paid_nothing_themselves() {
        let rate = line("", 50, 800);
        let scores = advisors(
            &rate,
            &[line("张伟", 2, 100), line("李娜", 9, 100), line("", 1, 10)],
        );
        let seen: Vec<(&str, Verdict, i64)> = scores
            .iter()
            .map(|s| (s.who.as_str(), s.verdict, s.amount_fen))
            .collect();
        assert_eq!(
            seen,
            [("张伟", Verdict::Better, 0), ("李娜", Verdict::Worse, 0)]
        );
    }

    #[test]
    fn an_agent_is_judged_on_the_groups_they_called() {
        // The groups: A 5% (20/400), B 7.5% (30/400); together 6.25%.
        let groups = [line("A", 20, 400), line("B", 30, 400)];
        let rate = groups_rate(&groups);
        let calls = |pairs: &[(&str, &str, u64)]| -> Vec<(String, String, u64)> {
            pairs
                .iter()
                .map(|(a, g, n)| ((*a).into(), (*g).into(), *n))
                .collect()
        };
        let scores = callback_agents(
            &rate,
            &groups,
            &calls(&[
                ("王芳", "A", 30),
                ("李静", "B", 10),
                // Half and half: exactly the groups' rate.
                ("赵敏", "A", 5),
                ("赵敏", "B", 5),
                // Only a group without visits that month: not scored.
                ("孙丽", "C", 8),
            ]),
            10_000,
        );
        let seen: Vec<(&str, u64, Verdict, i64)> = scores
            .iter()
            .map(|s| (s.agent.as_str(), s.calls, s.verdict, s.amount_fen))
            .collect();
        assert_eq!(
            seen,
            [
                ("李静", 10, Verdict::Worse, -10_000),
                ("王芳", 30, Verdict::Better, 10_000),
                ("赵敏", 10, Verdict::Equal, 0),
            ]
        );
        assert!((scores[2].rate - 0.0625).abs() < 1e-12);
        // A dealer without a rate scores nobody.
        assert!(
            callback_agents(
                &line("", 0, 0),
                &groups,
                &calls(&[("王芳", "A", 3)]),
                10_000
            )
            .is_empty()
        );
    }

    #[test]
    fn the_workshop_supervisor_follows_the_service_managers_rule() {
        let previous = [line("", 4, 100), line("", 10, 200), line("", 3, 100)];
        let supervisor = workshop_supervisor(&line("", 8, 200), &previous, 20_000).expect("score");
        assert_eq!(
            (supervisor.who.as_str(), supervisor.amount_fen),
            ("workshop supervisor", 20_000)
        );
        let worse = workshop_supervisor(&line("", 41, 1000), &previous, 15_000).expect("score");
        assert_eq!(worse.amount_fen, -15_000);
    }

    #[test]
    fn the_service_manager_is_judged_against_the_previous_three_months() {
        // Previous months: 4%, 5%, 3% → average 4%.
        let previous = [line("", 4, 100), line("", 10, 200), line("", 3, 100)];
        let at_average = service_manager(&line("", 8, 200), &previous, 20_000).expect("score");
        assert_eq!(at_average.amount_fen, 20_000, "≤ the average earns");
        let above = service_manager(&line("", 41, 1000), &previous, 20_000).expect("score");
        assert_eq!(above.amount_fen, -20_000);
        let below = service_manager(&line("", 39, 1000), &previous, 20_000).expect("score");
        assert_eq!(below.amount_fen, 20_000);
        // Months without visits do not count towards the average; none at all → no score.
        let sparse = [line("", 0, 0), line("", 5, 100)];
        assert_eq!(
            service_manager(&line("", 6, 100), &sparse, 20_000).map(|s| s.amount_fen),
            Some(-20_000)
        );
        assert_eq!(
            service_manager(&line("", 6, 100), &[line("", 0, 0)], 20_000),
            None
        );
    }
}
