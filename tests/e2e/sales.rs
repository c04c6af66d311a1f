//! A sale recorded over gRPC on JetStream + PostgreSQL: the vehicle file opens,
//! the buyer becomes its owner, a repeat records nothing, and the vehicle's
//! history shows the sale beside its service visits.

use aftercare_proto::common::v1::{Consistency, DealerId, Money};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;

use crate::harness::{authorized, jetstream_stack, token};

const MANAGER: &str = "care-manager-token-0000002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_opens_the_vehicle_file() {
    let stack = jetstream_stack(&token("manager", MANAGER, "care-manager", "dealer:D001")).await;
    let server = &stack.server;
    let mut client = IntakeServiceClient::new(server.channel().await);
    // A sale names the dealer's own customers: the buyer and who referred them.
    let open_file = |name: &str, phone: &str| {
        let request = authorized(
            pb::RegisterCustomerRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                profile: Some(pb::CustomerInput {
                    name: name.into(),
                    phones: vec![phone.into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            MANAGER,
        );
        let mut client = client.clone();
        async move {
            client
                .register_customer(request)
                .await
                .expect("customer")
                .into_inner()
                .customer_id
        }
    };
    let buyer = open_file("赵敏", "13600001111").await;
    let friend = open_file("孙杰", "13600002222").await;
    let sale = pb::RecordSaleRequest {
        dealer: Some(DealerId {
            value: "D001".into(),
        }),
        vin: "1M8GDM9AXKP042788".into(),
        buyer_customer_id: buyer.clone(),
        sales_consultant: "赵磊".into(),
        sold_on: Some(aftercare_proto::common::v1::Date {
            year: 2026,
            month: 1,
            day: 15,
        }),
        price: Some(Money { fen: 15_980_000 }),
        referrer_customer_id: friend.clone(),
        model: "Cruze".into(),
    };
    let first = client
        .record_sale(authorized(sale.clone(), MANAGER))
        .await
        .expect("sale")
        .into_inner();
    assert!(!first.already_recorded);
    let again = client
        .record_sale(authorized(sale.clone(), MANAGER))
        .await
        .expect("repeat")
        .into_inner();
    assert!(again.already_recorded);
    assert_eq!(again.sale_id, first.sale_id);

    let mut bad = sale.clone();
    bad.referrer_customer_id = buyer.clone();
    let err = client
        .record_sale(authorized(bad, MANAGER))
        .await
        .expect_err("self-referral");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("referrer_customer_id"),
        "{}",
        err.message()
    );

    let history = client
        .get_vehicle_history(authorized(
            pb::GetVehicleHistoryRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: "1M8GDM9AXKP042788".into(),
                consistency: Some(Consistency {
                    min_position: first.position,
                }),
            },
            MANAGER,
        ))
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.owner_customer_id, buyer);
    assert_eq!(history.model, "Cruze");
    assert_eq!(history.sales.len(), 1, "the repeated sale is recorded once");
    assert_eq!(history.sales[0].referrer_customer_id, friend);
    assert_eq!(history.sales[0].price.map(|m| m.fen), Some(15_980_000));
    assert!(history.visits.is_empty());
    assert_eq!(history.vehicle_id, first.vehicle_id);

    // A used-car sale to a customer on file: the owner changes, and the customer
    // is found by the car's VIN.
    let customer = client
        .register_customer(authorized(
            pb::RegisterCustomerRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                profile: Some(pb::CustomerInput {
                    name: "吴杰".into(),
                    phones: vec!["13700001111".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            MANAGER,
        ))
        .await
        .expect("customer")
        .into_inner();
    let transfer = |to: &str, vin: &str| {
        authorized(
            pb::TransferOwnershipRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: vin.into(),
                to_customer_id: to.into(),
                transferred_on: Some(aftercare_proto::common::v1::Date {
                    year: 2026,
                    month: 6,
                    day: 1,
                }),
            },
            MANAGER,
        )
    };
    let moved = client
        .transfer_ownership(transfer(&customer.customer_id, "1M8GDM9AXKP042788"))
        .await
        .expect("moved")
        .into_inner();
    let same = client
        .transfer_ownership(transfer(&customer.customer_id, "1M8GDM9AXKP042788"))
        .await
        .expect_err("same owner");
    assert_eq!(same.code(), Code::FailedPrecondition);
    let unknown = client
        .transfer_ownership(transfer(&customer.customer_id, "LSVAG2186E2100001"))
        .await
        .expect_err("no file");
    assert_eq!(unknown.code(), Code::NotFound);
    let found = client
        .search_customers(authorized(
            pb::SearchCustomersRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                query: "1m8gdm9axkp042788".into(),
                page: None,
                consistency: Some(Consistency {
                    min_position: moved.position,
                }),
            },
            MANAGER,
        ))
        .await
        .expect("search by vin")
        .into_inner();
    assert_eq!(found.customers.len(), 1);
    assert_eq!(found.customers[0].customer_id, customer.customer_id);

    // A car bought elsewhere, entered at the service desk with its plate.
    let register = |plate: &str| {
        authorized(
            pb::RegisterVehicleRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: "LSVAG2186E2100001".into(),
                plate: plate.into(),
                model: "Malibu".into(),
                owner_customer_id: customer.customer_id.clone(),
                purchase_date: None,
                insurance_expiry: Some(aftercare_proto::common::v1::Date {
                    year: 2027,
                    month: 3,
                    day: 1,
                }),
            },
            MANAGER,
        )
    };
    let bad = client
        .register_vehicle(register("A12345"))
        .await
        .expect_err("no province");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("plate"), "{}", bad.message());
    let registered = client
        .register_vehicle(register("沪a·12345"))
        .await
        .expect("registered")
        .into_inner();
    // The same registration again (the plate as stored) is the first result;
    // another plate for the same VIN is refused.
    let twice = client
        .register_vehicle(register("沪A12345"))
        .await
        .expect("a retry is answered")
        .into_inner();
    assert!(twice.already_recorded);
    assert_eq!(twice.vehicle_id, registered.vehicle_id);
    let other = client
        .register_vehicle(register("沪B54321"))
        .await
        .expect_err("already on file");
    assert_eq!(other.code(), Code::FailedPrecondition);
    let by_plate = client
        .search_customers(authorized(
            pb::SearchCustomersRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                query: "沪A 12345".into(),
                page: None,
                consistency: Some(Consistency {
                    min_position: registered.position,
                }),
            },
            MANAGER,
        ))
        .await
        .expect("search by plate")
        .into_inner();
    assert_eq!(by_plate.customers.len(), 1);
    assert_eq!(by_plate.customers[0].customer_id, customer.customer_id);

    // A new plate: the old one no longer finds the owner, the new one does.
    let update = |plate: &str| {
        authorized(
            pb::UpdateVehicleRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: "LSVAG2186E2100001".into(),
                plate: plate.into(),
                model: "Malibu".into(),
                insurance_expiry: Some(aftercare_proto::common::v1::Date {
                    year: 2027,
                    month: 3,
                    day: 1,
                }),
            },
            MANAGER,
        )
    };
    let updated = client
        .update_vehicle(update("沪B54321"))
        .await
        .expect("updated")
        .into_inner();
    assert!(!updated.already_recorded);
    assert!(
        client
            .update_vehicle(update("沪B54321"))
            .await
            .expect("same")
            .into_inner()
            .already_recorded
    );
    let search = |query: &str| {
        authorized(
            pb::SearchCustomersRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                query: query.into(),
                page: None,
                consistency: Some(Consistency {
                    min_position: updated.position,
                }),
            },
            MANAGER,
        )
    };
    assert!(
        client
            .search_customers(search("沪A12345"))
            .await
            .expect("old")
            .into_inner()
            .customers
            .is_empty()
    );
    assert_eq!(
        client
            .search_customers(search("沪B54321"))
            .await
            .expect("new")
            .into_inner()
            .customers
            .len(),
        1
    );
}
