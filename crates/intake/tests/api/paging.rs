//! A list says how long it is and how to get the next page: customer search by
//! name, a page at a time, on SQLite and PostgreSQL.

use aftercare_proto::common::v1::PageRequest;
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;

use crate::app::{Backend, after, dealer, principal, request, spawn_app};
use crate::register_customer;

async fn pages_say_how_many_there_are(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut last = None;
    for (i, name) in ["王芳", "王磊", "王静", "刘洋"].iter().enumerate() {
        let (_, at) = register_customer(&app, "D001", name, &format!("1381234{i:04}")).await;
        last = at;
    }
    let search = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move {
            app.api
                .search_customers(request(
                    pb::SearchCustomersRequest {
                        dealer: dealer("D001"),
                        query: "王".into(),
                        page: Some(PageRequest {
                            page_size: 2,
                            page_token: token,
                        }),
                        consistency: after(last),
                    },
                    &principal(Role::CareManager, "D001"),
                ))
                .await
                .expect("search")
                .into_inner()
        }
    };
    let first = search("").await;
    let page = first.page.expect("page");
    assert_eq!((first.customers.len(), page.total), (2, 3));
    assert_eq!(page.next_page_token, "2");
    let second = search(&page.next_page_token).await;
    let page = second.page.expect("page");
    assert_eq!((second.customers.len(), page.total), (1, 3));
    assert_eq!(page.next_page_token, "", "the last page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_say_how_many_there_are_on_sqlite() {
    pages_say_how_many_there_are(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_say_how_many_there_are_on_postgres() {
    pages_say_how_many_there_are(Backend::Postgres).await;
}
