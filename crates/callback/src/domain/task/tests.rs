use aftercare_kernel::aggregate::given;

use super::*;

fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + minute * 60).expect("instant")
}

fn attempt(agent: &str, result: AttemptResult, minute: i64) -> Command {
    Command::Attempt {
        agent: agent.into(),
        result,
        at: at(minute),
        note: String::new(),
        max_attempts: 3,
        retry_at: at(minute + 1_000),
        customer_id: "c-1".into(),
        phone: "13812341234".into(),
        lead_id: String::new(),
    }
}

fn claimed(agent: &str) -> Event {
    Event::Claimed {
        agent: agent.into(),
        at: at(0),
    }
}

fn attempted(agent: &str, result: AttemptResult, minute: i64, n: u32, closed: bool) -> Event {
    Event::Attempted {
        result,
        agent: agent.into(),
        at: at(minute),
        attempt: n,
        retry_at: (!closed).then(|| at(minute + 1_000)),
        closed,
        note: String::new(),
        customer_id: "c-1".into(),
        phone: "13812341234".into(),
        lead_id: String::new(),
    }
}

fn outcome(satisfaction: Option<u8>) -> Outcome {
    Outcome {
        agent: "wang".into(),
        at: at(5),
        satisfaction,
        appointment: None,
        churn_reason: None,
        note: String::new(),
        complaint: None,
    }
}

#[test]
fn a_second_claimant_is_refused_and_the_holder_claiming_again_changes_nothing() {
    let events = [claimed("wang")];
    assert_eq!(
        given::<Task>(&events).when(Command::Claim {
            agent: "li".into(),
            at: at(1)
        }),
        Err(Rejection::ClaimedBy("wang".into()))
    );
    assert_eq!(
        given::<Task>(&events).when(Command::Claim {
            agent: "wang".into(),
            at: at(1)
        }),
        Ok(vec![])
    );
}

#[test]
fn a_reassigned_task_belongs_to_its_new_holder() {
    let events = [
        claimed("wang"),
        Event::Reassigned {
            from: "wang".into(),
            to: "li".into(),
            by: "manager".into(),
            at: at(1),
        },
    ];
    assert_eq!(
        given::<Task>(&events).when(attempt("wang", AttemptResult::NoAnswer, 2)),
        Err(Rejection::ClaimedBy("li".into()))
    );
    assert_eq!(
        given::<Task>(&events).when(attempt("li", AttemptResult::NoAnswer, 2)),
        Ok(vec![attempted("li", AttemptResult::NoAnswer, 2, 1, false)])
    );
}

#[test]
fn calling_an_unclaimed_task_claims_it() {
    assert_eq!(
        given::<Task>(&[]).when(attempt("wang", AttemptResult::Busy, 3)),
        Ok(vec![
            Event::Claimed {
                agent: "wang".into(),
                at: at(3)
            },
            attempted("wang", AttemptResult::Busy, 3, 1, false)
        ])
    );
}

#[test]
fn three_unanswered_attempts_close_the_task_unreached() {
    let events = [
        claimed("wang"),
        attempted("wang", AttemptResult::NoAnswer, 1, 1, false),
        attempted("wang", AttemptResult::Busy, 2, 2, false),
    ];
    assert_eq!(
        given::<Task>(&events).when(attempt("wang", AttemptResult::NoAnswer, 3)),
        Ok(vec![attempted("wang", AttemptResult::NoAnswer, 3, 3, true)])
    );
    let mut closed = events.to_vec();
    closed.push(attempted("wang", AttemptResult::NoAnswer, 3, 3, true));
    assert_eq!(
        given::<Task>(&closed).when(attempt("wang", AttemptResult::Reached, 4)),
        Err(Rejection::Closed)
    );
    assert_eq!(
        given::<Task>(&closed).when(Command::Outcome(outcome(Some(5)))),
        Err(Rejection::NotReached)
    );
}

#[test]
fn a_wrong_number_or_a_refusal_closes_at_once() {
    for result in [AttemptResult::WrongNumber, AttemptResult::Refused] {
        assert_eq!(
            given::<Task>(&[claimed("wang")]).when(attempt("wang", result, 1)),
            Ok(vec![attempted("wang", result, 1, 1, true)])
        );
    }
}

#[test]
fn the_same_attempt_sent_twice_is_recorded_once() {
    let events = [
        claimed("wang"),
        attempted("wang", AttemptResult::NoAnswer, 1, 1, false),
    ];
    assert_eq!(
        given::<Task>(&events).when(attempt("wang", AttemptResult::NoAnswer, 1)),
        Ok(vec![])
    );
}

#[test]
fn a_reached_call_records_its_outcome_once() {
    let events = [
        claimed("wang"),
        attempted("wang", AttemptResult::Reached, 1, 1, true),
    ];
    assert_eq!(
        given::<Task>(&events).when(Command::Outcome(outcome(Some(4)))),
        Ok(vec![Event::OutcomeRecorded(outcome(Some(4)))])
    );
    assert_eq!(
        given::<Task>(&events).when(Command::Outcome(outcome(None))),
        Err(Rejection::EmptyOutcome)
    );
    let mut recorded = events.to_vec();
    recorded.push(Event::OutcomeRecorded(outcome(Some(4))));
    assert_eq!(
        given::<Task>(&recorded).when(Command::Outcome(outcome(Some(4)))),
        Ok(vec![]),
        "a retry"
    );
    assert_eq!(
        given::<Task>(&recorded).when(Command::Outcome(outcome(Some(2)))),
        Err(Rejection::OutcomeRecorded)
    );
}

#[test]
fn a_timer_task_is_scheduled_once() {
    let scheduled = Scheduled {
        kind: crate::domain::Kind::Birthday,
        customer_id: "c-1".into(),
        vehicle_id: String::new(),
        cause: "birthday".into(),
        window: crate::domain::schedule::Window {
            opens_at: at(0),
            due_at: at(10),
            closes_at: at(10),
        },
    };
    assert_eq!(
        given::<Task>(&[]).when(Command::Schedule(scheduled.clone())),
        Ok(vec![Event::Scheduled(scheduled.clone())])
    );
    assert_eq!(
        given::<Task>(&[Event::Scheduled(scheduled.clone())]).when(Command::Schedule(scheduled)),
        Ok(vec![])
    );
}

#[test]
fn a_missed_lead_report_is_flagged_once_and_not_after_a_call() {
    let flag = || Command::FlagReportMissed {
        lead_id: "l-1".into(),
        oem_reference: "OEM-7".into(),
        due_at: at(0),
    };
    let flagged = Event::ReportMissed {
        lead_id: "l-1".into(),
        oem_reference: "OEM-7".into(),
        due_at: at(0),
    };
    assert_eq!(given::<Task>(&[]).when(flag()), Ok(vec![flagged.clone()]));
    assert_eq!(given::<Task>(&[flagged]).when(flag()), Ok(vec![]));
    assert_eq!(
        given::<Task>(&[attempted("wang", AttemptResult::NoAnswer, 1, 1, false)]).when(flag()),
        Ok(vec![])
    );
}
