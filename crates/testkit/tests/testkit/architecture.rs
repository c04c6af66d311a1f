//! The floors of the workspace, checked from `cargo metadata` so that a new
//! dependency that breaks them fails here: the kernel stays pure, and the
//! services are peers that share contracts (aftercare-proto, aftercare-kernel,
//! aftercare-runtime), never each other's crates.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The services; each may be copied to start a new one.
const SERVICES: &[&str] = &[
    "aftercare-intake",
    "aftercare-complaint",
    "aftercare-analytics",
];

/// What a pure crate must not pull in, even indirectly.
const NOT_PURE: &[&str] = &["tokio", "tonic", "sqlx", "opentelemetry", "async-nats"];

/// Every package's normal (non-dev, non-build) dependencies, by package name.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let names: BTreeMap<String, String> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    let mut graph = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("nodes") {
        let name = names[node["id"].as_str().expect("id")].clone();
        let deps: BTreeSet<String> = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| names[d["pkg"].as_str().expect("pkg")].clone())
            .collect();
        graph.entry(name).or_insert_with(BTreeSet::new).extend(deps);
    }
    graph
}

/// Everything `package` depends on, directly or not.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, package: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![package.to_owned()];
    while let Some(next) = todo.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

#[test]
fn the_kernel_pulls_in_no_runtime() {
    let graph = normal_dependencies();
    let all = closure(&graph, "aftercare-kernel");
    let impure: Vec<_> = all
        .iter()
        .filter(|d| NOT_PURE.iter().any(|n| d.starts_with(n)))
        .collect();
    assert!(impure.is_empty(), "aftercare-kernel depends on {impure:?}");
    assert!(
        !all.iter().any(|d| d.starts_with("aftercare-")),
        "the kernel depends on no other crate of the project: {all:?}"
    );
}

#[test]
fn services_are_peers() {
    let graph = normal_dependencies();
    for service in SERVICES {
        let all = closure(&graph, service);
        let others: Vec<_> = SERVICES
            .iter()
            .filter(|s| *s != service && all.contains(**s))
            .collect();
        assert!(others.is_empty(), "{service} depends on {others:?}");
    }
}
