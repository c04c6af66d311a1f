//! A dealer's commands may name only its own customers and vehicles, and its
//! queries return only its own files: dealer D001 naming a customer of D002 is
//! refused with the field named, exactly as an id that exists nowhere, and a
//! vehicle file that names D002's customer (recorded before the check) still
//! shows D001 nothing of that customer.

use aftercare_eventstore::StreamId;
use aftercare_intake::domain::vehicle::{Vehicle, VehicleCommand};
use aftercare_intake::domain::vin::Vin;
use aftercare_intake::domain::visit::vehicle_id;
use aftercare_intake::vehicle_events::VehicleCodec;
use aftercare_proto::common::v1::Date;
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;
use aftercare_runtime::command::execute;
use tonic::Code;

use crate::app::{Backend, after, dealer, dealer_id, principal, request, spawn_app};
use crate::register_customer;

const VIN: &str = "LSVAG2186E2100001";
const OTHER_VIN: &str = "1M8GDM9AXKP042788";
const THEIR_NAME: &str = "陈静";
const THEIR_PHONE: &str = "13900001111";

fn day() -> Option<Date> {
    Some(Date {
        year: 2026,
        month: 1,
        day: 15,
    })
}

/// The refusal names `field`, says nothing of the other dealer's customer, and
/// is what an id of no one at all gets.
fn refused(status: tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::NotFound, "{field}: {status:?}");
    let message = status.message();
    assert!(message.contains(field), "{field}: {message}");
    assert!(
        !message.contains(THEIR_NAME)
            && !message.contains(THEIR_PHONE)
            && !message.contains("D002"),
        "{field} leaks: {message}"
    );
}

async fn commands_name_only_the_callers_files(backend: Backend) {
    let app = spawn_app(backend).await;
    let ours = principal(Role::CareManager, "D001");
    let (mine, _) = register_customer(&app, "D001", "刘洋", "13812341234").await;
    let (theirs, _) = register_customer(&app, "D002", THEIR_NAME, THEIR_PHONE).await;
    let nobody = "0190f0a0-0000-7000-8000-000000000001".to_owned();
    let api = &app.api;

    for owner in [&theirs, &nobody] {
        let status = api
            .register_vehicle(request(
                pb::RegisterVehicleRequest {
                    dealer: dealer("D001"),
                    vin: VIN.into(),
                    model: "Malibu".into(),
                    owner_customer_id: owner.clone(),
                    ..Default::default()
                },
                &ours,
            ))
            .await
            .expect_err("another dealer's owner");
        refused(status, "owner_customer_id");
    }
    let sale = |buyer: &str, referrer: &str| pb::RecordSaleRequest {
        dealer: dealer("D001"),
        vin: VIN.into(),
        buyer_customer_id: buyer.into(),
        sales_consultant: "赵磊".into(),
        sold_on: day(),
        referrer_customer_id: referrer.into(),
        model: "Cruze".into(),
        ..Default::default()
    };
    let status = api
        .record_sale(request(sale(&theirs, ""), &ours))
        .await
        .expect_err("another dealer's buyer");
    refused(status, "buyer_customer_id");
    let status = api
        .record_sale(request(sale(&mine, &theirs), &ours))
        .await
        .expect_err("another dealer's referrer");
    refused(status, "referrer_customer_id");
    let status = api
        .record_sale(request(sale("C0000042", ""), &ours))
        .await
        .expect_err("not a customer id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("buyer_customer_id"), "{status:?}");

    // Our own customer buys the car; it cannot then pass to theirs.
    let sold = api
        .record_sale(request(sale(&mine.to_uppercase(), ""), &ours))
        .await
        .expect("our customer buys")
        .into_inner();
    let status = api
        .transfer_ownership(request(
            pb::TransferOwnershipRequest {
                dealer: dealer("D001"),
                vin: VIN.into(),
                to_customer_id: theirs.clone(),
                transferred_on: day(),
            },
            &ours,
        ))
        .await
        .expect_err("another dealer's new owner");
    refused(status, "to_customer_id");

    // Leads: a referrer, and the customer and vehicle a lead converts into.
    let status = api
        .capture_lead(request(
            pb::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: pb::LeadSource::Referral as i32,
                name: "王先生".into(),
                phone: "18600001111".into(),
                referrer_customer_id: theirs.clone(),
                ..Default::default()
            },
            &ours,
        ))
        .await
        .expect_err("another dealer's referrer");
    refused(status, "referrer_customer_id");
    let lead = api
        .capture_lead(request(
            pb::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: pb::LeadSource::Web as i32,
                name: "王先生".into(),
                phone: "18600001111".into(),
                ..Default::default()
            },
            &ours,
        ))
        .await
        .expect("captured")
        .into_inner();
    let their_vehicle = vehicle_id("D002", &Vin::parse(OTHER_VIN).expect("vin")).to_string();
    let convert = |customer: &str, vehicle: &str| {
        request(
            pb::ConvertLeadRequest {
                dealer: dealer("D001"),
                lead_id: lead.lead_id.clone(),
                customer_id: customer.into(),
                vehicle_id: vehicle.into(),
            },
            &ours,
        )
    };
    refused(
        api.convert_lead(convert(&theirs, ""))
            .await
            .expect_err("their customer"),
        "customer_id",
    );
    refused(
        api.convert_lead(convert(&mine, &their_vehicle))
            .await
            .expect_err("a vehicle not on our files"),
        "vehicle_id",
    );
    api.convert_lead(convert(&mine, &sold.vehicle_id))
        .await
        .expect("our customer and our vehicle");

    // The sale names our customer in the canonical form, and the VIN finds them.
    let found = api
        .search_customers(request(
            pb::SearchCustomersRequest {
                dealer: dealer("D001"),
                query: VIN.into(),
                page: None,
                consistency: after(sold.position),
            },
            &ours,
        ))
        .await
        .expect("search")
        .into_inner();
    let ids: Vec<_> = found
        .customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_name_only_the_callers_files_on_sqlite() {
    commands_name_only_the_callers_files(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_name_only_the_callers_files_on_postgres() {
    commands_name_only_the_callers_files(Backend::Postgres).await;
}

async fn queries_show_only_the_callers_customers(backend: Backend) {
    let app = spawn_app(backend).await;
    let ours = principal(Role::CareManager, "D001");
    let (theirs, _) = register_customer(&app, "D002", THEIR_NAME, THEIR_PHONE).await;
    // A vehicle file of D001 naming D002's customer, as one recorded before
    // commands checked the ids they name.
    let vin = Vin::parse(OTHER_VIN).expect("vin");
    let id = vehicle_id("D001", &vin);
    let stream =
        StreamId::new(dealer_id("D001"), "vehicle", id.simple().to_string()).expect("stream");
    let registered = execute::<Vehicle>(
        app.store.as_ref(),
        &stream,
        &VehicleCodec,
        VehicleCommand::Register {
            vehicle_id: id.to_string(),
            vin,
            plate: Some("沪A12345".into()),
            model: "Malibu".into(),
            owner: Some(theirs.clone()),
            purchase_date: None,
            insurance_expiry: None,
        },
        |e| e,
    )
    .await
    .expect("recorded");
    let at = Some(aftercare_proto::common::v1::Position {
        value: registered.position.0,
    });
    for query in [OTHER_VIN, "沪A12345", THEIR_PHONE, THEIR_NAME] {
        let found = app
            .api
            .search_customers(request(
                pb::SearchCustomersRequest {
                    dealer: dealer("D001"),
                    query: query.into(),
                    page: None,
                    consistency: after(at),
                },
                &ours,
            ))
            .await
            .expect("search")
            .into_inner();
        assert!(
            found.customers.is_empty(),
            "{query} shows D002's customer to D001: {:?}",
            found.customers
        );
    }
    let status = app
        .api
        .get_customer(request(
            pb::GetCustomerRequest {
                dealer: dealer("D001"),
                customer_id: theirs.clone(),
                consistency: after(at),
            },
            &ours,
        ))
        .await
        .expect_err("another dealer's customer");
    assert_eq!(status.code(), Code::NotFound);
    assert!(!status.message().contains(THEIR_NAME), "{status:?}");
    // D002 itself still finds its customer by name.
    let theirs_found = app
        .api
        .search_customers(request(
            pb::SearchCustomersRequest {
                dealer: dealer("D002"),
                query: THEIR_NAME.into(),
                page: None,
                consistency: after(at),
            },
            &principal(Role::CareManager, "D002"),
        ))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(theirs_found.customers.len(), 1);
    assert_eq!(theirs_found.customers[0].name, THEIR_NAME);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_show_only_the_callers_customers_on_sqlite() {
    queries_show_only_the_callers_customers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_show_only_the_callers_customers_on_postgres() {
    queries_show_only_the_callers_customers(Backend::Postgres).await;
}
