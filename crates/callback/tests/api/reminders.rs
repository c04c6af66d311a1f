//! Reminders no sale or visit causes on their day: the insurance renewal call
//! a month before the policy expires (from the vehicle file), and the timer's
//! birthday greetings and periodic inspections, scheduled once each by the
//! sweep however often it runs, and only for customers who take calls.

use aftercare_proto::callback::v1 as pb;
use aftercare_proto::callback::v1::callback_service_server::CallbackService;
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;
use jiff::civil::Date;
use jiff::{Span, Timestamp};

use crate::app::{App, Backend, admin, after, dealer, person, request, spawn_app_with, vin};

fn date(d: Date) -> Option<aftercare_proto::common::v1::Date> {
    Some(aftercare_proto::calendar::to_date(d))
}

/// A customer born on `birthday`, taking calls or not, owning a vehicle
/// registered on `purchased` whose insurance expires on `expiry`: the position.
async fn owner(
    app: &App,
    n: u32,
    calls: bool,
    birthday: Date,
    purchased: Date,
    expiry: Date,
) -> u64 {
    let consents = if calls {
        vec![intake::Consent {
            channel: intake::ContactChannel::Phone as i32,
            granted: true,
        }]
    } else {
        vec![]
    };
    let customer = app
        .intake
        .register_customer(request(
            intake::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: Some(intake::CustomerInput {
                    name: format!("车主{n}"),
                    phones: vec![format!("1390000{n:04}")],
                    birthday: date(birthday),
                    ..Default::default()
                }),
                consents,
                ..Default::default()
            },
            &admin("D001"),
        ))
        .await
        .expect("customer")
        .into_inner()
        .customer_id;
    app.intake
        .register_vehicle(request(
            intake::RegisterVehicleRequest {
                dealer: dealer("D001"),
                vin: vin(55, n),
                model: "君越".into(),
                owner_customer_id: customer,
                purchase_date: date(purchased),
                insurance_expiry: date(expiry),
                ..Default::default()
            },
            &admin("D001"),
        ))
        .await
        .expect("vehicle")
        .into_inner()
        .position
        .expect("position")
        .value
}

async fn sweep(app: &App, as_of: Timestamp) -> pb::SweepTasksResponse {
    app.api
        .sweep_tasks(request(
            pb::SweepTasksRequest {
                dealer: dealer("D001"),
                as_of: Some(aftercare_proto::calendar::timestamp(as_of)),
                consistency: None,
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("swept")
        .into_inner()
}

async fn kinds(app: &App, as_of: Timestamp, position: u64) -> Vec<pb::TaskKind> {
    let mut kinds: Vec<pb::TaskKind> = app
        .api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                as_of: Some(aftercare_proto::calendar::timestamp(as_of)),
                consistency: after(position),
                ..Default::default()
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("worklist")
        .into_inner()
        .tasks
        .iter()
        .map(|t| pb::TaskKind::try_from(t.kind).expect("kind"))
        .collect();
    kinds.sort_by_key(|k| *k as i32);
    kinds
}

async fn reminders_fall_due(backend: Backend) {
    let app = spawn_app_with(backend, "").await;
    let now = Timestamp::now();
    let today = now
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date();
    let days = |n: i64| today.checked_add(Span::new().days(n)).expect("day");
    let born = days(3).checked_sub(Span::new().years(40)).expect("born");
    let registered = days(2)
        .checked_sub(Span::new().years(6))
        .expect("registered");
    // The policy expires in 20 days: its renewal call was due 10 days ago and
    // is still worth making.
    owner(&app, 1, true, born, registered, days(20)).await;
    // The same dates for a customer who takes no calls.
    let last = owner(&app, 2, false, born, registered, days(20)).await;
    assert_eq!(
        kinds(&app, now, last).await,
        [pb::TaskKind::InsuranceReminder]
    );

    let swept = sweep(&app, now).await;
    assert_eq!(swept.scheduled, 2, "a birthday and an inspection");
    let position = swept.position.expect("position").value;
    assert_eq!(
        kinds(&app, now, position).await,
        [
            pb::TaskKind::InsuranceReminder,
            pb::TaskKind::Birthday,
            pb::TaskKind::InspectionReminder,
        ]
    );
    // The sweep again, or a second replica's: nothing twice.
    assert_eq!(sweep(&app, now).await.scheduled, 0);
    // A year on: the next birthday; at 7 years no inspection is due.
    let next_year = now + Span::new().hours(24 * 365);
    assert_eq!(sweep(&app, next_year).await.scheduled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_fall_due_on_sqlite() {
    reminders_fall_due(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_fall_due_on_postgres() {
    reminders_fall_due(Backend::Postgres).await;
}
