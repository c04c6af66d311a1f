//! A production-shaped server (JetStream, PostgreSQL) restarted over read models
//! that hold NULLs next to text of every length: nothing is dead-lettered, and
//! what was stored reads back as it was written.

use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, DealerId, Position};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftercare_proto::system::v1::ProjectionStatusRequest;
use aftercare_proto::system::v1::system_service_client::SystemServiceClient;

use crate::harness::{Server, authorized, dms_send, token, vin};

const ADMIN: &str = "restart-admin-token-0001";

/// Waits until every projection has applied the log up to a head beyond `after`.
async fn caught_up_beyond(server: &Server, after: u64) -> u64 {
    let mut client = SystemServiceClient::new(server.channel().await);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let status = client
            .projection_status(authorized(ProjectionStatusRequest {}, ADMIN))
            .await
            .expect("status")
            .into_inner();
        let head = status.head.expect("head").value;
        if head > after && status.projections.iter().all(|p| p.lag == 0) {
            return head;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not caught up beyond {after}: {status:?}\n{}",
            server.output()
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_dead_letters_nothing_and_keeps_every_value() {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("aftercare.toml");
    std::fs::write(
        &config,
        format!(
            // One connection: every statement of every runner shares its
            // prepared-statement cache, as a busy pool's connections end up doing.
            "[store]\nbackend = \"jetstream\"\nurl = \"{}\"\n\
             [database]\nurl = \"{}\"\nmax_connections = 1\n{}",
            nats.url(),
            database.url,
            token("admin", ADMIN, "admin", "all")
        ),
    )
    .expect("config");
    let args = ["--config", config.to_str().expect("utf-8")];
    let server = Server::start(dir.path(), &args, &[]);
    assert!(
        !dir.path().join("data").exists(),
        "a deployment on JetStream and PostgreSQL has no data folder"
    );
    let mut intake = IntakeServiceClient::new(server.channel().await);
    let dealer = || {
        Some(DealerId {
            value: "D001".into(),
        })
    };

    // Vehicles with no owner (NULL) and vehicles sold to customers (text ids),
    // in alternation, with names of odd lengths and characters.
    let mut owners = Vec::new();
    for i in 0..6u32 {
        let vin = vin(31, i);
        if i % 2 == 0 {
            intake
                .register_vehicle(authorized(
                    pb::RegisterVehicleRequest {
                        dealer: dealer(),
                        vin: vin.clone(),
                        model: "Cruze".into(),
                        ..Default::default()
                    },
                    ADMIN,
                ))
                .await
                .expect("vehicle without owner");
            owners.push((vin, String::new()));
        } else {
            let name = ["欧阳", "O'Brien \"Bob\"", &"长".repeat(90)][(i / 2) as usize].to_owned();
            let customer = intake
                .register_customer(authorized(
                    pb::RegisterCustomerRequest {
                        dealer: dealer(),
                        profile: Some(pb::CustomerInput {
                            name,
                            phones: vec![format!("1380000{i:04}")],
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    ADMIN,
                ))
                .await
                .expect("customer")
                .into_inner()
                .customer_id;
            intake
                .record_sale(authorized(
                    pb::RecordSaleRequest {
                        dealer: dealer(),
                        vin: vin.clone(),
                        buyer_customer_id: customer.clone(),
                        sales_consultant: "赵磊".into(),
                        sold_on: Some(aftercare_proto::common::v1::Date {
                            year: 2024,
                            month: 3,
                            day: 1 + i,
                        }),
                        model: "Malibu".into(),
                        ..Default::default()
                    },
                    ADMIN,
                ))
                .await
                .expect("sale");
            owners.push((vin, customer));
        }
    }
    // Visits long ago, so that the churn sweep after the restart announces a
    // segment for every vehicle.
    let dms = async_nats::connect(nats.url()).await.expect("dms");
    for (i, (vin, owner)) in owners.iter().enumerate() {
        let body = serde_json::json!({
            "repair_order": format!("RO-R-{i}"), "vin": vin, "customer_id": owner,
            "opened_at": "2024-05-01T01:00:00Z", "closed_at": "2024-05-01T05:00:00Z",
            "mileage_km": 20000 + i, "kind": "maintenance", "labour_fen": 30000, "parts_fen": 0,
            "service_advisor": "陈静", "advisor_group": "C组",
        });
        dms_send(&dms, "D001", "visits", &body).await;
    }
    let before = caught_up_beyond(&server, 0).await;
    assert!(server.terminate().success());

    let server = Server::start(dir.path(), &args, &[]);
    // The sweep at start announces each vehicle's segment; wait for those events
    // to be applied too.
    let head = caught_up_beyond(&server, before).await;

    let service = async_nats::connect(nats.url()).await.expect("service");
    let js = async_nats::jetstream::new(service);
    let mut dlq = js
        .get_stream("AFTERCARE_DLQ")
        .await
        .expect("dead-letter stream");
    let info = dlq.info().await.expect("info");
    assert_eq!(
        info.state.messages,
        0,
        "dead letters after the restart:\n{}",
        server.output()
    );

    let mut intake = IntakeServiceClient::new(server.channel().await);
    for (vin, owner) in &owners {
        let history = intake
            .get_vehicle_history(authorized(
                pb::GetVehicleHistoryRequest {
                    dealer: dealer(),
                    vin: vin.clone(),
                    consistency: Some(Consistency {
                        min_position: Some(Position { value: head }),
                    }),
                },
                ADMIN,
            ))
            .await
            .expect("history")
            .into_inner();
        assert_eq!(&history.owner_customer_id, owner, "{vin}");
        assert_eq!(history.visits.len(), 1, "{vin}");
    }
}
