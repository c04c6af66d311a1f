//! The intake service: its gRPC handlers called as the server calls them, on
//! SQLite and on PostgreSQL read models (which dealer's files a command may
//! name, what each role sees of personal data, retried creates), and its
//! commands and read models through the real event stores.

mod app;
mod customers;
mod files;
mod masking;
mod paging;
mod retries;
mod scope;
mod visits;

use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;

use app::{App, dealer, principal, request};

/// Opens a customer file at `dealer` as its care manager: (id, position).
pub async fn register_customer(
    app: &App,
    at: &str,
    name: &str,
    phone: &str,
) -> (String, Option<aftercare_proto::common::v1::Position>) {
    let answer = app
        .api
        .register_customer(request(
            pb::RegisterCustomerRequest {
                dealer: dealer(at),
                profile: Some(pb::CustomerInput {
                    name: name.into(),
                    phones: vec![phone.into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &principal(Role::CareManager, at),
        ))
        .await
        .expect("registered")
        .into_inner();
    (answer.customer_id, answer.position)
}
