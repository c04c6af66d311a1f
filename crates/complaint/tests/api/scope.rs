//! A complaint names a customer of its own dealer: another dealer's customer is
//! refused with the field named, as an id that exists nowhere is.

use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_server::ComplaintService;
use aftercare_runtime::Role;
use tonic::Code;

use crate::app::{Backend, customer, principal, request, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_names_only_its_dealers_customers() {
    let app = spawn_app(Backend::Sqlite).await;
    let ours = customer(
        app.store.as_ref(),
        "D001",
        "0190f0a0-0000-7000-8000-0000000000a1",
        "刘洋",
    )
    .await;
    let theirs = customer(
        app.store.as_ref(),
        "D002",
        "0190f0a0-0000-7000-8000-0000000000b2",
        "陈静",
    )
    .await;
    let filing = |customer: &str| {
        request(
            pb::FileComplaintRequest {
                dealer: crate::app::dealer_field("D001"),
                channel: pb::Channel::WalkIn as i32,
                customer_id: customer.into(),
                description: "保养后异响".into(),
                ..Default::default()
            },
            &principal(Role::ServiceAdvisor, "D001"),
        )
    };
    for other in [theirs.as_str(), "0190f0a0-0000-7000-8000-0000000000c3"] {
        let status = app
            .api
            .file_complaint(filing(other))
            .await
            .expect_err("not our customer");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert!(status.message().contains("customer_id"), "{status:?}");
        assert!(
            !status.message().contains("陈静") && !status.message().contains("D002"),
            "{status:?}"
        );
    }
    let status = app
        .api
        .file_complaint(filing("c-1"))
        .await
        .expect_err("not an id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("customer_id"), "{status:?}");
    app.api
        .file_complaint(filing(&ours.to_uppercase()))
        .await
        .expect("our customer");
}
