use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use aftercare_proto::common::v1::DealerId;
use aftercare_proto::system::v1 as pb;
use aftercare_proto::system::v1::system_service_client::SystemServiceClient;
use tonic::Code;

use crate::harness::{Server, authorized, cli};

const NORTH_MANAGER: &str = "north-manager-token-0001";
const D001_AGENT: &str = "d001-agent-token-000001";
const OEM: &str = "oem-callcenter-token-0001";

/// A production-shaped configuration: JetStream, PostgreSQL, configured tokens.
fn production_config(
    dir: &std::path::Path,
    nats_url: &str,
    database_url: &str,
) -> std::path::PathBuf {
    let path = dir.join("aftercare.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[store]
backend = "jetstream"
url = "{nats_url}"
replicas = 1

[database]
url = "{database_url}"

[auth.groups]
north = ["D001", "D002"]

[[auth.tokens]]
name = "north-manager"
token = "{NORTH_MANAGER}"
roles = ["care-manager"]
scope = "group:north"

[[auth.tokens]]
name = "d001-agent"
token = "{D001_AGENT}"
roles = ["callback-agent"]
scope = "dealer:D001"

[[auth.tokens]]
name = "oem"
token = "{OEM}"
roles = ["oem"]
scope = "all"
"#
        ),
    )
    .expect("write config");
    path
}

fn dealer(id: &str) -> pb::CheckDealerAccessRequest {
    pb::CheckDealerAccessRequest {
        dealer: Some(DealerId {
            value: id.to_owned(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_runs_with_a_private_admin_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    assert!(
        server.addr.starts_with("127.0.0.1:"),
        "listens on loopback only: {}",
        server.addr
    );
    assert!(
        server
            .output()
            .contains("export AFTERCARE_TOKEN=$(cat data/admin.token)"),
        "{}",
        server.output()
    );
    let token_file = dir.path().join("data/admin.token");
    let mode = std::fs::metadata(&token_file)
        .expect("token file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let token = std::fs::read_to_string(&token_file)
        .expect("token")
        .trim()
        .to_owned();

    let mut client = SystemServiceClient::new(server.channel().await);
    let me = client
        .who_am_i(authorized(pb::WhoAmIRequest {}, &token))
        .await
        .expect("whoami")
        .into_inner();
    assert_eq!(me.principal, "local-admin");
    assert_eq!(me.roles, ["admin"]);

    // The CLI finds the token file of the embedded default by itself.
    let (ok, stdout, stderr) = cli(
        dir.path(),
        &["whoami", "--server", &server.url(), "--output", "json"],
        &[],
    );
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json output");
    assert_eq!(json["principal"], "local-admin");
    assert!(dir.path().join("data/events.db").exists());

    // Everything in the data folder is its owner's alone, the WAL files too,
    // and the keys of sealed personal data are in a file of their own.
    let data = dir.path().join("data");
    let mode_of =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode_of(&data), 0o700);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&data).expect("data folder") {
        let path = entry.expect("entry").path();
        files.push((
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
            mode_of(&path),
        ));
    }
    files.sort();
    assert!(files.iter().all(|(_, mode)| *mode == 0o600), "{files:?}");
    for name in [
        "events.db",
        "events.db-wal",
        "aftercare.db",
        "aftercare.db-wal",
        "keys.db",
    ] {
        assert!(
            files.iter().any(|(f, _)| f == name),
            "{name} missing: {files:?}"
        );
    }

    // A second server on the same folder is refused, and says who holds it.
    let (ok, _, stderr) = cli(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
    assert!(!ok, "a second server started on the same data folder");
    assert!(
        stderr.contains("is in use by another aftercare process (process "),
        "{stderr}"
    );

    assert!(server.terminate().success(), "a clean exit on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_dealer_scopes_are_enforced() {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = production_config(dir.path(), &nats.url(), &database.url);
    let server = Server::start(
        dir.path(),
        &["--config", config.to_str().expect("utf-8 path")],
        &[],
    );
    assert!(
        server.output().contains("3 configured tokens accepted"),
        "{}",
        server.output()
    );
    assert!(
        !dir.path().join("data/admin.token").exists(),
        "no local admin when tokens are configured"
    );
    let mut client = SystemServiceClient::new(server.channel().await);

    let missing = client
        .who_am_i(tonic::Request::new(pb::WhoAmIRequest {}))
        .await
        .expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);
    let wrong = client
        .who_am_i(authorized(pb::WhoAmIRequest {}, "not-a-configured-token"))
        .await
        .expect_err("wrong");
    assert_eq!(wrong.code(), Code::Unauthenticated);

    // A token scoped to dealer D001 may act for D001 and nobody else.
    client
        .check_dealer_access(authorized(dealer("D001"), D001_AGENT))
        .await
        .expect("own dealer");
    let other = client
        .check_dealer_access(authorized(dealer("D002"), D001_AGENT))
        .await
        .expect_err("D002");
    assert_eq!(other.code(), Code::PermissionDenied);
    // A group scope covers its dealers only; the OEM covers all.
    client
        .check_dealer_access(authorized(dealer("D002"), NORTH_MANAGER))
        .await
        .expect("group member");
    let outside = client
        .check_dealer_access(authorized(dealer("D003"), NORTH_MANAGER))
        .await
        .expect_err("D003");
    assert_eq!(outside.code(), Code::PermissionDenied);
    client
        .check_dealer_access(authorized(dealer("D003"), OEM))
        .await
        .expect("oem sees all");
    // A malformed dealer id is named in the error.
    let bad = client
        .check_dealer_access(authorized(dealer("D 1"), OEM))
        .await
        .expect_err("bad id");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("dealer"), "{}", bad.message());
    // Status needs an operator role.
    let denied = client
        .projection_status(authorized(pb::ProjectionStatusRequest {}, D001_AGENT))
        .await;
    assert_eq!(denied.expect_err("agent").code(), Code::PermissionDenied);
    let status = client
        .projection_status(authorized(pb::ProjectionStatusRequest {}, NORTH_MANAGER))
        .await
        .expect("manager")
        .into_inner();
    assert!(status.projections.iter().any(|p| p.name == "audit"));
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_need_no_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[], &[]);
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "aftercare.system.v1.SystemService".into(),
        })
        .await
        .expect("health check")
        .into_inner();
    assert_eq!(
        answer.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(10), answers.message())
        .await
        .expect("answer in time")
        .expect("reflection stream")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("expected a service list")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"aftercare.system.v1.SystemService"),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_replays_the_log_into_the_projection() {
    use aftercare_eventstore::{
        AppendRequest, DealerId as Dealer, EmbeddedStore, EventData, EventStore, Expected, StreamId,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = EmbeddedStore::open(dir.path().join("data/events.db"))
            .await
            .expect("log");
        let batch = (0..250)
            .map(|i| AppendRequest {
                stream: StreamId::new(
                    Dealer::parse("D001").expect("valid"),
                    "visit",
                    i.to_string(),
                )
                .expect("valid"),
                expected: Expected::NoStream,
                events: vec![EventData::new(
                    "aftercare.intake.v1.VisitRecorded",
                    vec![1, 2, 3],
                )],
            })
            .collect();
        for r in store.append_batch(batch).await {
            r.expect("append");
        }
        store.close().await;
    }
    let (ok, _, stderr) = cli(dir.path(), &["rebuild", "audit"], &[]);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(dir.path(), &["rebuild", "no-such-projection"], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("unknown projection \"no-such-projection\"; projections: audit"),
        "{stderr}"
    );

    let server = Server::start(dir.path(), &[], &[]);
    let (ok, stdout, stderr) = cli(
        dir.path(),
        &["status", "--server", &server.url(), "--output", "json"],
        &[],
    );
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["head"]["value"], "250", "{json}");
    let audit = json["projections"]
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"] == "audit")
        .cloned();
    let audit = audit.expect("audit projection listed");
    assert_eq!(audit["checkpoint"]["value"], "250", "{json}");
    assert_eq!(audit["lag"], "0");
}

#[test]
fn bad_configuration_is_reported_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[store]\nbackend = \"jetstream\"\nurl = \"http://x\"\n[database]\nmax_connections = 0\n",
    )
    .expect("write");
    let (ok, _, stderr) = cli(
        dir.path(),
        &["--config", path.to_str().expect("utf-8"), "serve"],
        &[("AFTERCARE__PROJECTIONS__BATCH_SIZE", "0".to_owned())],
    );
    assert!(!ok);
    for key in [
        "store.url",
        "database.max_connections",
        "projections.batch_size",
    ] {
        assert!(stderr.contains(key), "{key} missing from:\n{stderr}");
    }
}

/// A dealer's care manager sees the read models' progress through that dealer's
/// own events: its last event as the head, and lags that do not move with
/// another dealer's activity. An operator scoped to every dealer sees the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealer_sees_its_own_progress_only() {
    use crate::harness::{dms_send, jetstream_stack, token};
    const ADMIN: &str = "status-admin-token-0001";
    const D001_MANAGER: &str = "status-d001-manager-01";
    let stack = jetstream_stack(&format!(
        "{}{}",
        token("admin", ADMIN, "admin", "all"),
        token("d001", D001_MANAGER, "care-manager", "dealer:D001")
    ))
    .await;
    let dms = async_nats::connect(stack.nats.url()).await.expect("dms");
    let visit = |ro: &str| {
        serde_json::json!({
            "repair_order": ro, "vin": "LSVAG2186E2100001",
            "opened_at": "2026-09-01T01:00:00Z", "closed_at": "2026-09-01T05:00:00Z",
            "mileage_km": 30100, "kind": "repair", "labour_fen": 45000, "parts_fen": 0,
            "service_advisor": "陈静", "advisor_group": "C组"
        })
    };
    let own = dms_send(&dms, "D001", "visits", &visit("RO-S-1")).await;
    let mut last = 0;
    for i in 0..3 {
        last = dms_send(&dms, "D002", "visits", &visit(&format!("RO-S-{i}"))).await;
    }
    assert!(last > own);
    let client = SystemServiceClient::new(stack.server.channel().await);
    let status = |token: &'static str| {
        let mut client = client.clone();
        async move {
            client
                .projection_status(authorized(pb::ProjectionStatusRequest {}, token))
                .await
                .expect("status")
                .into_inner()
        }
    };
    // Once every projection has applied the whole log (the operator's view)...
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let all = status(ADMIN).await;
        assert!(all.head.expect("head").value >= last, "{all:?}");
        if all.projections.iter().all(|p| p.lag == 0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never caught up: {all:?}"
        );
        tokio::task::yield_now().await;
    }
    // ...the dealer sees its own last event as the head, every projection at
    // it, and nothing of the three later events of D002.
    let mine = status(D001_MANAGER).await;
    assert_eq!(
        mine.head.expect("head").value,
        own,
        "the dealer's own last event"
    );
    assert!(!mine.projections.is_empty());
    for p in &mine.projections {
        assert_eq!(
            p.checkpoint.as_ref().expect("checkpoint").value,
            own,
            "{p:?}"
        );
        assert_eq!(p.lag, 0, "{p:?}");
    }
}
