//! Leases that keep each projection and policy running in one replica at a
//! time: a key per runner in a NATS key-value bucket whose values live `ttl`.
//! The holder renews its key well within that; a replica that dies stops
//! renewing, the key expires, and another replica creates it and takes over
//! from the checkpoint. A holder that cannot renew stops applying after half
//! the lifetime, before the key can expire and another start. The revision at
//! which a lease was taken is its fence: it is written with every checkpoint
//! move, and a move from a lower fence than the stored one fails, so a holder
//! that was paused past its lease cannot commit after its successor did.
//!
//! The embedded default runs in one process and needs none.

use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;

/// This replica's leases in one bucket.
#[derive(Clone)]
pub struct Leases {
    kv: kv::Store,
    holder: String,
    ttl: Duration,
}

/// A lease this replica holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// The revision it was taken at: the fence of every checkpoint move.
    pub fence: u64,
    /// The revision of the last renewal.
    pub revision: u64,
}

/// Why a lease was given up.
#[derive(Debug, PartialEq, Eq)]
pub enum Lost {
    /// Another replica holds it now.
    TakenOver,
    /// No renewal reached the bucket for half the lease's lifetime.
    NotRenewed,
}

impl Leases {
    /// Opens (creating when missing) the bucket `bucket`, whose keys expire
    /// `ttl` after their last renewal; `holder` names this replica.
    pub async fn open(
        js: &async_nats::jetstream::Context,
        bucket: &str,
        ttl: Duration,
        replicas: usize,
        holder: String,
    ) -> Result<Self, String> {
        let kv = match js.get_key_value(bucket).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: bucket.to_owned(),
                    description: "aftercare: which replica runs each projection and policy"
                        .to_owned(),
                    history: 1,
                    max_age: ttl,
                    storage: async_nats::jetstream::stream::StorageType::File,
                    num_replicas: replicas.max(1),
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("lease bucket {bucket}: {e}"))?,
        };
        Ok(Self { kv, holder, ttl })
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How often a waiting replica tries to take a lease, and a holder renews.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Takes the lease of `runner` when nobody holds it.
    pub async fn try_acquire(&self, runner: &str) -> Option<Held> {
        match self
            .kv
            .create(runner, Bytes::from(self.holder.clone()))
            .await
        {
            Ok(revision) => Some(Held {
                fence: revision,
                revision,
            }),
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => None,
            Err(err) => {
                tracing::warn!(runner, error = %err, "cannot take the lease");
                None
            }
        }
    }

    /// Who holds the lease of `runner`, if anyone.
    pub async fn holder_of(&self, runner: &str) -> Option<String> {
        match self.kv.get(runner).await {
            Ok(Some(value)) => Some(String::from_utf8_lossy(&value).into_owned()),
            _ => None,
        }
    }

    /// Renews the lease until it is lost; `held` follows the renewals. Lost
    /// at the latest half the lifetime (and a twelfth) after the last renewal
    /// was sent: the bucket keeps a value `ttl` after it arrived, so the holder
    /// has stopped before anyone else can take it.
    pub async fn keep(&self, runner: &str, held: &mut Held) -> Lost {
        let mut renewed = tokio::time::Instant::now();
        let mut wait = self.renew_every();
        loop {
            tokio::time::sleep(wait).await;
            let sent = tokio::time::Instant::now();
            let attempt = tokio::time::timeout_at(
                renewed + self.ttl / 2,
                self.kv
                    .update(runner, Bytes::from(self.holder.clone()), held.revision),
            )
            .await;
            match attempt {
                Ok(Ok(revision)) => {
                    held.revision = revision;
                    renewed = sent;
                    wait = self.renew_every();
                }
                Ok(Err(err)) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    return Lost::TakenOver;
                }
                Ok(Err(err)) => {
                    tracing::warn!(runner, error = %err, "cannot renew the lease, trying again");
                    wait = self.ttl / 12;
                }
                Err(_) => return Lost::NotRenewed,
            }
        }
    }

    /// Gives the lease up at once (a clean shutdown), so another replica need
    /// not wait for it to expire.
    pub async fn release(&self, runner: &str, held: &Held) {
        if let Err(err) = self
            .kv
            .delete_expect_revision(runner, Some(held.revision))
            .await
        {
            tracing::debug!(runner, error = %err, "lease not released; it expires");
        }
    }
}
