//! The `AFTERCARE_EVENTS` stream's settings: created when missing, checked when
//! present. A stream whose settings differ is refused rather than silently used,
//! because each of these settings is part of the durability or idempotency promise.

use std::time::Duration;

use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::{self, context::GetStreamErrorKind};

use super::codec::{Subjects, storage_name};
use crate::StoreError;

/// The settings of the events stream that a deployment chooses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSettings {
    pub name: String,
    /// 1 for a single server, 3 for a production cluster.
    pub replicas: usize,
    /// File storage in production; memory only for throwaway tests.
    pub file_storage: bool,
    /// How long JetStream remembers event ids to drop duplicate publishes.
    pub duplicate_window: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            name: "AFTERCARE_EVENTS".to_owned(),
            replicas: 1,
            file_storage: true,
            duplicate_window: Duration::from_secs(120),
        }
    }
}

pub(super) fn events_config(settings: &StreamSettings, subjects: &Subjects) -> Config {
    Config {
        name: settings.name.clone(),
        description: Some("aftercare domain events".to_owned()),
        subjects: vec![subjects.events_wildcard()],
        storage: if settings.file_storage {
            StorageType::File
        } else {
            StorageType::Memory
        },
        num_replicas: settings.replicas,
        duplicate_window: settings.duplicate_window,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::New,
        max_age: Duration::ZERO,
        max_messages: -1,
        max_bytes: -1,
        max_messages_per_subject: -1,
        deny_delete: true,
        deny_purge: true,
        allow_direct: true,
        // One append of several events is one atomic batch.
        allow_atomic_publish: true,
        ..Default::default()
    }
}

pub(super) fn dead_letter_config(
    name: &str,
    settings: &StreamSettings,
    subjects: &Subjects,
) -> Config {
    Config {
        name: name.to_owned(),
        description: Some("aftercare rejected input and poison events, with reasons".to_owned()),
        subjects: vec![subjects.dead_letters_wildcard()],
        ..events_config(settings, subjects)
    }
}

pub(super) fn outbound_config(
    name: &str,
    settings: &StreamSettings,
    subjects: &Subjects,
) -> Config {
    Config {
        name: name.to_owned(),
        description: Some(
            "aftercare messages for the OEM: complaint feedback, warnings".to_owned(),
        ),
        subjects: vec![subjects.outbound_wildcard()],
        ..events_config(settings, subjects)
    }
}

/// Every setting that differs between the wanted and the found stream.
pub(super) fn differences(want: &Config, found: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, want: String, found: String| {
        if want != found {
            out.push(format!("{name}: want {want}, found {found}"));
        }
    };
    check(
        "subjects",
        format!("{:?}", want.subjects),
        format!("{:?}", found.subjects),
    );
    check(
        "storage",
        storage_name(&want.storage).into(),
        storage_name(&found.storage).into(),
    );
    check(
        "replicas",
        want.num_replicas.to_string(),
        found.num_replicas.max(1).to_string(),
    );
    check(
        "deny_delete",
        want.deny_delete.to_string(),
        found.deny_delete.to_string(),
    );
    check(
        "deny_purge",
        want.deny_purge.to_string(),
        found.deny_purge.to_string(),
    );
    check(
        "allow_direct",
        want.allow_direct.to_string(),
        found.allow_direct.to_string(),
    );
    check(
        "duplicate_window",
        format!("{:?}", want.duplicate_window),
        format!("{:?}", found.duplicate_window),
    );
    check(
        "max_age",
        format!("{:?}", want.max_age),
        format!("{:?}", found.max_age),
    );
    check(
        "retention",
        format!("{:?}", want.retention),
        format!("{:?}", found.retention),
    );
    check(
        "max_messages",
        want.max_messages.to_string(),
        found.max_messages.to_string(),
    );
    check(
        "max_bytes",
        want.max_bytes.to_string(),
        found.max_bytes.to_string(),
    );
    check(
        "max_messages_per_subject",
        want.max_messages_per_subject.to_string(),
        found.max_messages_per_subject.to_string(),
    );
    out
}

/// Creates the stream when missing; refuses one whose settings differ.
pub(super) async fn ensure_stream(
    js: &jetstream::Context,
    want: Config,
) -> Result<Stream, StoreError> {
    match js.get_stream(&want.name).await {
        Ok(mut stream) => {
            let found = stream
                .info()
                .await
                .map_err(|e| StoreError::Unavailable(format!("stream {} info: {e}", want.name)))?
                .config
                .clone();
            let diff = differences(&want, &found);
            if diff.is_empty() {
                Ok(stream)
            } else {
                Err(StoreError::Misconfigured(format!(
                    "stream {} exists with other settings ({}); fix the stream or the configuration",
                    want.name,
                    diff.join("; ")
                )))
            }
        }
        Err(err)
            if matches!(err.kind(), GetStreamErrorKind::JetStream(e)
                if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            tracing::info!(stream = %want.name, "creating jetstream stream");
            js.create_stream(want.clone()).await.map_err(|e| {
                StoreError::Misconfigured(format!("cannot create stream {}: {e}", want.name))
            })
        }
        Err(err) => Err(StoreError::Unavailable(format!(
            "stream {}: {err}",
            want.name
        ))),
    }
}
