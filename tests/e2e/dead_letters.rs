//! Dead letters an operator acts on, against the real binary on JetStream and
//! PostgreSQL: an event no read model can decode is listed with its reason,
//! counted in `status`, shown in full, and retried — by an administrator of its
//! dealer only — with the outcome recorded.

use std::time::{Duration, Instant};

use aftercare_eventstore::{
    DealerId, EventData, EventStore, Expected, JetStreamConfig, JetStreamStore, StreamId,
};

use crate::harness::{cli, cli_json, int, jetstream_stack, token};

fn letters_at(list: &serde_json::Value, position: u64) -> Vec<serde_json::Value> {
    list["letters"]
        .as_array()
        .map(|letters| {
            letters
                .iter()
                .filter(|l| {
                    l["position"]["value"].is_string() || l["position"]["value"].is_number()
                })
                .filter(|l| int(&l["position"]["value"]) as u64 == position)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_shown_and_retried_by_its_dealers_administrator() {
    let tokens = [
        token("ops", "ops-token-0123456789", "admin", "all"),
        token(
            "d2-ops",
            "d2-admin-token-0123456789",
            "admin",
            "dealer:D002",
        ),
        token(
            "care",
            "care-token-0123456789",
            "care-manager",
            "dealer:D001",
        ),
    ]
    .concat();
    let stack = jetstream_stack(&tokens).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = stack.server.url();
    let store = JetStreamStore::connect(JetStreamConfig {
        url: stack.nats.url(),
        ..Default::default()
    })
    .await
    .expect("the log");
    let stream = StreamId::new(
        DealerId::parse("D001").expect("valid"),
        aftercare_proto::aggregates::VISIT,
        "RO-UNREADABLE",
    )
    .expect("valid");
    let poison = store
        .append(
            &stream,
            Expected::NoStream,
            vec![EventData::new(
                "aftercare.intake.v1.VisitRecorded",
                vec![0xff_u8, 0xff, 0xff, 0x01],
            )],
        )
        .await
        .expect("append")
        .position
        .0;

    let ops = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--token", "ops-token-0123456789"]);
        cli_json(dir.path(), &url, &all)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let letter = loop {
        let list = ops(&["dlq", "list"]).expect("dlq list");
        if let Some(letter) = letters_at(&list, poison).into_iter().next() {
            break letter;
        }
        assert!(Instant::now() < deadline, "never dead-lettered: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = letter["id"].as_str().expect("id").to_owned();
    let runner = letter["runner"].as_str().expect("runner").to_owned();
    assert_eq!(id, format!("{runner}@{poison}"));
    assert_eq!(letter["dealer"]["value"], "D001");
    assert_eq!(letter["state"], "open");
    assert_eq!(letter["retryable"], true);
    assert!(
        !letter["reason"].as_str().unwrap_or_default().is_empty(),
        "{letter}"
    );

    let status = ops(&["status"]).expect("status");
    let projection = status["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .find(|p| p["name"] == runner.as_str())
        .unwrap_or_else(|| panic!("{runner} in {status}"))
        .clone();
    assert!(int(&projection["open_dead_letters"]) >= 1, "{projection}");
    let (ok, table, _) = cli(
        dir.path(),
        &[
            "status",
            "--server",
            &url,
            "--token",
            "ops-token-0123456789",
        ],
        &[],
    );
    assert!(
        ok && table.contains("OPEN") && table.contains("aftercare dlq list"),
        "{table}"
    );

    let shown = ops(&["dlq", "show", &id]).expect("dlq show");
    assert_eq!(shown["letters"][0]["id"], id.as_str());
    assert_eq!(shown["letters"][0]["reason"], letter["reason"]);
    let (ok, text, _) = cli(
        dir.path(),
        &[
            "dlq",
            "show",
            &id,
            "--server",
            &url,
            "--token",
            "ops-token-0123456789",
        ],
        &[],
    );
    assert!(
        ok && text.contains(&format!("position     {poison}")),
        "{text}"
    );

    // Not a care manager, not another dealer's administrator.
    let refused = cli_json(
        dir.path(),
        &url,
        &["dlq", "list", "--token", "care-token-0123456789"],
    )
    .expect_err("a care manager may not list dead letters");
    assert!(refused.contains("permission denied"), "{refused}");
    let refused = cli_json(
        dir.path(),
        &url,
        &["dlq", "retry", &id, "--token", "d2-admin-token-0123456789"],
    )
    .expect_err("D002's administrator may not retry D001's letter");
    assert!(refused.contains("D001"), "{refused}");
    let theirs = cli_json(
        dir.path(),
        &url,
        &["dlq", "list", "--token", "d2-admin-token-0123456789"],
    )
    .expect("D002's letters");
    assert!(letters_at(&theirs, poison).is_empty(), "{theirs}");
    let refused = ops(&["dlq", "retry", "visits#1"]).expect_err("refused input is not retried");
    assert!(
        refused.contains("id") && refused.contains("sender"),
        "{refused}"
    );

    // Retried by D001's administrator: still unreadable, so it fails again
    // with the reason and who asked.
    let requested = ops(&["dlq", "retry", &id]).expect("dlq retry");
    assert_eq!(requested["requested"][0], id.as_str(), "{requested}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        let shown = ops(&["dlq", "show", &id]).expect("dlq show");
        if shown["letters"][0]["state"] == "failed again" {
            break shown["letters"][0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the retry was never attempted: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(after["retry_requested_by"], "ops");
    assert!(
        !after["retry_reason"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{after}"
    );
    assert!(after["retried_at"].is_string(), "{after}");
    // Every open letter of the projection, again.
    let again = ops(&["dlq", "retry", "--projection", &runner]).expect("dlq retry --projection");
    assert!(
        again["requested"]
            .as_array()
            .is_some_and(|r| r.iter().any(|i| i == id.as_str())),
        "{again}"
    );
}
