//! Three replicas of the intake service, three processes on one NATS and one
//! PostgreSQL database, as three pods: each projection runs in the one that
//! holds its lease; killed, another takes it over; every repair order is
//! applied exactly once, checked row by row on a count that a second
//! application would raise.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::harness::{Server, dms_send, token, vin};

/// `aftercare_lease_held{runner="<runner>"}` of the replica serving metrics at `addr`.
fn holds(addr: &str, runner: &str) -> bool {
    let Ok(mut socket) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = write!(
        socket,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = socket.read_to_string(&mut text);
    text.lines()
        .any(|l| l == format!("aftercare_lease_held{{runner=\"{runner}\"}} 1"))
}

fn metrics_address(server: &Server) -> String {
    let output = server.output();
    output
        .lines()
        .find_map(|l| l.strip_prefix("metrics on http://"))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in:\n{output}"))
        .to_owned()
}

/// The replicas holding `runner`'s lease, once exactly one does.
fn the_holder(replicas: &[(Server, String)], runner: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let holders: Vec<usize> = replicas
            .iter()
            .enumerate()
            .filter(|(_, (_, addr))| holds(addr, runner))
            .map(|(i, _)| i)
            .collect();
        if holders.len() == 1 {
            return holders[0];
        }
        assert!(
            Instant::now() < deadline,
            "{} replicas hold the lease of {runner}",
            holders.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Ten repair orders of each of `vehicles` VINs, round after round.
async fn send_orders(dms: &async_nats::Client, rounds: std::ops::Range<u32>, vehicles: u32) {
    for round in rounds {
        for v in 0..vehicles {
            let body = serde_json::json!({
                "repair_order": format!("RO-R{round:02}-{v:03}"), "vin": vin(91, v),
                "opened_at": format!("2026-{:02}-03T09:00:00+08:00", 1 + round % 10),
                "closed_at": format!("2026-{:02}-03T11:00:00+08:00", 1 + round % 10),
                "mileage_km": 10000 + round * 1000, "kind": "maintenance",
                "labour_fen": 30000, "parts_fen": 50000,
                "service_advisor": "王工", "advisor_group": "A",
            });
            dms_send(dms, "D001", "visits", &body).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_applies_and_another_takes_over_when_it_dies() {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let config = format!(
        "[server]\nmetrics_listen = \"127.0.0.1:0\"\n\
         [store]\nbackend = \"jetstream\"\nurl = \"{}\"\n\
         [database]\nurl = \"{}\"\n\
         [projections]\nlease_ttl = \"2s\"\n{}",
        nats.url(),
        database.url,
        token("ops", "replicas-admin-token-0001", "admin", "all")
    );
    let mut dirs = Vec::new();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("aftercare.toml");
        std::fs::write(&path, &config).expect("config");
        let server = Server::start_services(
            dir.path(),
            &["--config", path.to_str().expect("utf-8")],
            &["intake"],
            &[],
        );
        let addr = metrics_address(&server);
        replicas.push((server, addr));
        dirs.push(dir);
    }
    let runner = "intake_visits";
    let first = tokio::task::spawn_blocking({
        let addrs: Vec<String> = replicas.iter().map(|(_, a)| a.clone()).collect();
        move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let holders: Vec<usize> = (0..addrs.len())
                    .filter(|i| holds(&addrs[*i], runner))
                    .collect();
                if holders.len() == 1 {
                    return holders[0];
                }
                assert!(Instant::now() < deadline, "{holders:?} hold the lease");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    })
    .await
    .expect("holder");
    let dms = async_nats::connect(nats.url()).await.expect("dms");
    const VEHICLES: u32 = 30;
    send_orders(&dms, 0..5, VEHICLES).await;

    // The holder dies (SIGKILL: its leases are not given back).
    let (dead, _) = replicas.remove(first);
    drop(dead);
    send_orders(&dms, 5..10, VEHICLES).await;
    let successor = tokio::task::block_in_place(|| the_holder(&replicas, runner));

    // Row by row: each vehicle's visit count, which a second application of
    // any order would raise, is ten.
    let pool = aftercare_runtime::Database::connect(
        &aftercare_runtime::Secret::new(database.url.clone()),
        2,
    )
    .await
    .expect("database")
    .pool;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT vin, visits FROM intake_vehicles WHERE dealer = 'D001' ORDER BY vin",
        )
        .fetch_all(&pool)
        .await
        .expect("vehicles");
        let done = rows.len() == VEHICLES as usize && rows.iter().all(|(_, n)| *n >= 10);
        if done {
            assert!(
                rows.iter().all(|(_, n)| *n == 10),
                "an order was applied twice: {rows:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replica {successor} never applied every order: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
