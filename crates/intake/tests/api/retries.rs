//! Creates retried with the same client request id: one customer, one lead,
//! the first answer again; the id is checked and named when malformed.

use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;
use tonic::Code;

use crate::app::{App, Backend, after, dealer, principal, request, spawn_app};

fn registration(at: &str, request_id: &str, name: &str) -> pb::RegisterCustomerRequest {
    pb::RegisterCustomerRequest {
        dealer: dealer(at),
        profile: Some(pb::CustomerInput {
            name: name.into(),
            phones: vec!["13812341234".into()],
            ..Default::default()
        }),
        client_request_id: request_id.into(),
        ..Default::default()
    }
}

async fn register(app: &App, body: pb::RegisterCustomerRequest) -> pb::CustomerCommandResponse {
    let at = body.dealer.clone().map(|d| d.value).unwrap_or_default();
    app.api
        .register_customer(request(body, &principal(Role::CareManager, &at)))
        .await
        .expect("registered")
        .into_inner()
}

async fn a_retried_create_creates_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = register(&app, registration("D001", "desk-7/0001", "刘洋")).await;
    assert!(first.changed);
    // The retry, even with a corrected name, is answered with the first result.
    let again = register(&app, registration("D001", "desk-7/0001", "刘 洋")).await;
    assert_eq!(again.customer_id, first.customer_id);
    assert_eq!(again.position, first.position);
    assert!(!again.changed);
    // Two retries racing each other still make one customer.
    let (a, b) = tokio::join!(
        register(&app, registration("D001", "desk-7/0002", "陈静")),
        register(&app, registration("D001", "desk-7/0002", "陈静")),
    );
    assert_eq!(a.customer_id, b.customer_id);
    assert_eq!(a.position, b.position);
    assert!(a.changed != b.changed, "exactly one of them created it");
    // Another key, or the same key at another dealer, is another customer.
    let other = register(&app, registration("D001", "desk-7/0003", "刘洋")).await;
    let elsewhere = register(&app, registration("D002", "desk-7/0001", "刘洋")).await;
    assert_ne!(other.customer_id, first.customer_id);
    assert_ne!(elsewhere.customer_id, first.customer_id);

    let found = app
        .api
        .search_customers(request(
            pb::SearchCustomersRequest {
                dealer: dealer("D001"),
                query: "13812341234".into(),
                page: None,
                consistency: after(other.position),
            },
            &principal(Role::CareManager, "D001"),
        ))
        .await
        .expect("search")
        .into_inner();
    let mut ids: Vec<_> = found.customers.into_iter().map(|c| c.customer_id).collect();
    ids.sort();
    let mut expected = vec![first.customer_id, a.customer_id, other.customer_id];
    expected.sort();
    assert_eq!(ids, expected, "one customer per request id");

    // Leads the same way.
    let capture = || {
        request(
            pb::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: pb::LeadSource::Hotline as i32,
                name: "王先生".into(),
                phone: "18600001111".into(),
                client_request_id: "hotline/call-991".into(),
                ..Default::default()
            },
            &principal(Role::CallbackAgent, "D001"),
        )
    };
    let lead = app
        .api
        .capture_lead(capture())
        .await
        .expect("captured")
        .into_inner();
    let repeat = app
        .api
        .capture_lead(capture())
        .await
        .expect("repeat")
        .into_inner();
    assert!(lead.changed && !repeat.changed);
    assert_eq!(
        (repeat.lead_id, repeat.position),
        (lead.lead_id, lead.position)
    );
    let leads = app
        .api
        .list_leads(request(
            pb::ListLeadsRequest {
                dealer: dealer("D001"),
                consistency: after(lead.position),
                ..Default::default()
            },
            &principal(Role::CareManager, "D001"),
        ))
        .await
        .expect("leads")
        .into_inner();
    assert_eq!(leads.leads.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_creates_once_on_sqlite() {
    a_retried_create_creates_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_creates_once_on_postgres() {
    a_retried_create_creates_once(Backend::Postgres).await;
}

#[tokio::test]
async fn a_malformed_request_id_is_named() {
    let app = spawn_app(Backend::Sqlite).await;
    for bad in ["x".repeat(129), "重试-1".to_owned(), "tab\there".to_owned()] {
        let status = app
            .api
            .register_customer(request(
                registration("D001", &bad, "刘洋"),
                &principal(Role::CareManager, "D001"),
            ))
            .await
            .expect_err("malformed");
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert!(status.message().contains("client_request_id"), "{status:?}");
    }
}

/// A vehicle's id comes from its VIN: the same registration sent again is the
/// first result, a different one for the same VIN is refused.
#[tokio::test]
async fn a_retried_vehicle_registration_is_the_first_result() {
    let app = spawn_app(Backend::Sqlite).await;
    let manager = principal(Role::CareManager, "D001");
    let vehicle = |model: &str| pb::RegisterVehicleRequest {
        dealer: dealer("D001"),
        vin: "LSVAG2186E2100001".into(),
        plate: "沪A·12345".into(),
        model: model.into(),
        ..Default::default()
    };
    let first = app
        .api
        .register_vehicle(request(vehicle("Malibu"), &manager))
        .await
        .expect("registered")
        .into_inner();
    assert!(!first.already_recorded);
    let again = app
        .api
        .register_vehicle(request(vehicle("Malibu"), &manager))
        .await
        .expect("the retry is answered")
        .into_inner();
    assert!(again.already_recorded);
    assert_eq!(again.vehicle_id, first.vehicle_id);
    assert_eq!(again.position, first.position);
    let other = app
        .api
        .register_vehicle(request(vehicle("Cruze"), &manager))
        .await
        .expect_err("a different registration of a VIN on file");
    assert_eq!(other.code(), Code::FailedPrecondition, "{other:?}");
}
