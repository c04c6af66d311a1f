use aftercare_kernel::{given, replay};

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().expect("instant")
}

fn terms() -> Terms {
    Terms {
        rules: ComplaintRules::default(),
        zone: TimeZone::get("Asia/Shanghai").expect("zone"),
    }
}

fn hotline() -> Filing {
    Filing {
        ticket_id: "t1".into(),
        channel: Channel::OemHotline,
        oem_ticket: Some("OEM-400-778".into()),
        grade: None,
        customer_id: "c1".into(),
        vin: "LSVAG2186E2100001".into(),
        description: "the car came back from repair with the same noise".into(),
        product_liability: false,
        receiver: "前台 王芳".into(),
    }
}

fn filed(filing: Filing, when: &str) -> Event {
    let events = given::<Ticket>(&[])
        .when(Command::File {
            filing,
            at: at(when),
            terms: terms(),
        })
        .expect("filed");
    events.into_iter().next().expect("one event")
}

#[test]
fn an_oem_hotline_complaint_is_a_major_complaint_for_the_general_manager_in_five_days() {
    // Filed Monday 2026-09-07 10:00 in Shanghai.
    let Event::Filed {
        filing_grade,
        handler,
        resolve_by,
        respond_by,
        owner,
        ..
    } = filed(hotline(), "2026-09-07T02:00:00Z")
    else {
        panic!("not filed")
    };
    assert_eq!(filing_grade.value(), 4);
    assert_eq!(handler, "general-manager");
    assert_eq!(owner, "前台 王芳", "the first receiver owns it");
    // Five days: the end of Saturday 2026-09-12 in Shanghai.
    assert_eq!(resolve_by, at("2026-09-12T15:59:59.999999Z"));
    assert_eq!(respond_by, at("2026-09-08T02:00:00Z"));
}

#[test]
fn a_walk_in_grumble_starts_at_grade_one_at_the_front_desk() {
    let Event::Filed {
        filing_grade,
        handler,
        ..
    } = filed(
        Filing {
            channel: Channel::WalkIn,
            oem_ticket: None,
            ..hotline()
        },
        "2026-09-07T02:00:00Z",
    )
    else {
        panic!("not filed")
    };
    assert_eq!((filing_grade.value(), handler.as_str()), (1, "front-desk"));
}

#[test]
fn filing_twice_or_without_what_it_needs_is_refused() {
    let first = filed(hotline(), "2026-09-07T02:00:00Z");
    let again = given::<Ticket>(&[first]).when(Command::File {
        filing: hotline(),
        at: at("2026-09-07T03:00:00Z"),
        terms: terms(),
    });
    assert_eq!(again, Err(Rejection::AlreadyFiled));
    let no_number = given::<Ticket>(&[]).when(Command::File {
        filing: Filing {
            oem_ticket: None,
            ..hotline()
        },
        at: at("2026-09-07T02:00:00Z"),
        terms: terms(),
    });
    assert!(matches!(
        no_number,
        Err(Rejection::Invalid {
            field: "oem_ticket",
            ..
        })
    ));
}

#[test]
fn escalation_raises_the_grade_and_hands_the_ticket_on() {
    let walk_in = filed(
        Filing {
            channel: Channel::WalkIn,
            oem_ticket: None,
            grade: Grade::new(2),
            ..hotline()
        },
        "2026-09-07T02:00:00Z",
    );
    let events = given::<Ticket>(&[walk_in])
        .when(Command::Escalate {
            reason: EscalationReason::ByHand("wants compensation".into()),
            by: "经理".into(),
            at: at("2026-09-07T05:00:00Z"),
            terms: terms(),
        })
        .expect("escalated");
    let Event::Escalated {
        from,
        to,
        handler,
        resolve_by,
        ..
    } = &events[0]
    else {
        panic!("not escalated")
    };
    assert_eq!(
        (from.value(), to.value(), handler.as_str()),
        (2, 3, "director")
    );
    // Escalated complaints are resolved in 3 days.
    assert_eq!(*resolve_by, at("2026-09-10T15:59:59.999999Z"));
}

#[test]
fn a_missed_deadline_escalates_once() {
    let filing = filed(hotline(), "2026-09-07T02:00:00Z");
    let ticket: Ticket = replay(std::slice::from_ref(&filing));
    let deadline = ticket.resolve_by.expect("deadline");
    let ack = Event::Acknowledged {
        by: "总经理".into(),
        at: at("2026-09-07T03:00:00Z"),
    };
    let missed = |events: &[Event], now: &str| {
        given::<Ticket>(events).when(Command::Escalate {
            reason: EscalationReason::DeadlineMissed(deadline),
            by: "deadline sweep".into(),
            at: at(now),
            terms: terms(),
        })
    };
    let base = [filing.clone(), ack.clone()];
    // Not yet passed: nothing.
    assert_eq!(missed(&base, "2026-09-12T15:00:00Z"), Ok(vec![]));
    let escalated = missed(&base, "2026-09-12T16:00:00Z").expect("escalated");
    assert_eq!(escalated.len(), 1);
    // The sweep again with the same deadline: the deadline is no longer in force.
    let after = [filing, ack, escalated[0].clone()];
    assert_eq!(missed(&after, "2026-09-12T17:00:00Z"), Ok(vec![]));
}

#[test]
fn an_unanswered_ticket_escalates_on_its_response_deadline_and_gets_a_new_one() {
    let filing = filed(
        Filing {
            channel: Channel::Phone,
            oem_ticket: None,
            ..hotline()
        },
        "2026-09-07T02:00:00Z",
    );
    let respond = replay::<Ticket>(std::slice::from_ref(&filing))
        .respond_by
        .expect("respond by");
    let events = given::<Ticket>(std::slice::from_ref(&filing))
        .when(Command::Escalate {
            reason: EscalationReason::DeadlineMissed(respond),
            by: "deadline sweep".into(),
            at: at("2026-09-08T02:30:00Z"),
            terms: terms(),
        })
        .expect("escalated");
    let state = replay::<Ticket>(&[filing, events[0].clone()]);
    assert_eq!(state.grade.map(Grade::value), Some(2));
    assert_eq!(state.respond_by, Some(at("2026-09-09T02:30:00Z")));
}

#[test]
fn illegal_transitions_are_refused_with_the_reason() {
    let filing = filed(hotline(), "2026-09-07T02:00:00Z");
    let close = given::<Ticket>(std::slice::from_ref(&filing)).when(Command::Close {
        satisfaction: Satisfaction::Satisfied,
        at: at("2026-09-08T00:00:00Z"),
    });
    assert_eq!(
        close,
        Err(Rejection::NotAllowed {
            command: "closed",
            status: Status::Open
        })
    );
    let resolved = Event::Resolved {
        resolution: "replaced the part".into(),
        compensation_fen: 50_000,
        by: "总经理".into(),
        at: at("2026-09-08T00:00:00Z"),
    };
    let escalate = given::<Ticket>(&[filing.clone(), resolved.clone()]).when(Command::Escalate {
        reason: EscalationReason::ByHand("late".into()),
        by: "x".into(),
        at: at("2026-09-08T01:00:00Z"),
        terms: terms(),
    });
    assert!(matches!(
        escalate,
        Err(Rejection::NotAllowed {
            command: "escalated",
            ..
        })
    ));
    let ack = given::<Ticket>(&[]).when(Command::Acknowledge {
        by: "x".into(),
        at: at("2026-09-08T01:00:00Z"),
    });
    assert_eq!(ack, Err(Rejection::NotFiled));
    let negative = given::<Ticket>(&[filing]).when(Command::Resolve {
        resolution: "refund".into(),
        compensation_fen: -1,
        by: "x".into(),
        at: at("2026-09-08T01:00:00Z"),
    });
    assert!(matches!(
        negative,
        Err(Rejection::Invalid {
            field: "compensation",
            ..
        })
    ));
}

#[test]
fn a_closed_ticket_reopens_with_a_new_deadline_at_its_grade() {
    let events = [
        filed(hotline(), "2026-09-07T02:00:00Z"),
        Event::Resolved {
            resolution: "replaced the part".into(),
            compensation_fen: 0,
            by: "总经理".into(),
            at: at("2026-09-08T00:00:00Z"),
        },
        Event::Closed {
            satisfaction: Satisfaction::Dissatisfied,
            at: at("2026-09-09T00:00:00Z"),
        },
    ];
    let reopened = given::<Ticket>(&events)
        .when(Command::Reopen {
            reason: "the noise is back".into(),
            by: "前台 王芳".into(),
            at: at("2026-09-20T02:00:00Z"),
            terms: terms(),
        })
        .expect("reopened");
    let Event::Reopened { resolve_by, .. } = &reopened[0] else {
        panic!("not reopened")
    };
    assert_eq!(*resolve_by, at("2026-09-25T15:59:59.999999Z"));
}

use aftercare_kernel::random::Xorshift;

/// No sequence of commands reaches an illegal state, and the grade only goes up,
/// one step per escalation.
#[test]
fn no_sequence_of_commands_breaks_the_lifecycle() {
    for seed in 1..=300u64 {
        let mut rng = Xorshift::new(seed);
        let mut state = Ticket::default();
        let mut clock = at("2026-09-07T02:00:00Z");
        let mut grade = 0;
        for _ in 0..40 {
            clock += jiff::SignedDuration::from_hours(rng.below(72) as i64);
            let deadline = [state.respond_by, state.resolve_by][rng.below(2) as usize];
            let command = match rng.below(8) {
                0 => Command::File {
                    filing: Filing {
                        channel: [Channel::WalkIn, Channel::OemHotline, Channel::Media]
                            [rng.below(3) as usize],
                        grade: Grade::new(rng.below(6) as u32),
                        ..hotline()
                    },
                    at: clock,
                    terms: terms(),
                },
                1 => Command::Acknowledge {
                    by: "a".into(),
                    at: clock,
                },
                2 => Command::Assign {
                    to: format!("p{}", rng.below(3)),
                    by: "a".into(),
                    at: clock,
                },
                3 => Command::Escalate {
                    reason: match (rng.below(3), deadline) {
                        (0, Some(d)) => EscalationReason::DeadlineMissed(d),
                        (1, _) => EscalationReason::ComplainedAgain("again".into()),
                        _ => EscalationReason::ByHand("why".into()),
                    },
                    by: "a".into(),
                    at: clock,
                    terms: terms(),
                },
                4 => Command::Resolve {
                    resolution: "done".into(),
                    compensation_fen: rng.below(3) as i64 - 1,
                    by: "a".into(),
                    at: clock,
                },
                5 => Command::Close {
                    satisfaction: Satisfaction::Neutral,
                    at: clock,
                },
                6 => Command::Reopen {
                    reason: "back".into(),
                    by: "a".into(),
                    at: clock,
                    terms: terms(),
                },
                _ => Command::Acknowledge {
                    by: "b".into(),
                    at: clock,
                },
            };
            let before = state.clone();
            let Ok(events) = state.decide(command.clone()) else {
                continue;
            };
            for event in &events {
                // Every event is allowed from the state it was decided on.
                match (event, before.status) {
                    (Event::Filed { .. }, None) => {}
                    (Event::Acknowledged { .. }, Some(Status::Open)) => {}
                    (
                        Event::Assigned { .. } | Event::Escalated { .. } | Event::Resolved { .. },
                        Some(Status::Open | Status::InProgress),
                    ) => {}
                    (Event::Closed { .. }, Some(Status::Resolved)) => {}
                    (Event::Reopened { .. }, Some(Status::Resolved | Status::Closed)) => {}
                    (e, s) => panic!("seed {seed}: {e:?} from {s:?}"),
                }
                if let Event::Escalated { from, to, .. } = event {
                    assert_eq!(to.value(), from.value() + 1, "seed {seed}");
                }
                state = state.evolve(event);
            }
            let now = state.grade.map_or(0, Grade::value);
            assert!(
                now >= grade,
                "seed {seed}: grade went down from {grade} to {now}"
            );
            assert!(now <= 5);
            grade = now;
            // An open or in-progress ticket always has a deadline; a resolved one none.
            match state.status {
                Some(Status::Open | Status::InProgress) => {
                    assert!(state.resolve_by.is_some(), "seed {seed}")
                }
                Some(Status::Resolved) => assert!(state.resolve_by.is_none(), "seed {seed}"),
                _ => {}
            }
        }
    }
}

#[test]
fn a_deadline_read_back_to_the_microsecond_is_the_one_in_force() {
    // Filed at a clock reading with nanoseconds; the sweep knows the deadline
    // only to the microsecond, as the read model keeps it.
    let filing = filed(hotline(), "2026-09-07T02:00:00.123456789Z");
    let respond = replay::<Ticket>(std::slice::from_ref(&filing))
        .respond_by
        .expect("respond by");
    let stored = Timestamp::from_microsecond(respond.as_microsecond()).expect("instant");
    assert_ne!(stored, respond);
    let events = given::<Ticket>(&[filing])
        .when(Command::Escalate {
            reason: EscalationReason::DeadlineMissed(stored),
            by: "deadline sweep".into(),
            at: at("2026-09-08T03:00:00Z"),
            terms: terms(),
        })
        .expect("escalated");
    assert_eq!(events.len(), 1);
}
