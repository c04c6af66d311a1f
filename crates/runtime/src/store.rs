//! Opening the configured event store.

use std::sync::Arc;

use aftercare_eventstore::{
    EmbeddedStore, EventStore, JetStreamConfig, JetStreamStore, StoreError, StreamSettings,
};

use crate::config::{StoreBackend, StoreConfig};

/// The event store a deployment runs on, with the NATS connection when there is one
/// (services publish outbound messages and serve ingest subjects on it).
#[derive(Clone)]
pub struct OpenedStore {
    pub store: Arc<dyn EventStore>,
    pub nats: Option<JetStreamStore>,
    pub description: String,
}

pub async fn open(config: &StoreConfig) -> Result<OpenedStore, StoreError> {
    match config.backend {
        StoreBackend::Embedded => {
            crate::data_dir::ensure_private_file(&config.path).map_err(|e| {
                StoreError::Unavailable(format!("event log {}: {e}", config.path.display()))
            })?;
            let store = EmbeddedStore::open(&config.path).await?;
            Ok(OpenedStore {
                store: Arc::new(store),
                nats: None,
                description: format!("embedded event log {}", config.path.display()),
            })
        }
        StoreBackend::JetStream => {
            let js = JetStreamStore::connect(jetstream_config(config)).await?;
            Ok(OpenedStore {
                store: Arc::new(js.clone()),
                nats: Some(js),
                description: format!(
                    "jetstream stream {} at {}",
                    config.stream,
                    redacted(&config.url)
                ),
            })
        }
    }
}

pub fn jetstream_config(config: &StoreConfig) -> JetStreamConfig {
    JetStreamConfig {
        url: config.url.clone(),
        prefix: config.prefix.clone(),
        events: StreamSettings {
            name: config.stream.clone(),
            replicas: config.replicas,
            file_storage: config.file_storage,
            duplicate_window: config.duplicate_window,
        },
        dead_letter_stream: config.dead_letter_stream.clone(),
        outbound_stream: config.outbound_stream.clone(),
        ack_timeout: config.ack_timeout,
        max_in_flight: config.max_in_flight,
        group_commit: config.group_commit,
        token: config.token.as_ref().map(|t| t.expose().to_owned()),
        reply_url: config.reply_url.as_ref().map(|u| u.expose().to_owned()),
    }
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| {
        rest.split_once('@')
            .map(|(user, host)| (scheme, user, host))
    }) {
        Some((scheme, userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            super::redacted("nats://aftercare:s3cret@nats:4222"),
            "nats://aftercare:***@nats:4222"
        );
        assert_eq!(super::redacted("nats://nats:4222"), "nats://nats:4222");
    }
}
