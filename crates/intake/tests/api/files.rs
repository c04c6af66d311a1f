//! A customer's file lists the vehicles they own at the dealer, masked like the
//! rest of the file, on SQLite and PostgreSQL.

use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;

use crate::app::{Backend, after, dealer, principal, request, spawn_app};
use crate::register_customer;

async fn a_file_lists_the_owners_vehicles(backend: Backend) {
    let app = spawn_app(backend).await;
    let (customer, _) = register_customer(&app, "D001", "刘洋", "13812341234").await;
    let (other, _) = register_customer(&app, "D001", "陈静", "13812345678").await;
    let mut last = None;
    for (vin, owner) in [
        ("LSVAG2186E2100001", &customer),
        ("1M8GDM9AXKP042788", &customer),
        ("LSVAG2188E2100002", &other),
    ] {
        last = app
            .api
            .register_vehicle(request(
                pb::RegisterVehicleRequest {
                    dealer: dealer("D001"),
                    vin: vin.into(),
                    model: "科鲁兹".into(),
                    owner_customer_id: owner.clone(),
                    ..Default::default()
                },
                &principal(Role::CareManager, "D001"),
            ))
            .await
            .expect("registered")
            .into_inner()
            .position;
    }
    let file = |role: Role| {
        let customer = customer.clone();
        let app = &app;
        async move {
            app.api
                .get_customer(request(
                    pb::GetCustomerRequest {
                        dealer: dealer("D001"),
                        customer_id: customer,
                        consistency: after(last),
                    },
                    &principal(role, "D001"),
                ))
                .await
                .expect("file")
                .into_inner()
        }
    };
    let shown = file(Role::CareManager).await;
    let vins: Vec<&str> = shown.vehicles.iter().map(|v| v.vin.as_str()).collect();
    assert_eq!(vins, ["1M8GDM9AXKP042788", "LSVAG2186E2100001"]);
    assert!(
        shown
            .vehicles
            .iter()
            .all(|v| v.model == "科鲁兹" && v.plate.is_empty())
    );
    let masked = file(Role::Viewer).await;
    let vins: Vec<&str> = masked.vehicles.iter().map(|v| v.vin.as_str()).collect();
    assert_eq!(vins, ["1M8**********2788", "LSV**********0001"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_lists_the_owners_vehicles_on_sqlite() {
    a_file_lists_the_owners_vehicles(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_lists_the_owners_vehicles_on_postgres() {
    a_file_lists_the_owners_vehicles(Backend::Postgres).await;
}
