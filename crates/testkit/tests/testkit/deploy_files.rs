//! The files under deploy/, checked as files: no Kubernetes or Docker here, and
//! no YAML parser either, so the checks read the structure they rely on directly.

use std::path::{Path, PathBuf};
use std::process::Command;

use aftercare_testkit::nats_server_binary;

const SERVICES: [&str; 5] = ["intake", "complaint", "analytics", "callback", "loyalty"];

fn deploy_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(relative)
}

fn read(relative: &str) -> String {
    let path = deploy_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A NATS config line without its comment: `#` or a `//` that does not belong to a
/// URL (`nats://`), to the end of the line.
fn uncommented(line: &str) -> &str {
    let slashes = if line.trim_start().starts_with("//") {
        line.find("//")
    } else {
        line.find(" //")
    };
    let end = [line.find('#'), slashes]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(line.len());
    line[..end].trim()
}

/// The uncommented lines inside the top-level `jetstream { ... }` block.
fn jetstream_block(conf: &str) -> Vec<&str> {
    let mut depth = 0usize;
    let mut inside = false;
    let mut block = Vec::new();
    for line in conf.lines().map(uncommented) {
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        if depth == 0 && opens > 0 && line.starts_with("jetstream") {
            inside = true;
        } else if inside && depth == 1 && closes > opens {
            inside = false;
        } else if inside && depth == 1 {
            block.push(line);
        }
        depth = (depth + opens).saturating_sub(closes);
    }
    block
}

fn syncs_every_write(conf: &str) -> bool {
    jetstream_block(conf).iter().any(|line| {
        let compact: String = line
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '"')
            .collect();
        compact == "sync_interval:always" || compact == "sync_interval=always"
    })
}

#[test]
fn nats_conf_syncs_every_write_before_acking() {
    let conf = read("nats/nats.conf");
    assert!(
        syncs_every_write(&conf),
        "deploy/nats/nats.conf must set `sync_interval: always` in its jetstream block"
    );
}

#[test]
fn the_sync_check_catches_a_removed_or_commented_setting() {
    let conf = read("nats/nats.conf");
    let line = conf
        .lines()
        .find(|line| uncommented(line) == "sync_interval: always")
        .expect("the setting is on a line of its own");
    let removed = conf.replace(line, "");
    let commented = conf.replace(line, &format!("# {line}"));
    let slashed = conf.replace(line, &format!("// {line}"));
    let moved = format!("{removed}\nsync_interval: always\n");
    for broken in [removed, commented, slashed, moved] {
        assert!(!syncs_every_write(&broken), "accepted:\n{broken}");
    }
}

fn nats_server_check(conf: &Path) -> Command {
    let mut check = Command::new(nats_server_binary());
    check
        .arg("-t")
        .arg("-c")
        .arg(conf)
        .env("SERVER_NAME", "nats-0")
        .env("AFTERCARE_NATS_PASSWORD", "service-secret")
        .env("AFTERCARE_REPLIES_NATS_PASSWORD", "replies-secret")
        .env("NATS_SYS_PASSWORD", "sys-secret")
        .env("DMS_D001_NATS_PASSWORD", "dms-secret");
    check
}

#[test]
fn nats_server_accepts_the_production_config() {
    let output = nats_server_check(&deploy_path("nats/nats.conf"))
        .output()
        .expect("run nats-server -t");
    assert!(
        output.status.success(),
        "nats-server -t: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_nats_config_map_is_a_copy_of_nats_conf() {
    let manifest = read("k8s/base/nats.yaml");
    let mut lines = manifest
        .lines()
        .skip_while(|line| *line != "  nats.conf: |");
    assert!(lines.next().is_some(), "nats.yaml has a nats.conf entry");
    let embedded: String = lines
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| format!("{}\n", line.get(4..).unwrap_or("")))
        .collect();
    assert_eq!(
        embedded.trim_end(),
        read("nats/nats.conf").trim_end(),
        "the nats-config ConfigMap in deploy/k8s/base/nats.yaml differs from deploy/nats/nats.conf"
    );
}

/// One `---`-separated YAML document, without comment-only and blank lines.
struct Document {
    file: &'static str,
    lines: Vec<String>,
}

impl Document {
    fn top_level(&self, key: &str) -> Option<String> {
        self.lines
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{key}:")))
            .map(|value| value.trim().to_owned())
    }

    /// `metadata.name`: the first `  name:` line of the `metadata:` block.
    fn name(&self) -> Option<String> {
        self.lines
            .iter()
            .skip_while(|line| *line != "metadata:")
            .skip(1)
            .take_while(|line| line.starts_with(' '))
            .find_map(|line| line.strip_prefix("  name:"))
            .map(|value| value.trim().to_owned())
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

const MANIFESTS: [&str; 6] = [
    "base/namespace.yaml",
    "base/nats.yaml",
    "base/aftercare-config.yaml",
    "base/aftercare.yaml",
    "base/console.yaml",
    "examples/secrets.example.yaml",
];

fn documents(file: &'static str) -> Vec<Document> {
    let text = read(&format!("k8s/{file}"));
    assert!(!text.contains('\t'), "k8s/{file}: YAML does not allow tabs");
    text.split("\n---\n")
        .map(|chunk| Document {
            file,
            lines: chunk
                .lines()
                .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
                .map(str::to_owned)
                .collect(),
        })
        .filter(|document| !document.lines.is_empty())
        .collect()
}

#[test]
fn every_manifest_document_names_its_api_kind_and_name() {
    for file in MANIFESTS {
        let documents = documents(file);
        assert!(!documents.is_empty(), "k8s/{file} has no documents");
        for document in &documents {
            let what = format!("a document in k8s/{}:\n{}", document.file, document.text());
            assert!(
                document
                    .top_level("apiVersion")
                    .is_some_and(|v| !v.is_empty()),
                "no apiVersion in {what}"
            );
            assert!(
                document.top_level("kind").is_some_and(|v| !v.is_empty()),
                "no kind in {what}"
            );
            assert!(
                document.name().is_some_and(|v| !v.is_empty()),
                "no metadata.name in {what}"
            );
        }
    }
}

#[test]
fn every_service_has_a_probed_non_root_deployment_and_a_service() {
    let documents = documents("base/aftercare.yaml");
    let of_kind = |kind: &str| -> Vec<&Document> {
        documents
            .iter()
            .filter(|document| document.top_level("kind").as_deref() == Some(kind))
            .collect()
    };
    let deployments = of_kind("Deployment");
    let mut served = Vec::new();
    for deployment in &deployments {
        let text = deployment.text();
        let name = deployment.name().expect("checked above");
        for required in [
            "readinessProbe:",
            "livenessProbe:",
            "grpc:",
            "port: 50051",
            "service: aftercare.ready",
            "containerPort: 9464",
            "runAsNonRoot: true",
        ] {
            assert!(
                text.contains(required),
                "Deployment {name} lacks `{required}`"
            );
        }
        // `args: ["serve", "--service", "x", ...]` or a block list: compare words only.
        let words: Vec<String> = text
            .split(|c: char| c.is_whitespace() || "[],\"'".contains(c))
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect();
        let service = words
            .windows(3)
            .find(|w| w[0] == "serve" && w[1] == "--service")
            .map(|w| w[2].clone())
            .unwrap_or_else(|| panic!("Deployment {name} does not run `serve --service <name>`"));
        assert!(
            words
                .iter()
                .any(|word| word == "/etc/aftercare/aftercare.toml"),
            "Deployment {name} does not read /etc/aftercare/aftercare.toml"
        );
        served.push(service);
    }
    served.sort();
    let mut expected: Vec<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(served, expected, "one Deployment per service");

    let mut services: Vec<String> = of_kind("Service").iter().filter_map(|s| s.name()).collect();
    services.sort();
    let mut expected: Vec<String> = SERVICES.iter().map(|s| format!("aftercare-{s}")).collect();
    expected.sort();
    assert_eq!(services, expected, "one Service per Deployment");
}

#[test]
fn the_aftercare_config_uses_replicated_jetstream() {
    let config = read("k8s/base/aftercare-config.yaml");
    for required in [
        "[store]",
        "backend = \"jetstream\"",
        "stream = \"AFTERCARE_EVENTS\"",
        "replicas = 3",
        "duplicate_window = \"2m\"",
        "[database]",
        "[auth]",
    ] {
        assert!(
            config.contains(required),
            "aftercare-config.yaml lacks `{required}`"
        );
    }
    let deployments = read("k8s/base/aftercare.yaml");
    assert!(deployments.contains("name: AFTERCARE__DATABASE__URL"));
    assert!(deployments.contains("secretKeyRef:"));
}

#[test]
fn the_dockerfile_builds_the_binary_and_runs_it_as_non_root() {
    let dockerfile = read("Dockerfile");
    for required in [
        "FROM rust:1-bookworm AS build",
        "-p aftercare",
        "--release",
        "FROM debian:bookworm-slim",
        "ca-certificates",
        "USER 10001",
        "ENTRYPOINT [\"aftercare\"]",
        "CMD [\"serve\"]",
    ] {
        assert!(
            dockerfile.contains(required),
            "deploy/Dockerfile lacks `{required}`"
        );
    }
}

/// `kubectl kustomize` of one overlay: the rendered manifests.
fn render(overlay: &str) -> String {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(deploy_path(&format!("k8s/overlays/{overlay}")))
        .output()
        .expect("kubectl (scripts/install-tools.sh installs Debian's kubernetes-client)");
    assert!(
        output.status.success(),
        "kubectl kustomize overlays/{overlay}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 manifests")
}

/// Validates manifests against the Kubernetes 1.30 schemas, offline and
/// strictly (an unknown field fails); the validator's complaints when not.
fn validate(manifests: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, manifests).expect("write");
    let validator = std::env::var("KUBERNETES_VALIDATE_BIN").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv/bin/kubernetes-validate")
            .display()
            .to_string()
    });
    let output = Command::new(&validator)
        .args(["--strict", "--kubernetes-version", "1.30.0", "--quiet"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{validator} ({e}): `make test` installs it"));
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `replicas:` of each Deployment and StatefulSet in rendered manifests, by name.
fn replicas(manifests: &str) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for document in manifests.split("\n---\n") {
        let kind = document
            .lines()
            .find_map(|l| l.strip_prefix("kind: "))
            .unwrap_or_default();
        if kind != "Deployment" && kind != "StatefulSet" {
            continue;
        }
        let name = document
            .lines()
            .skip_while(|l| *l != "metadata:")
            .find_map(|l| l.strip_prefix("  name: "))
            .unwrap_or_default()
            .to_owned();
        let count = document
            .lines()
            .find_map(|l| l.strip_prefix("  replicas: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(1);
        found.push((name, count));
    }
    found.sort();
    found
}

#[test]
fn every_overlay_renders_to_manifests_the_kubernetes_schemas_accept() {
    for (overlay, pods) in [("single-dealer", 1), ("dealer-group", 2)] {
        let manifests = render(overlay);
        if let Err(complaints) = validate(&manifests) {
            panic!("overlays/{overlay} does not validate:\n{complaints}");
        }
        let got = replicas(&manifests);
        let mut expected: Vec<(String, u32)> = SERVICES
            .iter()
            .map(|s| {
                let n = if overlay == "dealer-group" && *s == "intake" {
                    3
                } else {
                    pods
                };
                (format!("aftercare-{s}"), n)
            })
            .collect();
        expected.push(("nats".to_owned(), 3));
        expected.push(("aftercare-console".to_owned(), pods));
        expected.sort();
        assert_eq!(got, expected, "overlays/{overlay}");
        let budgets = manifests.matches("kind: PodDisruptionBudget").count();
        assert_eq!(
            budgets,
            SERVICES.len() + 2,
            "a budget per service, NATS and the console"
        );
    }
}

#[test]
fn the_validation_refuses_a_misspelled_field() {
    let manifests = render("dealer-group").replacen("maxUnavailable:", "maxUnavailabel:", 1);
    let complaints = validate(&manifests).expect_err("a misspelled field is refused");
    assert!(complaints.contains("maxUnavailabel"), "{complaints}");
}

#[test]
fn the_console_asks_each_service_at_its_service_and_shares_sessions_by_a_secret() {
    let documents = documents("base/console.yaml");
    let deployment = documents
        .iter()
        .find(|d| d.top_level("kind").as_deref() == Some("Deployment"))
        .expect("a console Deployment")
        .text();
    for required in [
        "\"console\"",
        "/etc/aftercare/aftercare.toml",
        "path: /healthz",
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "name: AFTERCARE__WEB__SESSION_KEY",
        "name: aftercare-console",
        "key: session_key",
    ] {
        assert!(
            deployment.contains(required),
            "the console Deployment lacks `{required}`"
        );
    }
    let secrets = read("k8s/examples/secrets.example.yaml");
    assert!(
        secrets.contains("name: aftercare-console") && secrets.contains("session_key:"),
        "the example Secrets have the console's session key"
    );
    // Every service the console asks, at a Service that exists.
    let config = read("k8s/base/aftercare-config.yaml");
    let services: Vec<String> = documents_of_kind("base/aftercare.yaml", "Service");
    for name in [
        "intake",
        "callback",
        "complaint",
        "analytics",
        "loyalty",
        "system",
    ] {
        let line = config
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(&format!("{name} = \"http://")))
            .unwrap_or_else(|| panic!("[web.upstreams] lacks {name}"));
        let host = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .expect("a host");
        assert!(
            services.iter().any(|s| s == host),
            "{name} is asked at {host}, which is no Service in base/aftercare.yaml"
        );
    }
}

/// The names of the documents of `kind` in a manifest file.
fn documents_of_kind(file: &'static str, kind: &str) -> Vec<String> {
    documents(file)
        .iter()
        .filter(|d| d.top_level("kind").as_deref() == Some(kind))
        .filter_map(Document::name)
        .collect()
}
