//! Typed configuration: one TOML file plus `AFTERCARE__SECTION__KEY` environment
//! overrides. Every bad value is reported at once, each with its key; secrets are
//! never printed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::Secret;
use crate::auth::TokenConfig;

pub const ENV_PREFIX: &str = "AFTERCARE__";

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    pub auth: AuthConfig,
    pub projections: ProjectionConfig,
    pub dealers: DealersConfig,
    pub web: WebConfig,
}

/// The services whose gRPC the web console asks, by the names
/// `web.upstreams` takes (`system` answers who-am-I and the status).
pub const CONSOLE_SERVICES: [&str; 6] = [
    "intake",
    "callback",
    "complaint",
    "analytics",
    "loyalty",
    "system",
];

/// The staff web console when it runs apart from the services
/// (`aftercare console`, e.g. a Deployment of its own).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Each service's gRPC address by name (see [`CONSOLE_SERVICES`]), e.g.
    /// `callback = "http://aftercare-callback:50051"`. `aftercare serve` asks
    /// its own gRPC server for a service not named here.
    pub upstreams: BTreeMap<String, String>,
    /// 64 hexadecimal characters (32 bytes, from a Secret) that seal the
    /// session cookies, so every console replica reads the sessions the others
    /// signed in. Unset: sessions live in the serving process only.
    pub session_key: Option<Secret>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where gRPC listens. Loopback by default: exposing it is a decision.
    pub listen: SocketAddr,
    /// Local state of the embedded default: event log, SQLite read models, admin token.
    pub data_dir: PathBuf,
    /// Lets an admin run the deadline sweep as of a future moment (`SweepDeadlines`
    /// with `as_of`): for tests and demonstrations only. Off, a future `as_of`
    /// is refused, so no escalation is ever recorded ahead of its time.
    pub allow_future_sweeps: bool,
    /// Where Prometheus scrapes `/metrics`; off unless set.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the staff web console is served; on the embedded default it is
    /// 127.0.0.1:8080 unless set, elsewhere off unless set.
    pub web_listen: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("data"),
            allow_future_sweeps: false,
            metrics_listen: None,
            web_listen: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    #[default]
    Embedded,
    JetStream,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// Embedded: the log file; relative paths are under `server.data_dir`.
    pub path: PathBuf,
    /// JetStream: the NATS server(s).
    pub url: String,
    pub token: Option<Secret>,
    /// JetStream: the NATS user DMS ingest replies are sent from, one that may
    /// publish to `_INBOX.>` only (`aftercare-replies` in deploy/nats/nats.conf).
    pub reply_url: Option<Secret>,
    pub prefix: String,
    pub stream: String,
    pub dead_letter_stream: String,
    pub outbound_stream: String,
    pub replicas: usize,
    pub file_storage: bool,
    #[serde(with = "duration")]
    pub duplicate_window: Duration,
    #[serde(with = "duration")]
    pub ack_timeout: Duration,
    pub max_in_flight: usize,
    /// JetStream: single-event appends that arrive together are written as
    /// one atomic batch of at most this many (one flush to disk); 1 turns
    /// group commit off. At most 1000, the server's limit on a batch.
    pub group_commit: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let js = aftercare_eventstore::JetStreamConfig::default();
        Self {
            backend: StoreBackend::Embedded,
            path: PathBuf::from("events.db"),
            url: js.url,
            token: None,
            reply_url: None,
            prefix: js.prefix,
            stream: js.events.name,
            dead_letter_stream: js.dead_letter_stream,
            outbound_stream: js.outbound_stream,
            replicas: js.events.replicas,
            file_storage: js.events.file_storage,
            duplicate_window: js.events.duplicate_window,
            ack_timeout: js.ack_timeout,
            max_in_flight: js.max_in_flight,
            group_commit: js.group_commit,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…` in production; `sqlite://…`, or none for `<data_dir>/aftercare.db`.
    pub url: Option<Secret>,
    pub max_connections: u32,
    /// The key vault of sealed personal data: none for `keys.db` in the data
    /// folder (SQLite) or the `aftercare_keys` schema of `url` (PostgreSQL).
    pub keys_url: Option<Secret>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            keys_url: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    #[default]
    Auto,
    Pretty,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// A `tracing` filter directive, overridden by `RUST_LOG`.
    pub filter: String,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; no export when unset.
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Auto,
            filter: "info".to_owned(),
            otlp_endpoint: None,
            service_name: "aftercare".to_owned(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub tokens: Vec<TokenConfig>,
    /// Dealer groups by name, for `scope = "group:<name>"`.
    pub groups: BTreeMap<String, Vec<String>>,
    /// A separate TOML file with more `[[tokens]]` and `[groups]`, so tokens can
    /// live in a Kubernetes Secret while the rest is a ConfigMap.
    pub tokens_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TokensFile {
    tokens: Vec<TokenConfig>,
    groups: BTreeMap<String, Vec<String>>,
}

impl AuthConfig {
    fn merge_tokens_file(&mut self, errors: &mut Vec<String>) {
        let Some(path) = &self.tokens_file else {
            return;
        };
        let file: Result<TokensFile, String> = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| toml::from_str(&text).map_err(|e| e.message().trim().to_owned()));
        match file {
            Ok(file) => {
                self.tokens.extend(file.tokens);
                for (name, dealers) in file.groups {
                    if self.groups.insert(name.clone(), dealers).is_some() {
                        errors.push(format!(
                            "auth.tokens_file: group {name:?} is also defined in auth.groups"
                        ));
                    }
                }
            }
            Err(reason) => errors.push(format!("auth.tokens_file ({}): {reason}", path.display())),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectionConfig {
    /// Most events applied in one transaction.
    pub batch_size: usize,
    /// Most events in one transaction of a rebuild, for the read models that
    /// rebuild faster in larger transactions (the churn counters): with the
    /// rows they touch, what a rebuild holds in memory.
    pub replay_batch_size: usize,
    /// Attempts at one event before it goes to the dead-letter subject.
    pub max_attempts: u32,
    /// How long a query with `min_position` waits for the read model.
    #[serde(with = "duration")]
    pub read_your_writes_timeout: Duration,
    /// On JetStream, each projection and policy runs in one replica at a
    /// time, by a lease in this key-value bucket.
    pub lease_bucket: String,
    /// A lease's lifetime: a replica that dies is replaced after at most this
    /// (and a third of it); its holder renews it every third.
    #[serde(with = "duration")]
    pub lease_ttl: Duration,
    /// A process is ready (its health service `aftercare.ready` serving) while
    /// no runner of it has more events than this still to apply.
    pub ready_lag: u64,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        Self {
            batch_size: 2000,
            replay_batch_size: 25_000,
            max_attempts: 3,
            read_your_writes_timeout: Duration::from_secs(5),
            lease_bucket: "AFTERCARE_LEASES".to_owned(),
            lease_ttl: Duration::from_secs(15),
            ready_lag: 100_000,
        }
    }
}

/// Every problem found in a configuration, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

impl Config {
    /// Reads `path` (when given) and applies the `AFTERCARE__…` variables of `env`.
    /// Dealer tables are checked for the time zone only; see [`Config::load_checked`].
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        Config::load_checked(path, env, |_, _| {})
    }

    /// [`Config::load`], with `services` checking their own parts (the sections
    /// of the dealer tables) in the same pass, so every bad value is reported
    /// at once, whoever owns it.
    pub fn load_checked(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        services: impl FnOnce(&Config, &mut Vec<String>),
    ) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let mut table = match path {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => text.parse::<toml::Table>().unwrap_or_else(|e| {
                    errors.push(format!("{}: {e}", path.display()));
                    toml::Table::new()
                }),
                Err(e) => {
                    errors.push(format!("{}: {e}", path.display()));
                    toml::Table::new()
                }
            },
            None => toml::Table::new(),
        };
        apply_env(&mut table, env, &mut errors);
        let mut config = Config {
            server: section(&mut table, "server", &mut errors),
            store: section(&mut table, "store", &mut errors),
            database: section(&mut table, "database", &mut errors),
            telemetry: section(&mut table, "telemetry", &mut errors),
            auth: section(&mut table, "auth", &mut errors),
            projections: section(&mut table, "projections", &mut errors),
            dealers: DealersConfig::from_table(table.remove("dealers"), &mut errors),
            web: section(&mut table, "web", &mut errors),
        };
        config.auth.merge_tokens_file(&mut errors);
        for unknown in table.keys() {
            errors.push(format!("{unknown}: unknown section"));
        }
        config.validate(&mut errors);
        services(&config, &mut errors);
        if config.store.path.is_relative() {
            config.store.path = config.server.data_dir.join(&config.store.path);
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    fn validate(&self, errors: &mut Vec<String>) {
        let store = &self.store;
        if store.backend == StoreBackend::JetStream {
            if !(store.url.starts_with("nats://") || store.url.starts_with("tls://")) {
                errors.push(format!(
                    "store.url: {:?} must start with nats:// or tls://",
                    store.url
                ));
            }
            if let Some(url) = &store.reply_url
                && !(url.expose().starts_with("nats://") || url.expose().starts_with("tls://"))
            {
                errors.push("store.reply_url: must start with nats:// or tls://".to_owned());
            }
            if !(1..=5).contains(&store.replicas) {
                errors.push(format!(
                    "store.replicas: {} must be between 1 and 5",
                    store.replicas
                ));
            }
        }
        if store.ack_timeout.is_zero() {
            errors.push("store.ack_timeout: must be more than zero".to_owned());
        }
        if store.max_in_flight == 0 {
            errors.push("store.max_in_flight: must be at least 1".to_owned());
        }
        if !(1..=1000).contains(&store.group_commit) {
            errors.push(format!(
                "store.group_commit: must be from 1 (off) to 1000 (the server's limit on a batch), not {}",
                store.group_commit
            ));
        }
        if let Some(url) = &self.database.url {
            let url = url.expose();
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
            {
                errors.push(
                    "database.url: must start with postgres://, postgresql:// or sqlite:"
                        .to_owned(),
                );
            }
        }
        if self.database.max_connections == 0 {
            errors.push("database.max_connections: must be at least 1".to_owned());
        }
        if self.projections.replay_batch_size == 0 {
            errors.push("projections.replay_batch_size: must be at least 1".to_owned());
        }
        if self.projections.batch_size == 0 {
            errors.push("projections.batch_size: must be at least 1".to_owned());
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(300))
            .contains(&self.projections.lease_ttl)
        {
            errors.push("projections.lease_ttl: must be between 1s and 300s".to_owned());
        }
        if self.projections.lease_bucket.is_empty()
            || !self
                .projections
                .lease_bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            errors.push("projections.lease_bucket: must be letters, digits, '_' or '-'".to_owned());
        }
        if self.projections.max_attempts == 0 {
            errors.push("projections.max_attempts: must be at least 1".to_owned());
        }
        if let Err(e) = crate::auth::TokenTable::from_config(&self.auth) {
            errors.extend(e.0);
        }
        for (name, url) in &self.web.upstreams {
            if !CONSOLE_SERVICES.contains(&name.as_str()) {
                errors.push(format!(
                    "web.upstreams.{name}: not a service; the console asks {}",
                    CONSOLE_SERVICES.join(", ")
                ));
            } else if !url.starts_with("http://") || url.parse::<tonic::transport::Uri>().is_err() {
                errors.push(format!(
                    "web.upstreams.{name}: {url:?} must be an http:// address of the service's gRPC port"
                ));
            }
        }
        if let Some(key) = &self.web.session_key
            && let Err(reason) = crate::session_key::SessionKey::parse(key.expose())
        {
            errors.push(format!("web.session_key: {reason}"));
        }
    }

    /// The read-model database URL, defaulting to SQLite under the data directory.
    pub fn database_url(&self) -> Secret {
        match &self.database.url {
            Some(url) => url.clone(),
            None => Secret::new(format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("aftercare.db").display()
            )),
        }
    }
}

fn section<T: DeserializeOwned + Default>(
    table: &mut toml::Table,
    name: &str,
    errors: &mut Vec<String>,
) -> T {
    match table.remove(name) {
        None => T::default(),
        Some(value) => value.try_into().unwrap_or_else(|e: toml::de::Error| {
            errors.push(format!("{name}: {}", e.message().trim()));
            T::default()
        }),
    }
}

mod dealers;
mod env;

pub use dealers::{Dealer, DealerSection, Dealers, DealersConfig};
use env::apply_env;
pub(crate) use env::duration;

#[cfg(test)]
mod tests;
