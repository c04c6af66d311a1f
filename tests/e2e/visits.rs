//! A DMS-like client recording visits over gRPC against the real binary on
//! JetStream + PostgreSQL, reading them back with read-your-writes.

use aftercare_proto::common::v1::{Consistency, DealerId, Money};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Server, authorized};

const DMS_D001: &str = "dms-d001-token-00000001";

fn config(dir: &std::path::Path, nats_url: &str, database_url: &str) -> std::path::PathBuf {
    let path = dir.join("aftercare.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[store]
backend = "jetstream"
url = "{nats_url}"

[database]
url = "{database_url}"

[[auth.tokens]]
name = "dms-d001"
token = "{DMS_D001}"
roles = ["dms"]
scope = "dealer:D001"
"#
        ),
    )
    .expect("write config");
    path
}

fn timestamp(text: &str) -> prost_types::Timestamp {
    let at: jiff::Timestamp = text.parse().expect("timestamp");
    prost_types::Timestamp {
        seconds: at.as_second(),
        nanos: 0,
    }
}

fn repair_order(ro: &str, vin: &str, closed: &str) -> pb::RepairOrder {
    pb::RepairOrder {
        repair_order: ro.into(),
        vin: vin.into(),
        opened_at: Some(timestamp("2026-09-01T01:00:00Z")),
        closed_at: Some(timestamp(closed)),
        mileage_km: 20_500,
        kind: pb::VisitKind::Repair as i32,
        labour: Some(Money { fen: 30_000 }),
        parts: Some(Money { fen: 12_050 }),
        service_advisor: "张伟".into(),
        advisor_group: "A组".into(),
        fault_codes: vec!["P0301".into()],
        ..Default::default()
    }
}

fn record(dealer: &str, order: pb::RepairOrder) -> tonic::Request<pb::RecordVisitRequest> {
    authorized(
        pb::RecordVisitRequest {
            dealer: Some(DealerId {
                value: dealer.into(),
            }),
            repair_order: Some(order),
        },
        DMS_D001,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dms_records_visits_and_reads_them_back() {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = config(dir.path(), &nats.url(), &database.url);
    let server = Server::start(
        dir.path(),
        &["--config", path.to_str().expect("utf-8")],
        &[],
    );
    let mut client = IntakeServiceClient::new(server.channel().await);
    let vin = "LSVAG2186E2100001";

    let first = client
        .record_visit(record(
            "D001",
            repair_order("RO-2026-0001", vin, "2026-09-01T06:00:00Z"),
        ))
        .await
        .expect("recorded")
        .into_inner();
    assert!(!first.already_recorded);
    let second = client
        .record_visit(record(
            "D001",
            repair_order("RO-2026-0002", vin, "2026-09-20T06:00:00Z"),
        ))
        .await
        .expect("recorded")
        .into_inner();
    let repeat = client
        .record_visit(record(
            "D001",
            repair_order("RO-2026-0001", vin, "2026-09-01T06:00:00Z"),
        ))
        .await
        .expect("answered")
        .into_inner();
    assert!(repeat.already_recorded);
    assert_eq!(
        (repeat.visit_id.as_str(), repeat.position),
        (first.visit_id.as_str(), first.position)
    );

    // Every bad field comes back at once, named.
    let mut bad = repair_order("RO 3", "LSVAG2181E2100001", "2026-09-21T06:00:00Z");
    bad.mileage_km = -3;
    let err = client
        .record_visit(record("D001", bad))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_error_details();
    let fields: Vec<_> = details
        .bad_request()
        .expect("field violations")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(
        fields,
        [
            "repair_order.repair_order",
            "repair_order.vin",
            "repair_order.mileage_km"
        ]
    );

    // A DMS credential of D001 cannot write D002.
    let denied = client
        .record_visit(record(
            "D002",
            repair_order("RO-9", vin, "2026-09-01T06:00:00Z"),
        ))
        .await
        .expect_err("other dealer");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Read-your-writes: ask for the history at the position of the last write.
    let history = client
        .get_vehicle_history(authorized(
            pb::GetVehicleHistoryRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: vin.to_lowercase(),
                consistency: Some(Consistency {
                    min_position: second.position,
                }),
            },
            DMS_D001,
        ))
        .await
        .expect("history")
        .into_inner();
    let orders: Vec<_> = history
        .visits
        .iter()
        .map(|v| v.repair_order.as_str())
        .collect();
    assert_eq!(
        orders,
        ["RO-2026-0002", "RO-2026-0001"],
        "each visit once, newest first"
    );
    assert_eq!(history.visits[0].fault_codes, ["P0301"]);
    assert_eq!(history.visits[0].labour.map(|m| m.fen), Some(30_000));
}
