//! `aftercare import visits`: a DMS export backfilled through the real binary,
//! run twice on the same file.

use aftercare_proto::common::v1::{Consistency, DealerId, Position};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;

use crate::harness::{Server, authorized};

const FILE: &str = "\
repair_order,vin,customer_id,opened_at,closed_at,mileage_km,kind,labour_fen,parts_fen,service_advisor,advisor_group,fault_codes
RO-C-1,LSVAG2186E2100001,,2026-01-05T01:00:00Z,2026-01-05T06:00:00Z,5000,保养,20000,30000,王芳,A组,
RO-C-2,LSVAG2186E2100001,,2026-04-05T01:00:00Z,2026-04-05T06:00:00Z,10000,maintenance,20000,32000,王芳,A组,
RO-C-3,LSVAG2181E2100001,,2026-04-06T01:00:00Z,2026-04-06T06:00:00Z,8000,repair,50000,0,李娜,B组,P0301
RO-C-4,1M8GDM9AXKP042788,,2026-05-01T01:00:00Z,2026-05-01T06:00:00Z,lots,repair,1,1,李娜,B组,
\"RO-C-5\",1M8GDM9AXKP042788,,2026-06-01T01:00:00Z,2026-06-01T06:00:00Z,61000,accident,900000,1500000,\"陈静\",C组,P0420;B1001
";

fn summary(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_backfill_is_safe_to_run_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let file = dir.path().join("visits.csv");
    std::fs::write(&file, FILE).expect("write csv");
    let args = [
        "import",
        "visits",
        "--dealer",
        "D001",
        "visits.csv",
        "--server",
        &server.url(),
        "--output",
        "json",
    ];

    // Rows were rejected: the summary is printed and the exit status says so,
    // for a nightly job to notice.
    let run = || {
        let out = std::process::Command::new(crate::harness::BINARY)
            .current_dir(dir.path())
            .args(args)
            .env_remove("AFTERCARE_TOKEN")
            .output()
            .expect("run aftercare");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("2 rows were rejected"), "{stderr}");
    // Off a terminal, progress is plain lines of what the server recorded.
    assert!(
        stderr.contains("5 of 5 repair orders: 3 accepted, 0 already recorded, 2 rejected"),
        "{stderr}"
    );
    let first = summary(&stdout);
    assert_eq!(
        (
            first["accepted"].as_u64(),
            first["already_recorded"].as_u64()
        ),
        (Some(3), Some(0)),
        "{first}"
    );
    assert_eq!(first["rejected"], 2);
    let rejects =
        std::fs::read_to_string(dir.path().join("visits.rejects.csv")).expect("rejects file");
    let lines: Vec<_> = rejects.lines().collect();
    assert_eq!(lines[0], "line,repair_order,reason");
    assert!(
        lines[1].starts_with("4,RO-C-3,") && lines[1].contains("vin: check digit"),
        "{rejects}"
    );
    assert!(
        lines[2].starts_with("5,RO-C-4,") && lines[2].contains("mileage_km"),
        "{rejects}"
    );

    // The same file again records nothing new.
    let (code, stdout, stderr) = run();
    assert_eq!(code, Some(3), "{stderr}");
    let second = summary(&stdout);
    assert_eq!(
        (
            second["accepted"].as_u64(),
            second["already_recorded"].as_u64()
        ),
        (Some(0), Some(3)),
        "{second}"
    );
    assert_eq!(second["rejected"], 2);

    let token = std::fs::read_to_string(dir.path().join("data/admin.token"))
        .expect("token")
        .trim()
        .to_owned();
    let mut client = IntakeServiceClient::new(server.channel().await);
    let status = aftercare_proto::system::v1::system_service_client::SystemServiceClient::new(
        server.channel().await,
    )
    .projection_status(authorized(
        aftercare_proto::system::v1::ProjectionStatusRequest {},
        &token,
    ))
    .await
    .expect("status")
    .into_inner();
    let head = status.head.expect("head").value;
    assert_eq!(head, 3, "three events in the log after two runs");
    let history = client
        .get_vehicle_history(authorized(
            pb::GetVehicleHistoryRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: "1M8GDM9AXKP042788".into(),
                consistency: Some(Consistency {
                    min_position: Some(Position { value: head }),
                }),
            },
            &token,
        ))
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.visits.len(), 1);
    assert_eq!(history.visits[0].fault_codes, ["P0420", "B1001"]);
    assert_eq!(history.visits[0].parts.map(|m| m.fen), Some(1_500_000));
}

/// A GBK export, as most Chinese DMS write them: read as GB18030 on its own, the
/// Chinese names come through, and the bad rows are still named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gbk_export_is_read_as_it_was_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(FILE);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "the file is not UTF-8");
    std::fs::write(dir.path().join("gbk.csv"), &gbk).expect("write csv");
    let out = std::process::Command::new(crate::harness::BINARY)
        .current_dir(dir.path())
        .args([
            "import",
            "visits",
            "--dealer",
            "D001",
            "gbk.csv",
            "--server",
            &server.url(),
            "--output",
            "json",
        ])
        .env_remove("AFTERCARE_TOKEN")
        .output()
        .expect("run aftercare");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "two rows are bad: {stderr}");
    let summary = summary(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(summary["accepted"], 3, "{summary}");

    let token = std::fs::read_to_string(dir.path().join("data/admin.token"))
        .expect("token")
        .trim()
        .to_owned();
    let history = IntakeServiceClient::new(server.channel().await)
        .get_vehicle_history(authorized(
            pb::GetVehicleHistoryRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: "1M8GDM9AXKP042788".into(),
                consistency: Some(Consistency {
                    // The three accepted rows are the log's first three events.
                    min_position: Some(Position { value: 3 }),
                }),
            },
            &token,
        ))
        .await
        .expect("history")
        .into_inner();
    let advisors: Vec<_> = history
        .visits
        .iter()
        .map(|v| v.service_advisor.as_str())
        .collect();
    assert_eq!(advisors, ["陈静"]);
}
