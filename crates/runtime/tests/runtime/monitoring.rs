//! The alerting rules and the dashboard in deploy/monitoring ask only for
//! metrics the server exports, and the runbook says what each alert means.

use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `aftercare_…` metric a text names, without a histogram's suffixes.
fn metrics_named(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("aftercare_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let name = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        named.insert(name.to_owned());
        rest = &tail[end..];
    }
    named
}

/// The names in `named` the server does not export.
fn unknown(named: &BTreeSet<String>) -> Vec<String> {
    let exported: BTreeSet<String> = aftercare_runtime::metrics::names().into_iter().collect();
    named.difference(&exported).cloned().collect()
}

#[test]
fn the_alerts_ask_for_exported_metrics_and_the_runbook_explains_each() {
    let alerts = read("monitoring/aftercare-alerts.yaml");
    let named = metrics_named(&alerts);
    assert!(!named.is_empty());
    let unknown = unknown(&named);
    assert!(
        unknown.is_empty(),
        "alerts ask for metrics nobody exports: {unknown:?}"
    );
    let runbook = read("README.md");
    let names: Vec<&str> = alerts
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        assert!(
            runbook.contains(&format!("**{name}**")),
            "the runbook does not explain {name}"
        );
    }
}

#[test]
fn the_dashboard_is_json_and_asks_for_exported_metrics() {
    let text = read("monitoring/aftercare-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 6);
    let mut named = BTreeSet::new();
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            named.extend(metrics_named(target["expr"].as_str().expect("expr")));
        }
    }
    let unknown = unknown(&named);
    assert!(
        unknown.is_empty(),
        "the dashboard asks for metrics nobody exports: {unknown:?}"
    );
    for needed in [
        "aftercare_runner_lag_events",
        "aftercare_runner_dead_letters",
        "aftercare_grpc_requests_total",
    ] {
        assert!(named.contains(needed), "the dashboard lacks {needed}");
    }
}

#[test]
fn a_misspelled_metric_is_found() {
    let named =
        metrics_named("rate(aftercare_grpc_request_total[5m]) aftercare_append_seconds_bucket");
    assert_eq!(unknown(&named), ["aftercare_grpc_request_total"]);
}
