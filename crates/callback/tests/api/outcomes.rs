//! What reached calls come to: appointments against the day's capacity (a full
//! slot refused with the next free one), a complaint filed through the
//! complaint context once however often the outcome is sent, and the loop
//! closed by later visits: an appointment kept, a winback-called vehicle
//! returned.

use aftercare_eventstore::{EventData, Expected, StreamId};
use aftercare_proto::analytics::v1 as analytics;
use aftercare_proto::callback::v1 as pb;
use aftercare_proto::callback::v1::callback_service_server::CallbackService;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::Role;
use jiff::{Span, Timestamp};
use prost::Message;
use tonic::Code;

use crate::app::{
    App, Backend, after, customer, dealer, dealer_id, person, request, spawn_app_with, vin, visit,
};

/// One bay, two slots a day.
const SMALL_WORKSHOP: &str = "[dealers.D001.callback]\nbays = 1\nslots_per_day = 2\n";

fn shanghai() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone")
}

/// A post-service task of a repair visit of a new customer's vehicle: (task, vin).
async fn reached_visit(app: &App, n: u32) -> (String, String) {
    let (id, _) = customer(
        app,
        "D001",
        &format!("客户{n}"),
        &format!("1381234{n:04}"),
        true,
    )
    .await;
    let vin = vin(53, n);
    let position = visit(
        app,
        &format!("RO-53-{n}"),
        &vin,
        &id,
        Timestamp::now() - Span::new().hours(4),
        10_000,
        intake::VisitKind::Repair,
    )
    .await;
    let list = app
        .api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                consistency: after(position),
                ..Default::default()
            },
            &agent(),
        ))
        .await
        .expect("worklist")
        .into_inner();
    let task = list
        .tasks
        .iter()
        .find(|t| t.vin == vin)
        .expect("the visit's callback")
        .task_id
        .clone();
    reach(app, &task).await;
    (task, vin)
}

fn agent() -> aftercare_runtime::Principal {
    person("王芳", Role::CallbackAgent, "D001")
}

async fn reach(app: &App, task: &str) -> u64 {
    app.api
        .record_attempt(request(
            pb::RecordAttemptRequest {
                dealer: dealer("D001"),
                task_id: task.into(),
                result: pb::AttemptResult::Reached as i32,
                ..Default::default()
            },
            &agent(),
        ))
        .await
        .expect("reached")
        .into_inner()
        .position
        .expect("position")
        .value
}

async fn book(
    app: &App,
    task: &str,
    day: jiff::civil::Date,
    slot: u32,
) -> Result<pb::TaskCommandResponse, tonic::Status> {
    app.api
        .record_outcome(request(
            pb::RecordOutcomeRequest {
                dealer: dealer("D001"),
                task_id: task.into(),
                satisfaction: pb::Satisfaction::Satisfied as i32,
                appointment: Some(pb::Appointment {
                    date: Some(aftercare_proto::calendar::to_date(day)),
                    slot,
                }),
                ..Default::default()
            },
            &agent(),
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// (slot, bays, taken) of each slot of a dealer's day, as `who` asks it.
async fn slots(
    app: &App,
    dealer_id: &str,
    day: Option<jiff::civil::Date>,
    who: &aftercare_runtime::Principal,
) -> Result<Vec<(u32, u32, u32)>, tonic::Status> {
    let answer = app
        .api
        .day_slots(request(
            pb::DaySlotsRequest {
                dealer: dealer(dealer_id),
                date: day.map(aftercare_proto::calendar::to_date),
            },
            who,
        ))
        .await?
        .into_inner();
    Ok(answer
        .slots
        .iter()
        .map(|s| (s.slot, s.bays, s.taken))
        .collect())
}

async fn task(app: &App, task: &str, position: u64) -> pb::Task {
    app.api
        .get_task(request(
            pb::GetTaskRequest {
                dealer: dealer("D001"),
                task_id: task.into(),
                consistency: after(position),
            },
            &agent(),
        ))
        .await
        .expect("task")
        .into_inner()
}

async fn appointments_fill_the_days_capacity(backend: Backend) {
    let app = spawn_app_with(backend, SMALL_WORKSHOP).await;
    let today = Timestamp::now().to_zoned(shanghai()).date();
    let tomorrow = today.tomorrow().expect("tomorrow");
    let (a, a_vin) = reached_visit(&app, 1).await;
    let (b, _) = reached_visit(&app, 2).await;
    let (c, _) = reached_visit(&app, 3).await;
    let (d, _) = reached_visit(&app, 4).await;
    // Today's first slot for A; today's second for B once the first is refused.
    book(&app, &a, today, 1).await.expect("a bay is free");
    let full = book(&app, &b, today, 1).await.expect_err("one bay");
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert!(
        full.message().contains(&format!(
            "slot 1 on {today} is full; the next free slot is 2 on {today}"
        )),
        "{}",
        full.message()
    );
    book(&app, &b, today, 2).await.expect("the second slot");
    // Today is full: the next free slot is tomorrow's first.
    let day_full = book(&app, &c, today, 2).await.expect_err("the day is full");
    assert!(
        day_full
            .message()
            .contains(&format!("the next free slot is 1 on {tomorrow}")),
        "{}",
        day_full.message()
    );
    // Sending A's outcome again books nothing twice and changes nothing.
    let again = book(&app, &a, today, 1).await.expect("the same outcome");
    assert!(!again.changed);
    // Two agents taking the last slot of tomorrow: one wins.
    let (c_won, d_won) = tokio::join!(book(&app, &c, tomorrow, 2), book(&app, &d, tomorrow, 2));
    assert_eq!(
        [c_won.is_ok(), d_won.is_ok()]
            .iter()
            .filter(|w| **w)
            .count(),
        1,
        "{c_won:?} {d_won:?}"
    );
    // The slot picker's view of both days: today full, tomorrow's last
    // slot taken by whichever agent won.
    assert_eq!(
        slots(&app, "D001", Some(today), &agent())
            .await
            .expect("today"),
        vec![(1, 1, 1), (2, 1, 1)]
    );
    assert_eq!(
        slots(&app, "D001", Some(tomorrow), &agent())
            .await
            .expect("tomorrow"),
        vec![(1, 1, 0), (2, 1, 1)]
    );
    let no_day = slots(&app, "D001", None, &agent())
        .await
        .expect_err("a day is needed");
    assert_eq!(no_day.code(), Code::InvalidArgument);
    assert!(no_day.message().contains("date"), "{}", no_day.message());
    let other = slots(&app, "D002", Some(today), &agent())
        .await
        .expect_err("another dealer's workshop");
    assert_eq!(other.code(), Code::PermissionDenied, "{}", other.message());
    // A slot past the day's last is named as such.
    let bad = book(&app, &d, tomorrow, 3)
        .await
        .expect_err("two slots a day");
    assert_eq!(bad.code(), Code::InvalidArgument);

    // A's vehicle comes in today: the appointment was kept.
    let a_customer = task(&app, &a, 0).await.customer_id;
    let position = visit(
        &app,
        "RO-53-kept",
        &a_vin,
        &a_customer,
        Timestamp::now() - Span::new().minutes(5),
        10_400,
        intake::VisitKind::Maintenance,
    )
    .await;
    assert!(task(&app, &a, position).await.appointment_kept);
    assert!(!task(&app, &b, position).await.appointment_kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointments_fill_the_days_capacity_on_sqlite() {
    appointments_fill_the_days_capacity(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointments_fill_the_days_capacity_on_postgres() {
    appointments_fill_the_days_capacity(Backend::Postgres).await;
}

async fn a_complaint_on_a_call_is_filed_once(backend: Backend) {
    let app = spawn_app_with(backend, "").await;
    let (task_id, vin) = reached_visit(&app, 7).await;
    let complain = || {
        app.api.record_outcome(request(
            pb::RecordOutcomeRequest {
                dealer: dealer("D001"),
                task_id: task_id.clone(),
                satisfaction: pb::Satisfaction::Dissatisfied as i32,
                complaint: "取车时等了三个小时，没有人解释".into(),
                ..Default::default()
            },
            &agent(),
        ))
    };
    let first = complain().await.expect("recorded").into_inner();
    assert!(first.changed);
    let second = complain().await.expect("sent again").into_inner();
    assert!(!second.changed, "a retry records nothing");
    let shown = task(&app, &task_id, first.position.expect("position").value).await;
    assert!(shown.complaint);
    // The complaint context files it as a callback complaint, once, with the
    // customer's words and the vehicle.
    let ticket = aftercare_complaint::from_callback::ticket_id("D001", &task_id);
    app.settled().await;
    let rows = sqlx::query_as::<_, (String, String, String)>(
        "SELECT ticket_id, description, vin FROM complaint_tickets WHERE dealer = 'D001'",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("tickets");
    assert_eq!(
        rows,
        [(ticket, "取车时等了三个小时，没有人解释".to_owned(), vin)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_on_a_call_is_filed_once_on_sqlite() {
    a_complaint_on_a_call_is_filed_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_on_a_call_is_filed_once_on_postgres() {
    a_complaint_on_a_call_is_filed_once(Backend::Postgres).await;
}

/// A consenting customer's vehicle last serviced `days_ago` days ago at D001:
/// (customer, VIN, vehicle id).
async fn serviced_long_ago(
    app: &App,
    name: &str,
    phone: &str,
    series: u32,
    days_ago: i64,
) -> (String, String, String) {
    let (owner, _) = customer(app, "D001", name, phone, true).await;
    let vin = vin(series, 1);
    visit(
        app,
        &format!("RO-{series}-old"),
        &vin,
        &owner,
        Timestamp::now() - Span::new().hours(24 * days_ago),
        30_000,
        intake::VisitKind::Repair,
    )
    .await;
    let vehicle_id = aftercare_intake::domain::visit::vehicle_id(
        "D001",
        &aftercare_kernel::vin::Vin::parse(&vin).expect("vin"),
    )
    .to_string();
    (owner, vin, vehicle_id)
}

/// An analytics event about a D001 vehicle, appended as analytics would:
/// its position.
async fn from_analytics(app: &App, aggregate: &str, vehicle_id: &str, event: EventData) -> u64 {
    let stream = StreamId::new(dealer_id("D001"), aggregate, vehicle_id).expect("stream");
    app.store
        .append(&stream, Expected::Any, vec![event])
        .await
        .expect("appended")
        .position
        .0
}

async fn a_winback_called_vehicle_returns(backend: Backend) {
    let app = spawn_app_with(backend, "").await;
    let (owner, vin, vehicle_id) = serviced_long_ago(&app, "周杰", "13700001234", 54, 30).await;
    let change = analytics::VehicleChurnStatusChanged {
        vehicle_id: vehicle_id.clone(),
        vin: vin.clone(),
        from: analytics::Segment::Wavering as i32,
        to: analytics::Segment::Churned as i32,
        service_advisor: "张伟".into(),
        months_since_last_visit: 12,
        ..Default::default()
    };
    let position = from_analytics(
        &app,
        aftercare_proto::aggregates::VEHICLE_CHURN,
        &vehicle_id,
        EventData::new(
            aftercare_proto::event_types::analytics::VEHICLE_CHURN_STATUS_CHANGED,
            change.encode_to_vec(),
        ),
    )
    .await;
    let list = app
        .api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                assignee: "张伟".into(),
                consistency: after(position),
                ..Default::default()
            },
            &person("张伟", Role::ServiceAdvisor, "D001"),
        ))
        .await
        .expect("worklist")
        .into_inner();
    assert_eq!(list.tasks.len(), 1, "{list:#?}");
    let winback = list.tasks[0].task_id.clone();
    let called = app
        .api
        .record_attempt(request(
            pb::RecordAttemptRequest {
                dealer: dealer("D001"),
                task_id: winback.clone(),
                result: pb::AttemptResult::Reached as i32,
                at: Some(aftercare_proto::calendar::timestamp(
                    Timestamp::now() - Span::new().hours(2),
                )),
                ..Default::default()
            },
            &person("张伟", Role::ServiceAdvisor, "D001"),
        ))
        .await
        .expect("called")
        .into_inner()
        .position
        .expect("position")
        .value;
    assert!(!task(&app, &winback, called).await.returned);
    // It comes back an hour after the call.
    let position = visit(
        &app,
        "RO-54-back",
        &vin,
        &owner,
        Timestamp::now() - Span::new().hours(1),
        31_000,
        intake::VisitKind::Maintenance,
    )
    .await;
    let shown = task(&app, &winback, position).await;
    assert!(shown.returned);
    // Counted in the month the call was due.
    let due = aftercare_proto::calendar::instant(shown.due_at.as_ref().expect("due"))
        .expect("due")
        .to_zoned(shanghai());
    let measures = app
        .api
        .measures(request(
            pb::MeasuresRequest {
                dealer: dealer("D001"),
                month: Some(aftercare_proto::common::v1::YearMonth {
                    year: i32::from(due.year()),
                    month: due.month() as u32,
                }),
                consistency: after(position),
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("measures")
        .into_inner();
    let figures = measures.dealer.expect("figures");
    let returned = figures.return_rate.expect("return rate");
    assert_eq!((returned.numerator, returned.denominator), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_winback_called_vehicle_returns_on_sqlite() {
    a_winback_called_vehicle_returns(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_winback_called_vehicle_returns_on_postgres() {
    a_winback_called_vehicle_returns(Backend::Postgres).await;
}

/// A month's measures are published once, a week after it ended, with the
/// dealer's and each caller's counts.
async fn a_months_measures_are_published_once(backend: Backend) {
    let app = spawn_app_with(backend, "").await;
    let (id, _) = reached_visit(&app, 71).await;
    let done = app
        .api
        .record_outcome(request(
            pb::RecordOutcomeRequest {
                dealer: dealer("D001"),
                task_id: id.clone(),
                satisfaction: pb::Satisfaction::VerySatisfied as i32,
                ..Default::default()
            },
            &agent(),
        ))
        .await
        .expect("outcome")
        .into_inner();
    let seen = task(&app, &id, done.position.expect("position").value).await;
    let due = seen
        .due_at
        .as_ref()
        .and_then(aftercare_proto::calendar::read_instant)
        .expect("due");
    let month = aftercare_kernel::Month::of_instant(due, &shanghai());
    app.settled().await;
    // Before the month has settled, nothing; a week after its end, once.
    let (_, end) = month.bounds_at(&shanghai()).expect("bounds");
    let dealer = dealer_id("D001");
    let early = aftercare_callback::months::publish(
        app.store.as_ref(),
        &app.db,
        &app.api.dealers,
        &dealer,
        end + jiff::SignedDuration::from_hours(24),
    )
    .await
    .expect("published");
    assert_eq!(early, 0, "the month has not settled");
    let settled = end + jiff::SignedDuration::from_hours(24 * 8);
    for expected in [1, 0] {
        let published = aftercare_callback::months::publish(
            app.store.as_ref(),
            &app.db,
            &app.api.dealers,
            &dealer,
            settled,
        )
        .await
        .expect("published");
        assert_eq!(published, expected);
    }
    let stream = aftercare_callback::months::stream(&dealer, month).expect("stream");
    let events = app.store.read_stream(&stream).await.expect("read");
    assert_eq!(events.len(), 1);
    let measured =
        pb::MonthMeasured::decode(events[0].data.payload.as_ref()).expect("MonthMeasured");
    let counts = measured.dealer.expect("the dealer's counts");
    assert_eq!(
        (
            counts.callbacks_due,
            counts.callbacks_in_window,
            counts.service_rated,
            counts.service_satisfied
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(measured.people.len(), 1);
    assert_eq!(measured.people[0].person, "王芳");
    // The call was for a visit of A组.
    assert_eq!(
        measured
            .calls_by_group
            .iter()
            .map(|c| (c.person.as_str(), c.group.as_str(), c.called))
            .collect::<Vec<_>>(),
        [("王芳", "A组", 1)]
    );
    let groups: Vec<(&str, u64, u64)> = measured
        .groups
        .iter()
        .map(|g| {
            let c = g.counts.as_ref().expect("counts");
            (g.group.as_str(), c.callbacks_due, c.service_satisfied)
        })
        .collect();
    assert_eq!(groups, [("A组", 1, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_months_measures_are_published_once_on_sqlite() {
    a_months_measures_are_published_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_months_measures_are_published_once_on_postgres() {
    a_months_measures_are_published_once(Backend::Postgres).await;
}

/// Analytics' warning that a vehicle is likely to churn becomes one call for
/// the agents, however often it is delivered.
async fn a_churn_risk_warning_becomes_a_call(backend: Backend) {
    let app = spawn_app_with(backend, "").await;
    let (_, vin, vehicle_id) = serviced_long_ago(&app, "吴刚", "13700005678", 55, 200).await;
    let raised = analytics::ChurnRiskRaised {
        vehicle_id: vehicle_id.clone(),
        vin: vin.clone(),
        risk: 0.62,
        months_since_last_visit: 7,
        as_of: None,
    };
    let event = EventData::new(
        aftercare_proto::event_types::analytics::CHURN_RISK_RAISED,
        raised.encode_to_vec(),
    );
    let mut position = 0;
    // Delivered twice (a redelivery keeps the event's id): one task.
    for _ in 0..2 {
        position = from_analytics(
            &app,
            aftercare_proto::aggregates::VEHICLE_RISK,
            &vehicle_id,
            event.clone(),
        )
        .await;
    }
    let list = app
        .api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                consistency: after(position),
                kinds: vec![pb::TaskKind::ChurnRisk as i32],
                ..Default::default()
            },
            &agent(),
        ))
        .await
        .expect("worklist")
        .into_inner();
    assert_eq!(list.tasks.len(), 1, "{list:#?}");
    assert_eq!(list.tasks[0].vin, vin);
    assert!(
        list.tasks[0].cause.contains("62%"),
        "{:?}",
        list.tasks[0].cause
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_churn_risk_warning_becomes_a_call_on_sqlite() {
    a_churn_risk_warning_becomes_a_call(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_churn_risk_warning_becomes_a_call_on_postgres() {
    a_churn_risk_warning_becomes_a_call(Backend::Postgres).await;
}
