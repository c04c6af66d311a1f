//! A walk-in complaint filed again by a client retrying after a timeout: one
//! ticket, and the retry answered with it.

use aftercare_proto::common::v1::{Consistency, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_server::ComplaintService;
use aftercare_runtime::Role;
use tonic::Code;

use crate::app::{App, Backend, principal, request, spawn_app};

fn walk_in(request_id: &str, description: &str) -> pb::FileComplaintRequest {
    pb::FileComplaintRequest {
        dealer: crate::app::dealer_field("D001"),
        channel: pb::Channel::WalkIn as i32,
        vin: "LSVAG2186E2100001".into(),
        description: description.into(),
        client_request_id: request_id.into(),
        ..Default::default()
    }
}

async fn file(app: &App, body: pb::FileComplaintRequest) -> pb::ComplaintCommandResponse {
    app.api
        .file_complaint(request(body, &principal(Role::ServiceAdvisor, "D001")))
        .await
        .expect("filed")
        .into_inner()
}

async fn a_retried_filing_files_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = file(&app, walk_in("front-desk/2026-11-26/17", "保养后异响")).await;
    assert!(first.changed && !first.already_filed);
    let again = file(&app, walk_in("front-desk/2026-11-26/17", "保养后异响")).await;
    assert_eq!(again.ticket_id, first.ticket_id);
    assert_eq!(again.position, first.position, "the original position");
    assert!(again.already_filed && !again.changed);
    // Two retries at once still file one ticket.
    let (a, b) = tokio::join!(
        file(&app, walk_in("front-desk/2026-11-26/18", "空调不制冷")),
        file(&app, walk_in("front-desk/2026-11-26/18", "空调不制冷")),
    );
    assert_eq!((&a.ticket_id, a.position), (&b.ticket_id, b.position));
    assert!(a.already_filed != b.already_filed);
    // Without a request id every filing is a ticket of its own.
    let plain = file(&app, walk_in("", "保养后异响")).await;
    let plain_again = file(&app, walk_in("", "保养后异响")).await;
    assert_ne!(plain.ticket_id, plain_again.ticket_id);

    let listed = app
        .api
        .list_complaints(request(
            pb::ListComplaintsRequest {
                dealer: crate::app::dealer_field("D001"),
                consistency: Some(Consistency {
                    min_position: Some(Position {
                        value: plain_again.position.map_or(0, |p| p.value),
                    }),
                }),
                ..Default::default()
            },
            &principal(Role::CareManager, "D001"),
        ))
        .await
        .expect("listed")
        .into_inner();
    let mut ids: Vec<_> = listed.tickets.iter().map(|t| t.ticket_id.clone()).collect();
    ids.sort();
    let mut expected = vec![
        first.ticket_id,
        a.ticket_id,
        plain.ticket_id,
        plain_again.ticket_id,
    ];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_filing_files_once_on_sqlite() {
    a_retried_filing_files_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_filing_files_once_on_postgres() {
    a_retried_filing_files_once(Backend::Postgres).await;
}

#[tokio::test]
async fn a_malformed_request_id_is_named() {
    let app = spawn_app(Backend::Sqlite).await;
    for bad in [
        "r".repeat(129),
        "请求1".to_owned(),
        "line\nbreak".to_owned(),
    ] {
        let status = app
            .api
            .file_complaint(request(
                walk_in(&bad, "保养后异响"),
                &principal(Role::ServiceAdvisor, "D001"),
            ))
            .await
            .expect_err("malformed");
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert!(status.message().contains("client_request_id"), "{status:?}");
    }
}
