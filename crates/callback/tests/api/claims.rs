//! Two agents claiming one task: exactly one wins. Another dealer's task is not
//! found, whatever its id. A wrong number closes the task at once, and an
//! attempt sent twice is recorded once.

use aftercare_proto::callback::v1 as pb;
use aftercare_proto::callback::v1::callback_service_server::CallbackService;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::Role;
use jiff::{Span, Timestamp};
use tonic::Code;

use aftercare_proto::intake::v1::intake_service_server::IntakeService;

use crate::app::{App, Backend, after, customer, dealer, person, request, spawn_app, vin, visit};

async fn a_visits_callback(app: &App) -> (String, u64) {
    let (liu, _) = customer(app, "D001", "刘洋", "13812341234", true).await;
    let position = visit(
        app,
        "RO-9",
        &vin(52, 1),
        &liu,
        Timestamp::now() - Span::new().hours(2),
        15_000,
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
            &person("王芳", Role::CallbackAgent, "D001"),
        ))
        .await
        .expect("worklist")
        .into_inner();
    assert_eq!(list.tasks.len(), 1, "{list:#?}");
    (list.tasks[0].task_id.clone(), position)
}

fn claim(
    app: &App,
    who: &str,
    task: &str,
) -> impl std::future::Future<Output = Result<tonic::Response<pb::TaskCommandResponse>, tonic::Status>>
{
    app.api.claim_task(request(
        pb::ClaimTaskRequest {
            dealer: dealer("D001"),
            task_id: task.into(),
            agent: String::new(),
        },
        &person(who, Role::CallbackAgent, "D001"),
    ))
}

async fn exactly_one_claimant_wins(backend: Backend) {
    let app = spawn_app(backend).await;
    let (task, _) = a_visits_callback(&app).await;
    let (wang, li) = tokio::join!(claim(&app, "王芳", &task), claim(&app, "李强", &task));
    let won: Vec<bool> = [&wang, &li].iter().map(|r| r.is_ok()).collect();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{wang:?} {li:?}");
    let (winner, loser) = if won[0] {
        ("王芳", li)
    } else {
        ("李强", wang)
    };
    let refused = loser.expect_err("refused");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains(winner),
        "names the holder: {}",
        refused.message()
    );
    // The holder claiming again is answered, changing nothing.
    let again = claim(&app, winner, &task)
        .await
        .expect("again")
        .into_inner();
    assert!(!again.changed);
    // The one who lost cannot call it either.
    let other = if winner == "王芳" {
        "李强"
    } else {
        "王芳"
    };
    let call = app
        .api
        .record_attempt(request(
            pb::RecordAttemptRequest {
                dealer: dealer("D001"),
                task_id: task.clone(),
                result: pb::AttemptResult::NoAnswer as i32,
                ..Default::default()
            },
            &person(other, Role::CallbackAgent, "D001"),
        ))
        .await
        .expect_err("not theirs");
    assert_eq!(call.code(), Code::FailedPrecondition);
    // A manager hands it on.
    app.api
        .reassign_task(request(
            pb::ReassignTaskRequest {
                dealer: dealer("D001"),
                task_id: task.clone(),
                to_agent: other.into(),
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("reassigned");
    // An agent may not.
    let refused = app
        .api
        .reassign_task(request(
            pb::ReassignTaskRequest {
                dealer: dealer("D001"),
                task_id: task.clone(),
                to_agent: winner.into(),
            },
            &person(other, Role::CallbackAgent, "D001"),
        ))
        .await
        .expect_err("agents do not dispatch");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // A wrong number closes the task at once; the same attempt sent again is
    // recorded once.
    let at = Some(aftercare_proto::calendar::timestamp(Timestamp::now()));
    let wrong = |who: &str| {
        app.api.record_attempt(request(
            pb::RecordAttemptRequest {
                dealer: dealer("D001"),
                task_id: task.clone(),
                result: pb::AttemptResult::WrongNumber as i32,
                at,
                ..Default::default()
            },
            &person(who, Role::CallbackAgent, "D001"),
        ))
    };
    let first = wrong(other).await.expect("wrong number").into_inner();
    assert!(first.changed);
    let second = wrong(other).await.expect("the same again").into_inner();
    assert!(!second.changed);
    let shown = app
        .api
        .get_task(request(
            pb::GetTaskRequest {
                dealer: dealer("D001"),
                task_id: task.clone(),
                consistency: after(second.position.expect("position").value),
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("task")
        .into_inner();
    assert_eq!(shown.status, pb::TaskStatus::Unreached as i32);
    assert_eq!(shown.attempts, 1);

    // The wrong number is marked on the customer file by intake, once.
    let customer_id = shown.customer_id.clone();
    let settled = app.settled().await;
    let wrong = app
        .intake
        .get_customer(request(
            intake::GetCustomerRequest {
                dealer: dealer("D001"),
                customer_id: customer_id.clone(),
                consistency: after(settled),
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("file")
        .into_inner()
        .wrong_numbers;
    assert_eq!(wrong, ["13812341234"]);
    // With no other number, the customer's next visit is not called.
    let next = visit(
        &app,
        "RO-10",
        &vin(52, 1),
        &customer_id,
        Timestamp::now() - Span::new().hours(1),
        15_500,
        intake::VisitKind::Repair,
    )
    .await;
    let list = app
        .api
        .worklist(request(
            pb::WorklistRequest {
                dealer: dealer("D001"),
                consistency: after(next),
                ..Default::default()
            },
            &person("经理", Role::CareManager, "D001"),
        ))
        .await
        .expect("worklist")
        .into_inner();
    assert!(list.tasks.is_empty(), "{list:#?}");
    let not_contactable: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM callback_unscheduled WHERE reason = 'not-contactable'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(not_contactable, 1);

    // Another dealer's principal finds nothing under this id.
    let hidden = app
        .api
        .get_task(request(
            pb::GetTaskRequest {
                dealer: dealer("D002"),
                task_id: task.clone(),
                consistency: None,
            },
            &person("王芳", Role::CallbackAgent, "D002"),
        ))
        .await
        .expect_err("not theirs");
    assert_eq!(hidden.code(), Code::NotFound);
    let claimed = app
        .api
        .claim_task(request(
            pb::ClaimTaskRequest {
                dealer: dealer("D002"),
                task_id: task.clone(),
                agent: String::new(),
            },
            &person("王芳", Role::CallbackAgent, "D002"),
        ))
        .await
        .expect_err("not theirs");
    assert_eq!(claimed.code(), Code::NotFound);
    // Nor may a D002 agent name D001.
    let scoped = claim_as_other_dealer(&app, &task).await;
    assert_eq!(scoped.code(), Code::PermissionDenied);
}

async fn claim_as_other_dealer(app: &App, task: &str) -> tonic::Status {
    app.api
        .claim_task(request(
            pb::ClaimTaskRequest {
                dealer: dealer("D001"),
                task_id: task.into(),
                agent: String::new(),
            },
            &person("王芳", Role::CallbackAgent, "D002"),
        ))
        .await
        .expect_err("out of scope")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_claimant_wins_on_sqlite() {
    exactly_one_claimant_wins(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_claimant_wins_on_postgres() {
    exactly_one_claimant_wins(Backend::Postgres).await;
}
