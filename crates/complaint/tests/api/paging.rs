//! A dealer's complaint list comes in pages: each says how many match in all
//! and where the next page starts; following the tokens lists every complaint
//! once, newest first, and a token that is not one is refused by name.

use aftercare_proto::common::v1::{Consistency, PageRequest, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_server::ComplaintService;
use aftercare_runtime::Role;
use tonic::Code;

use crate::app::{Backend, dealer_field, principal, request, spawn_app};

async fn pages_follow_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = principal(Role::CareManager, "D001");
    let mut last = 0;
    let mut filed = Vec::new();
    for i in 0..7 {
        let answer = app
            .api
            .file_complaint(request(
                pb::FileComplaintRequest {
                    dealer: dealer_field("D001"),
                    channel: pb::Channel::WalkIn as i32,
                    description: format!("第{i}次投诉"),
                    ..Default::default()
                },
                &desk,
            ))
            .await
            .expect("filed")
            .into_inner();
        last = answer.position.map_or(0, |p| p.value);
        filed.push(answer.ticket_id);
    }
    let list = |token: String, status: &str| {
        app.api.list_complaints(request(
            pb::ListComplaintsRequest {
                dealer: dealer_field("D001"),
                status: status.into(),
                consistency: Some(Consistency {
                    min_position: Some(Position { value: last }),
                }),
                page: Some(PageRequest {
                    page_size: 3,
                    page_token: token,
                }),
                ..Default::default()
            },
            &desk,
        ))
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = list(token.clone(), "").await.expect("a page").into_inner();
        let info = page.page.expect("page info");
        assert_eq!(info.total, 7, "every page counts them all");
        seen.extend(page.tickets.into_iter().map(|t| t.ticket_id));
        pages += 1;
        if info.next_page_token.is_empty() {
            break;
        }
        token = info.next_page_token;
    }
    assert_eq!(pages, 3, "3 + 3 + 1");
    let mut newest_first = filed.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first, "each once, newest first");

    let closed = list(String::new(), "closed")
        .await
        .expect("filtered")
        .into_inner();
    assert!(closed.tickets.is_empty());
    assert_eq!(
        closed.page.expect("page info").total,
        0,
        "the filter counts"
    );

    let bad = list("three".into(), "").await.expect_err("not a token");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("page.page_token"),
        "{}",
        bad.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_on_on_sqlite() {
    pages_follow_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_on_on_postgres() {
    pages_follow_on(Backend::Postgres).await;
}
