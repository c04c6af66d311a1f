//! A dealer's day: a delivery, a service visit, a hotline lead, a churned
//! vehicle, a customer without consent and a backfilled visit of 2024 go in;
//! the right tasks appear on the worklist for the right people in deadline
//! order; calls are made; every measure equals what is counted here by hand;
//! a rebuild of the read model from the log changes no task.

use std::collections::BTreeMap;

use aftercare_eventstore::{EventData, Expected, StreamId};
use aftercare_proto::analytics::v1 as analytics;
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::callback::v1::callback_service_server::CallbackService;
use aftercare_proto::common::v1::YearMonth;
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;
use jiff::{Span, Timestamp};
use prost::Message;

use crate::app::{
    App, Backend, admin, after, customer, dealer, dealer_id, person, request, sale, spawn_app, vin,
    visit,
};

async fn worklist(app: &App, assignee: &str, position: u64) -> pb::WorklistResponse {
    app.api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                assignee: assignee.into(),
                consistency: after(position),
                ..Default::default()
            },
            &person("王芳", Role::CallbackAgent, "D001"),
        ))
        .await
        .expect("worklist")
        .into_inner()
}

fn kinds(list: &pb::WorklistResponse) -> Vec<pb::TaskKind> {
    list.tasks
        .iter()
        .map(|t| pb::TaskKind::try_from(t.kind).expect("kind"))
        .collect()
}

/// Analytics' announcement that a vehicle became churned.
async fn churned(app: &App, vehicle_id: &str, vin: &str) -> u64 {
    let now = Timestamp::now();
    let month = now.to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"));
    let event = analytics::VehicleChurnStatusChanged {
        vehicle_id: vehicle_id.into(),
        vin: vin.into(),
        from: analytics::Segment::Wavering as i32,
        to: analytics::Segment::Churned as i32,
        as_of: Some(YearMonth {
            year: i32::from(month.year()),
            month: month.month() as u32,
        }),
        last_visit_closed_at: None,
        service_advisor: "张伟".into(),
        advisor_group: "A组".into(),
        months_since_last_visit: 12,
    };
    let stream = StreamId::new(
        dealer_id("D001"),
        aftercare_proto::aggregates::VEHICLE_CHURN,
        vehicle_id,
    )
    .expect("stream");
    app.store
        .append(
            &stream,
            Expected::Any,
            vec![EventData::new(
                aftercare_proto::event_types::analytics::VEHICLE_CHURN_STATUS_CHANGED,
                event.encode_to_vec(),
            )],
        )
        .await
        .expect("appended")
        .position
        .0
}

async fn attempt(
    app: &App,
    who: &str,
    task: &str,
    result: pb::AttemptResult,
    at: Timestamp,
) -> u64 {
    app.api
        .record_attempt(request(
            pb::RecordAttemptRequest {
                dealer: dealer("D001"),
                task_id: task.into(),
                result: result as i32,
                at: Some(aftercare_proto::calendar::timestamp(at)),
                ..Default::default()
            },
            &person(who, Role::CallbackAgent, "D001"),
        ))
        .await
        .expect("attempt")
        .into_inner()
        .position
        .expect("position")
        .value
}

async fn a_dealers_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = Timestamp::now();
    let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
    let today = now.to_zoned(shanghai.clone()).date();
    let (liu, _) = customer(&app, "D001", "刘洋", "13812341234", true).await;
    let (chen, _) = customer(&app, "D001", "陈静", "13812345678", false).await;
    // A delivery yesterday to a customer who takes calls, one to a customer who does not.
    let yesterday = today.yesterday().expect("yesterday");
    sale(&app, "D001", &vin(51, 1), &liu, yesterday).await;
    sale(&app, "D001", &vin(51, 2), &chen, yesterday).await;
    // A maintenance visit two days ago, and a backfilled one of 2024.
    visit(
        &app,
        "RO-2024-1",
        &vin(51, 3),
        &liu,
        "2024-03-01T04:00:00Z".parse().expect("instant"),
        8_000,
        intake::VisitKind::Maintenance,
    )
    .await;
    visit(
        &app,
        "RO-1",
        &vin(51, 3),
        &liu,
        // Two days ago: its callback falls due a day before the delivery's,
        // whatever the hour the test runs at.
        now - Span::new().hours(48),
        20_000,
        intake::VisitKind::Maintenance,
    )
    .await;
    // A hotline lead.
    app.intake
        .capture_lead(request(
            intake::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: intake::LeadSource::Hotline as i32,
                name: "赵磊".into(),
                phone: "13900001111".into(),
                model_of_interest: "迈锐宝".into(),
                ..Default::default()
            },
            &admin("D001"),
        ))
        .await
        .expect("lead");
    // The delivered vehicle of 刘洋 churned (as analytics announces it).
    let vehicle_id = aftercare_intake::domain::visit::vehicle_id(
        "D001",
        &aftercare_kernel::vin::Vin::parse(&vin(51, 1)).expect("vin"),
    )
    .to_string();
    let last = churned(&app, &vehicle_id, &vin(51, 1)).await;

    // Everyone's worklist: due first, the lead's 30 minutes at the top.
    let all = worklist(&app, "", last).await;
    assert_eq!(
        kinds(&all),
        [
            pb::TaskKind::LeadFirstContact,
            pb::TaskKind::PostService,
            pb::TaskKind::PostSale,
            pb::TaskKind::Winback,
        ],
        "{all:#?}"
    );
    assert_eq!(all.total, 4);
    let lead_task = &all.tasks[0];
    assert_eq!(lead_task.customer_name, "赵磊");
    assert_eq!(
        lead_task.phone, "13900001111",
        "an agent sees the number to call"
    );
    let post_sale = &all.tasks[2];
    assert_eq!(
        (post_sale.customer_name.as_str(), post_sale.phone.as_str()),
        ("刘洋", "13812341234")
    );
    assert!(post_sale.cause.contains("李娜"), "{}", post_sale.cause);
    assert!(
        post_sale.due_at_text.contains("23:59"),
        "{}",
        post_sale.due_at_text
    );
    let winback = &all.tasks[3];
    assert_eq!(winback.assignee, "张伟", "the advisor of the last visit");
    assert_eq!(winback.vin, vin(51, 1));
    // The advisor's own list.
    let advisor = worklist(&app, "张伟", last).await;
    assert_eq!(kinds(&advisor), [pb::TaskKind::Winback]);
    // A viewer sees masked phones.
    let masked = app
        .api
        .get_task(request(
            pb::GetTaskRequest {
                dealer: dealer("D001"),
                task_id: post_sale.task_id.clone(),
                consistency: after(last),
            },
            &person("viewer", Role::Viewer, "D001"),
        ))
        .await
        .expect("task")
        .into_inner();
    assert_eq!(masked.phone, "138****1234");

    // The maintenance reminder waits for its day: months ahead, not on today's list.
    let future = app
        .api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                as_of: Some(aftercare_proto::calendar::timestamp(
                    now + Span::new().hours(24 * 400),
                )),
                kinds: vec![
                    pb::TaskKind::MaintenanceReminder as i32,
                    pb::TaskKind::FirstServiceReminder as i32,
                ],
                consistency: after(last),
                ..Default::default()
            },
            &person("王芳", Role::CallbackAgent, "D001"),
        ))
        .await
        .expect("future worklist")
        .into_inner();
    // The first-service reminder of the delivery to 刘洋 and the maintenance
    // after RO-1; nothing for 陈静, nothing for the visit of 2024.
    // (the first service at the default 40 km a day comes in about four
    // months; the maintenance at the owner's 12 km a day in six).
    assert_eq!(
        kinds(&future),
        [
            pb::TaskKind::FirstServiceReminder,
            pb::TaskKind::MaintenanceReminder
        ]
    );
    assert_eq!(future.total, 2, "{future:#?}");

    // The calls of the day.
    let agent = "王芳";
    attempt(
        &app,
        agent,
        &lead_task.task_id,
        pb::AttemptResult::Reached,
        now,
    )
    .await;
    let post_service = &all.tasks[1];
    attempt(
        &app,
        agent,
        &post_service.task_id,
        pb::AttemptResult::Reached,
        now,
    )
    .await;
    app.api
        .record_outcome(request(
            pb::RecordOutcomeRequest {
                dealer: dealer("D001"),
                task_id: post_service.task_id.clone(),
                satisfaction: pb::Satisfaction::VerySatisfied as i32,
                ..Default::default()
            },
            &person(agent, Role::CallbackAgent, "D001"),
        ))
        .await
        .expect("outcome");
    // The post-sale call: nobody answers three times.
    for minute in [0, 1, 2] {
        attempt(
            &app,
            agent,
            &post_sale.task_id,
            pb::AttemptResult::NoAnswer,
            now - Span::new().minutes(10 - minute),
        )
        .await;
    }
    // The winback call ends with an appointment.
    let advisor_name = "张伟";
    app.api
        .record_attempt(request(
            pb::RecordAttemptRequest {
                dealer: dealer("D001"),
                task_id: winback.task_id.clone(),
                result: pb::AttemptResult::Reached as i32,
                ..Default::default()
            },
            &person(advisor_name, Role::ServiceAdvisor, "D001"),
        ))
        .await
        .expect("winback call");
    let last = app
        .api
        .record_outcome(request(
            pb::RecordOutcomeRequest {
                dealer: dealer("D001"),
                task_id: winback.task_id.clone(),
                appointment: Some(pb::Appointment {
                    date: Some(aftercare_proto::calendar::to_date(
                        today.tomorrow().expect("tomorrow"),
                    )),
                    slot: 2,
                }),
                churn_reason: pb::ChurnReason::NoTime as i32,
                ..Default::default()
            },
            &person(advisor_name, Role::ServiceAdvisor, "D001"),
        ))
        .await
        .expect("appointment")
        .into_inner()
        .position
        .expect("position")
        .value;

    // Nothing is left on today's list.
    let done = worklist(&app, "", last).await;
    assert!(done.tasks.is_empty(), "{done:#?}");

    // The measures, summed over the months the tasks fall due in.
    let mut months = BTreeMap::new();
    for task in &all.tasks {
        let due =
            aftercare_proto::calendar::instant(task.due_at.as_ref().expect("due")).expect("due");
        let z = due.to_zoned(shanghai.clone());
        months.insert((z.year(), z.month()), ());
    }
    let mut sums: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut not_contactable, mut history) = (0, 0);
    let mut per_person: BTreeMap<String, u64> = BTreeMap::new();
    for (year, month) in months.keys() {
        let m = app
            .api
            .measures(request(
                pb::MeasuresRequest {
                    dealer: dealer("D001"),
                    month: Some(YearMonth {
                        year: i32::from(*year),
                        month: *month as u32,
                    }),
                    consistency: after(last),
                },
                &person("经理", Role::CareManager, "D001"),
            ))
            .await
            .expect("measures")
            .into_inner();
        let f = m.dealer.expect("figures");
        for (name, ratio) in [
            ("callback", f.callback_rate),
            ("reach", f.reach_rate),
            ("sales satisfaction", f.sales_satisfaction),
            ("service satisfaction", f.service_satisfaction),
            ("lead", f.lead_compliance),
            ("winback", f.winback_appointment_rate),
        ] {
            let r = ratio.expect("ratio");
            let sum = sums.entry(name).or_default();
            sum.0 += r.numerator;
            sum.1 += r.denominator;
        }
        not_contactable += m.not_contactable;
        history += m.not_scheduled_history;
        for p in m.people {
            *per_person.entry(p.person).or_default() += p
                .figures
                .expect("figures")
                .reach_rate
                .expect("reach")
                .denominator;
        }
    }
    let _ = history;
    // Post-sale and post-service due: both called within their window.
    assert_eq!(sums["callback"], (2, 2));
    // Four tasks attempted, three reached (the post-sale call never was).
    assert_eq!(sums["reach"], (3, 4));
    assert_eq!(sums["service satisfaction"], (1, 1));
    assert_eq!(sums["sales satisfaction"], (0, 0));
    assert_eq!(sums["lead"], (1, 1));
    assert_eq!(sums["winback"], (1, 1));
    assert_eq!(per_person.get("王芳"), Some(&3));
    assert_eq!(per_person.get("张伟"), Some(&1));

    // 陈静's delivery: its post-sale call and first-service reminder are not
    // contactable; the 2024 visit's callback and reminder are history. They
    // fall due in other months than today's tasks, so they are counted by
    // their own months.
    let counted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM callback_unscheduled WHERE reason = 'not-contactable'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(counted, 2);
    let counted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM callback_unscheduled WHERE reason = 'history'")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(counted, 2);
    assert!(
        not_contactable >= 1,
        "the post-sale call of 陈静 falls due with today's"
    );

    // A rebuild from the log schedules the same tasks with the same state.
    let snapshot = |app: &App| {
        let pool = app.db.pool.clone();
        async move {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT task_id, status, attempts FROM callback_tasks ORDER BY task_id",
            )
            .fetch_all(&pool)
            .await
            .expect("tasks");
            rows
        }
    };
    let before = snapshot(&app).await;
    assert_eq!(before.len(), 6, "{before:?}");
    let projection = aftercare_callback::projection::Tasks {
        dealers: app.api.dealers.clone(),
    };
    aftercare_runtime::projection::Runner::projection(
        std::sync::Arc::new(projection),
        app.store.clone(),
        app.db.clone(),
        aftercare_runtime::projection::RunnerOptions::default(),
    )
    .rebuild()
    .await
    .expect("rebuild");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealers_day_on_sqlite() {
    a_dealers_day(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealers_day_on_postgres() {
    a_dealers_day(Backend::Postgres).await;
}
