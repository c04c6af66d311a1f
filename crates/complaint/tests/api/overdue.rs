//! "Overdue" is one rule (`domain::deadline::missed_deadline`): the sweep,
//! `GetComplaint` and `ListComplaints --overdue` agree, also after an escalation
//! sets a new response deadline on a ticket already in progress; and the SQL
//! the list and the sweep filter with selects exactly what the rule says.

use aftercare_complaint::config::ComplaintDealers;
use aftercare_complaint::domain::deadline::missed_deadline;
use aftercare_complaint::domain::rules::ComplaintRules;
use aftercare_complaint::domain::ticket::{Command, EscalationReason, Filing, Terms, Ticket};
use aftercare_complaint::domain::{Channel, Grade, Status};
use aftercare_complaint::events::{TicketCodec, stream};
use aftercare_complaint::projection::{COLUMNS, TicketRow, overdue_condition};
use aftercare_kernel::random::Xorshift;
use aftercare_proto::common::v1::{Consistency, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_server::ComplaintService;
use aftercare_runtime::Role;
use aftercare_runtime::command::execute;
use aftercare_runtime::db::insert_rows;
use jiff::{SignedDuration, Timestamp};
use sqlx::Row;

use crate::app::{App, Backend, dealer_id, principal, request, spawn_app};

async fn run(app: &App, ticket: &str, command: Command) -> u64 {
    execute::<Ticket>(
        app.store.as_ref(),
        &stream(&dealer_id("D001"), ticket).expect("stream"),
        &TicketCodec {
            ticket_id: ticket.to_owned(),
        },
        command,
        |e| e,
    )
    .await
    .expect("decided")
    .position
    .0
}

async fn an_escalated_ticket_in_progress_is_judged_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = Timestamp::now();
    let hours = |h: i64| now - SignedDuration::from_hours(h);
    // One hour to respond, a month to resolve.
    let terms = Terms {
        rules: ComplaintRules {
            response_hours: 1,
            resolve_days: [30; 5],
            product_liability_days: 30,
            ..ComplaintRules::default()
        },
        zone: jiff::tz::TimeZone::UTC,
    };
    let ticket = "0195d1c400007000800000000000c0de";
    let filing = Filing {
        ticket_id: ticket.into(),
        channel: Channel::WalkIn,
        oem_ticket: None,
        grade: Grade::new(2),
        customer_id: String::new(),
        vin: String::new(),
        description: "waited three hours".into(),
        product_liability: false,
        receiver: "front-desk".into(),
    };
    run(
        &app,
        ticket,
        Command::File {
            filing,
            at: hours(4),
            terms: terms.clone(),
        },
    )
    .await;
    run(
        &app,
        ticket,
        Command::Acknowledge {
            by: "front-desk".into(),
            at: hours(3),
        },
    )
    .await;
    // Escalated by hand two hours ago: its new response deadline passed an hour
    // ago, but the ticket is already being worked on.
    let at = run(
        &app,
        ticket,
        Command::Escalate {
            reason: EscalationReason::ByHand("the customer is upset".into()),
            by: "manager".into(),
            at: hours(2),
            terms,
        },
    )
    .await;
    let consistency = Some(Consistency {
        min_position: Some(Position { value: at }),
    });
    let manager = principal(Role::CareManager, "D001");

    let got = app
        .api
        .get_complaint(request(
            pb::GetComplaintRequest {
                dealer: crate::app::dealer_field("D001"),
                ticket_id: ticket.into(),
                consistency,
            },
            &manager,
        ))
        .await
        .expect("ticket")
        .into_inner();
    let listed = app
        .api
        .list_complaints(request(
            pb::ListComplaintsRequest {
                dealer: crate::app::dealer_field("D001"),
                overdue_only: true,
                consistency,
                ..Default::default()
            },
            &manager,
        ))
        .await
        .expect("list")
        .into_inner();
    let swept = aftercare_complaint::sweep::sweep(
        app.store.as_ref(),
        &app.db,
        &app.api.vault,
        &ComplaintDealers::default(),
        now,
    )
    .await
    .expect("sweep");
    assert!(!got.overdue, "GetComplaint calls it overdue");
    assert!(
        listed.tickets.is_empty(),
        "ListComplaints --overdue lists it"
    );
    assert_eq!(swept.escalated, 0, "the sweep escalated it");
}

async fn the_sql_condition_is_the_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = Timestamp::from_second(1_800_000_000).expect("instant");
    let statuses = [
        Status::Open,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
    ];
    let mut random = Xorshift::new(42);
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for i in 0..400 {
        let deadline = |random: &mut Xorshift| match random.below(3) {
            0 => None,
            _ => Some(now.as_microsecond() + random.below(4_000_000) as i64 - 2_000_000),
        };
        let status = statuses[random.below(4) as usize];
        let (respond_by, resolve_by) = (deadline(&mut random), deadline(&mut random));
        let ticket_id = format!("t{i:04}");
        let at = |us: Option<i64>| us.map(|us| Timestamp::from_microsecond(us).expect("instant"));
        if missed_deadline(status, at(respond_by), at(resolve_by), now).is_some() {
            expected.push(ticket_id.clone());
        }
        rows.push(
            TicketRow {
                ticket_id,
                dealer: "D001".into(),
                status: status.as_str().into(),
                respond_by,
                resolve_by,
                ..TicketRow::default()
            }
            .values(),
        );
    }
    let mut conn = app.db.pool.acquire().await.expect("connection");
    insert_rows(&mut conn, "complaint_tickets", COLUMNS, "", &rows)
        .await
        .expect("tickets");
    let selected: Vec<String> = sqlx::query(&format!(
        "SELECT ticket_id FROM complaint_tickets WHERE {} ORDER BY ticket_id",
        overdue_condition(now.as_microsecond())
    ))
    .fetch_all(&mut *conn)
    .await
    .expect("select")
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert!(!expected.is_empty() && expected.len() < 400);
    assert_eq!(selected, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_ticket_in_progress_is_judged_alike_on_sqlite() {
    an_escalated_ticket_in_progress_is_judged_alike(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_ticket_in_progress_is_judged_alike_on_postgres() {
    an_escalated_ticket_in_progress_is_judged_alike(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_condition_is_the_rule_on_sqlite() {
    the_sql_condition_is_the_rule(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_condition_is_the_rule_on_postgres() {
    the_sql_condition_is_the_rule(Backend::Postgres).await;
}

/// Outside a test configuration the sweep cannot be run as of a future moment:
/// no escalation is ever recorded ahead of its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_in_the_future_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let tomorrow = Timestamp::now() + SignedDuration::from_hours(24);
    let refused = app
        .api
        .sweep_deadlines(request(
            pb::SweepDeadlinesRequest {
                as_of: Some(aftercare_proto::calendar::timestamp(tomorrow)),
                consistency: None,
            },
            &principal(Role::Admin, "D001"),
        ))
        .await
        .expect_err("a future as_of");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("as_of"), "{refused:?}");
    let now = app
        .api
        .sweep_deadlines(request(
            pb::SweepDeadlinesRequest {
                as_of: None,
                consistency: None,
            },
            &principal(Role::Admin, "D001"),
        ))
        .await;
    assert!(now.is_ok(), "{now:?}");
}
