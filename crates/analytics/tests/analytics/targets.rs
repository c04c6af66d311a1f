//! Targets against actuals through the service's handlers, on SQLite and
//! PostgreSQL: a churn-rate path given per month read against the churn
//! counters, the complaint rate from the complaints filed over the month's
//! visits, a service CSS target with the OEM's scores entered; quarters and
//! the year as ratios of the months' counts; bad input named, roles kept.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aftercare_analytics::api::AnalyticsApi;
use aftercare_analytics::config::ChurnDealers;
use aftercare_eventstore::Position;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_server::AnalyticsService;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::{DealerScope, Principal, Role};
use tonic::Code;

use crate::fixture::{Fixture, d001};

fn request<T>(message: T, role: Role) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(Arc::new(Principal {
        name: "王经理".into(),
        roles: BTreeSet::from([role]),
        scope: DealerScope::Dealer(d001()),
    }));
    request
}

fn dealer() -> Option<common::DealerId> {
    Some(common::DealerId {
        value: "D001".into(),
    })
}

fn month(year: i32, month: u32) -> Option<common::YearMonth> {
    Some(common::YearMonth { year, month })
}

async fn targets_on(url: String) {
    let mut f = Fixture::new(url).await;
    // January 2025: two vehicles serviced, one of them back in January 2026;
    // February 2025: one, back in January 2026.
    f.visit(
        "RO-1",
        "LSVAG2186E2100001",
        "c1",
        "2025-01-20T02:00:00Z",
        "A组",
    )
    .await;
    f.visit(
        "RO-2",
        "LSVAG2186E2100001",
        "c1",
        "2026-01-20T02:00:00Z",
        "A组",
    )
    .await;
    f.visit(
        "RO-3",
        "1M8GDM9AXKP042788",
        "c2",
        "2025-01-05T02:00:00Z",
        "B组",
    )
    .await;
    f.visit(
        "RO-4",
        "LSVAG2188E2100002",
        "c2",
        "2025-02-10T02:00:00Z",
        "B组",
    )
    .await;
    f.visit(
        "RO-5",
        "LSVAG2188E2100002",
        "c2",
        "2026-01-25T02:00:00Z",
        "B组",
    )
    .await;
    // Two complaints in January 2026, of its two service visits: one about
    // the car A组's advisor served on 20 January (its VIN sealed for the
    // ticket, as the complaint context writes it), one naming no vehicle.
    let complaint = |ticket: &str, vin: String| aftercare_proto::complaint::v1::ComplaintFiled {
        ticket_id: ticket.into(),
        grade: 2,
        vin,
        filed_at: Some(aftercare_proto::calendar::timestamp(
            "2026-01-26T03:00:00Z".parse().expect("instant"),
        )),
        ..Default::default()
    };
    let sealed_vin = f
        .vault
        .seal(
            &aftercare_proto::sealed::complaint("t-1"),
            "LSVAG2186E2100001",
        )
        .await
        .expect("sealed");
    assert_ne!(sealed_vin, "LSVAG2186E2100001");
    let filed = [
        ("t-1", complaint("t-1", sealed_vin)),
        ("t-2", complaint("t-2", String::new())),
    ];
    // The callback context's January 2026, as it published it.
    let measured = aftercare_proto::callback::v1::MonthMeasured {
        month: month(2026, 1),
        dealer: Some(aftercare_proto::callback::v1::MeasureCounts {
            callbacks_due: 10,
            callbacks_in_window: 9,
            service_rated: 8,
            service_satisfied: 7,
            winback_called: 4,
            winback_appointments: 1,
            ..Default::default()
        }),
        groups: vec![aftercare_proto::callback::v1::GroupCounts {
            group: "A组".into(),
            counts: Some(aftercare_proto::callback::v1::MeasureCounts {
                callbacks_due: 4,
                callbacks_in_window: 4,
                service_rated: 3,
                service_satisfied: 2,
                ..Default::default()
            }),
        }],
        people: vec![aftercare_proto::callback::v1::PersonCounts {
            person: "赵敏".into(),
            counts: Some(aftercare_proto::callback::v1::MeasureCounts {
                callbacks_due: 6,
                callbacks_in_window: 5,
                service_rated: 4,
                service_satisfied: 3,
                ..Default::default()
            }),
        }],
        at: None,
        calls_by_group: vec![
            aftercare_proto::callback::v1::GroupCalls {
                person: "王芳".into(),
                group: "A组".into(),
                called: 3,
            },
            aftercare_proto::callback::v1::GroupCalls {
                person: "王芳".into(),
                group: "B组".into(),
                called: 1,
            },
            aftercare_proto::callback::v1::GroupCalls {
                person: "李静".into(),
                group: "B组".into(),
                called: 2,
            },
        ],
    };
    f.append(
        "callback-month",
        "2026-01",
        aftercare_proto::event_types::callback::MONTH_MEASURED,
        prost::Message::encode_to_vec(&measured),
    )
    .await;
    for (ticket, filed) in &filed {
        f.append(
            "complaint",
            ticket,
            aftercare_proto::event_types::complaint::COMPLAINT_FILED,
            prost::Message::encode_to_vec(filed),
        )
        .await;
    }
    f.catch_up().await;
    let api = AnalyticsApi {
        db: f.db.clone(),
        store: Some(f.store.clone()),
        churn: None,
        value: None,
        dealers: Arc::new(ChurnDealers::default()),
        read_timeout: Duration::from_secs(5),
    };
    let mut last = Position::ZERO;
    let mut done = |r: pb::TargetsCommandResponse| {
        last = last.max(Position(r.position.map_or(0, |p| p.value)));
        r.changed
    };
    // The churn plan: 3.9% in January falling by 0.1 point a month.
    let path: Vec<f64> = (0..12).map(|m| 0.039 - 0.001 * f64::from(m)).collect();
    let set_churn = pb::SetTargetRequest {
        dealer: dealer(),
        metric: "churn-rate".into(),
        year: 2026,
        annual: 0.0,
        seasonal_weights: vec![],
        monthly: path.clone(),
    };
    assert!(done(
        api.set_target(request(set_churn.clone(), Role::CareManager))
            .await
            .expect("set")
            .into_inner()
    ));
    assert!(
        !done(
            api.set_target(request(set_churn, Role::CareManager))
                .await
                .expect("again")
                .into_inner()
        ),
        "the same target again changes nothing"
    );
    assert!(done(
        api.set_target(request(
            pb::SetTargetRequest {
                dealer: dealer(),
                metric: "service-css".into(),
                year: 2026,
                annual: 930.0,
                seasonal_weights: vec![],
                monthly: vec![],
            },
            Role::Manager,
        ))
        .await
        .expect("set")
        .into_inner()
    ));
    for (m, score) in [(1, 925.0), (2, 935.0)] {
        assert!(done(
            api.record_result(request(
                pb::RecordResultRequest {
                    dealer: dealer(),
                    metric: "service-css".into(),
                    month: month(2026, m),
                    value: score,
                },
                Role::CareManager,
            ))
            .await
            .expect("recorded")
            .into_inner()
        ));
    }
    f.head = f.head.max(last);
    f.catch_up_value().await;

    let report = api
        .targets_report(request(
            pb::TargetsReportRequest {
                dealer: dealer(),
                year: 2026,
                consistency: None,
            },
            Role::Viewer,
        ))
        .await
        .expect("report")
        .into_inner();
    let line = |name: &str| {
        report
            .metrics
            .iter()
            .find(|m| m.metric == name)
            .expect("a line per metric")
    };
    let churn = line("churn-rate");
    assert!(churn.lower_is_better);
    assert_eq!(churn.breakdown, "monthly");
    assert_eq!(churn.set_by, "王经理");
    assert!((churn.annual.expect("set") - 0.0335).abs() < 1e-9);
    // January 2026: of January 2025's two vehicles, one not back: 50%.
    let january = &churn.months[0];
    assert_eq!((january.numerator, january.denominator), (1.0, 2.0));
    assert_eq!(january.target, Some(0.039));
    assert_eq!(january.met, Some(false));
    // February: February 2025's vehicle came back in January 2026.
    let february = &churn.months[1];
    assert_eq!((february.numerator, february.denominator), (0.0, 1.0));
    // The first quarter: 1 of 3, not the average of 50% and 0%.
    let period = |line: &pb::MetricLine, name: &str| {
        line.periods
            .iter()
            .find(|p| p.period == name)
            .cloned()
            .expect("period")
    };
    let q1 = period(churn, "Q1");
    assert!((q1.actual.expect("counted") - 1.0 / 3.0).abs() < 1e-12);
    assert!((q1.target.expect("set") - 0.038).abs() < 1e-12);
    assert!(period(churn, "YEAR").target.is_some());
    // The service CSS: 930 every month; Q1's scores average 930: met.
    let css = line("service-css");
    assert_eq!(css.months[0].actual, Some(925.0));
    assert_eq!(css.months[0].met, Some(false));
    assert_eq!(period(css, "Q1").actual, Some(930.0));
    assert_eq!(period(css, "Q1").met, Some(true));
    // Not set, nothing entered: no target, no actual.
    let sales = line("sales-css");
    assert!(sales.annual.is_none() && sales.months.iter().all(|m| m.actual.is_none()));
    // The callback rates of January from the published month.
    let january_of = |name: &str| {
        let m = &line(name).months[0];
        (m.numerator, m.denominator)
    };
    assert_eq!(january_of("callback-rate"), (9.0, 10.0));
    assert_eq!(january_of("service-satisfaction"), (7.0, 8.0));
    assert_eq!(january_of("winback-appointment-rate"), (1.0, 4.0));
    assert_eq!(
        line("sales-satisfaction").months[0].actual,
        None,
        "nobody rated after a sale"
    );
    // The agents' incentive in January 2026: A组 0 of 1, B组 1 of 1, the
    // groups together 1 of 2. 王芳's calls average 25%: better; 李静's 100%.
    let card = api
        .churn_scorecard(request(
            pb::ChurnScorecardRequest {
                dealer: dealer(),
                month: month(2026, 1),
                rule: pb::ChurnRule::A as i32,
                consistency: None,
                threshold_months: 0,
            },
            Role::Manager,
        ))
        .await
        .expect("scorecard")
        .into_inner();
    let agents: Vec<(String, u64, i32, i64)> = card
        .callback_agents
        .iter()
        .map(|a| {
            (
                a.agent.clone(),
                a.calls,
                a.verdict,
                a.amount.as_ref().map_or(0, |m| m.fen),
            )
        })
        .collect();
    assert_eq!(
        agents,
        [
            ("李静".to_owned(), 2, pb::Verdict::Worse as i32, -10_000),
            ("王芳".to_owned(), 4, pb::Verdict::Better as i32, 10_000),
            // Callback figures, no group called: shown, not scored.
            ("赵敏".to_owned(), 0, pb::Verdict::Unspecified as i32, 0),
        ]
    );
    // The groups' callback figures beside their churn; the manager's are the
    // dealer's.
    let a_group = card
        .advisor_groups
        .iter()
        .find(|g| g.who == "A组")
        .and_then(|g| g.callbacks)
        .expect("A组's callbacks");
    assert_eq!(
        (
            a_group.callbacks_in_window,
            a_group.callbacks_due,
            a_group.satisfied,
            a_group.rated
        ),
        (4, 4, 2, 3)
    );
    assert!(
        card.advisor_groups
            .iter()
            .find(|g| g.who == "B组")
            .is_some_and(|g| g.callbacks.is_none()),
        "no published figures for B组"
    );
    let zhao = card.callback_agents[2].callbacks.expect("published");
    assert_eq!(
        (
            zhao.callbacks_in_window,
            zhao.callbacks_due,
            zhao.satisfied,
            zhao.rated
        ),
        (5, 6, 3, 4)
    );
    // The complaints of January: A组 (and its advisor) 1 of its 1 visit, B组
    // none of its 1; the one naming no vehicle is the dealer's only (2 of 2
    // in the complaint rate below).
    let complaints_of = |s: &pb::Score| {
        s.complaints
            .map(|c| (c.complaints, c.visits))
            .expect("complaint figures")
    };
    let by_group: Vec<(String, (u64, u64))> = card
        .advisor_groups
        .iter()
        .map(|g| (g.who.clone(), complaints_of(g)))
        .collect();
    assert_eq!(
        by_group,
        [("A组".to_owned(), (1, 1)), ("B组".to_owned(), (0, 1))]
    );
    let advisor = card
        .advisors
        .iter()
        .find(|a| a.who == "A组-advisor")
        .expect("A组's advisor");
    assert_eq!(complaints_of(advisor), (1, 1));
    let complaints = line("complaint-rate");
    assert_eq!(
        (
            complaints.months[0].numerator,
            complaints.months[0].denominator
        ),
        (2.0, 2.0)
    );
    assert_eq!(
        complaints.months[1].actual, None,
        "no visits in February 2026"
    );

    // Bad input is named; the churn rate is counted, not entered; roles hold.
    let bad = api
        .set_target(request(
            pb::SetTargetRequest {
                dealer: dealer(),
                metric: "churn".into(),
                year: 2026,
                annual: 0.03,
                seasonal_weights: vec![],
                monthly: vec![],
            },
            Role::CareManager,
        ))
        .await
        .expect_err("no such metric");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("metric"), "{}", bad.message());
    let weights = api
        .set_target(request(
            pb::SetTargetRequest {
                dealer: dealer(),
                metric: "complaint-rate".into(),
                year: 2026,
                annual: 0.011,
                seasonal_weights: vec![100; 11],
                monthly: vec![],
            },
            Role::CareManager,
        ))
        .await
        .expect_err("eleven weights");
    assert!(
        weights.message().contains("seasonal_weights"),
        "{}",
        weights.message()
    );
    let percent = api
        .set_target(request(
            pb::SetTargetRequest {
                dealer: dealer(),
                metric: "complaint-rate".into(),
                year: 2026,
                annual: 1.1,
                seasonal_weights: vec![],
                monthly: vec![],
            },
            Role::CareManager,
        ))
        .await
        .expect_err("a percentage where a share belongs");
    assert_eq!(percent.code(), Code::InvalidArgument);
    let computed = api
        .record_result(request(
            pb::RecordResultRequest {
                dealer: dealer(),
                metric: "churn-rate".into(),
                month: month(2026, 3),
                value: 0.02,
            },
            Role::CareManager,
        ))
        .await
        .expect_err("counted, not entered");
    assert_eq!(computed.code(), Code::FailedPrecondition);
    let agent = api
        .set_target(request(
            pb::SetTargetRequest {
                dealer: dealer(),
                metric: "callback-rate".into(),
                year: 2026,
                annual: 1.0,
                seasonal_weights: vec![],
                monthly: vec![],
            },
            Role::CallbackAgent,
        ))
        .await
        .expect_err("agents do not set targets");
    assert_eq!(agent.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn targets_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    targets_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn targets_on_postgres() {
    targets_on(aftercare_testkit::postgres().create_database().url).await;
}
