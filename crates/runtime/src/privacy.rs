//! Personal data that can be made unreadable. It is sealed (ChaCha20-Poly1305)
//! with a key per data subject — a complaint ticket, later a customer — and the
//! keys live in the database, outside the append-only event log. Erasing a
//! subject's key makes its personal data unreadable in every event that carries
//! it and in every replay, without rewriting the log: retention of complaint
//! records and erasure of a customer are the same operation.
//!
//! The keys live apart from the read models: in a SQLite file of their own
//! (`keys.db` in the data folder) or a PostgreSQL schema of their own
//! (`aftercare_keys`), so a read-model rebuild never touches them and a
//! reporting user with rights on the read models cannot read them.

use std::collections::HashMap;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::Row;

use crate::Secret;
use crate::db::{Backend, Database, Migrations, SqlMigration, fetch_in};

/// The PostgreSQL schema of the keys, when they share a database with the read models.
pub const KEYS_SCHEMA: &str = "aftercare_keys";

const KEYS_SQL: &[SqlMigration] = &[SqlMigration {
    version: 1,
    description: "privacy keys",
    sql: include_str!("../migrations/0003_privacy_keys.sql"),
}];

/// The vault's own table.
pub const KEY_MIGRATIONS: Migrations = Migrations {
    postgres: KEYS_SQL,
    sqlite: KEYS_SQL,
};

/// Where the vault lives when `database.keys_url` is not set: beside a SQLite
/// read-model file, or in the [`KEYS_SCHEMA`] of the read models' PostgreSQL
/// database (the schema is created here).
pub async fn default_keys_url(
    read_models: &Database,
    read_models_url: &Secret,
    data_dir: &std::path::Path,
) -> Result<Secret, sqlx::Error> {
    Ok(match read_models.backend {
        Backend::Sqlite => Secret::new(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("keys.db").display()
        )),
        Backend::Postgres => {
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {KEYS_SCHEMA}"))
                .execute(&read_models.pool)
                .await?;
            let url = read_models_url.expose();
            let joiner = if url.contains('?') { '&' } else { '?' };
            Secret::new(format!(
                "{url}{joiner}options=-c%20search_path%3D{KEYS_SCHEMA}"
            ))
        }
    })
}

/// Opens the vault at `keys_url`, and moves in the keys an older version kept
/// in the read-model database (then drops that table).
pub async fn open_vault(read_models: &Database, keys_url: &Secret) -> Result<Vault, sqlx::Error> {
    let keys = Database::connect(keys_url, 4).await?;
    keys.migrate(&KEY_MIGRATIONS)
        .await
        .map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    adopt_old_keys(read_models, &keys).await?;
    Ok(Vault::new(keys))
}

async fn adopt_old_keys(read_models: &Database, keys: &Database) -> Result<(), sqlx::Error> {
    let old: Vec<(String, String, Option<i64>)> =
        match sqlx::query("SELECT subject, key, erased_at FROM privacy_keys")
            .fetch_all(&read_models.pool)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<Result<_, sqlx::Error>>()?,
            // No such table: nothing to move.
            Err(sqlx::Error::Database(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
    let mut tx = keys.pool.begin().await?;
    for (subject, key, erased_at) in &old {
        sqlx::query(
            "INSERT INTO privacy_keys (subject, key, erased_at) VALUES ($1, $2, $3) \
             ON CONFLICT (subject) DO NOTHING",
        )
        .bind(subject)
        .bind(key)
        .bind(*erased_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    sqlx::query("DROP TABLE privacy_keys")
        .execute(&read_models.pool)
        .await?;
    if !old.is_empty() {
        tracing::info!(
            keys = old.len(),
            "privacy keys moved out of the read-model database"
        );
    }
    Ok(())
}

/// What an erased subject's personal data reads as.
pub const ERASED: &str = "[erased]";
const SEALED: &str = "sealed:v1:";
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("{0} is erased: nothing new is sealed for it")]
    Erased(String),
    #[error("no randomness from the operating system")]
    Random,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The keys of the data subjects, in the read-model database.
#[derive(Clone)]
pub struct Vault {
    db: Database,
    random: SystemRandom,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The keys of some subjects, read at once: `None` for an erased subject.
pub struct Keyring {
    keys: HashMap<String, Option<Vec<u8>>>,
}

impl Keyring {
    /// The text as written: sealed text opened with its subject's key, text that
    /// was never sealed as it is, and [`ERASED`] once the key is gone.
    pub fn open(&self, subject: &str, text: &str) -> String {
        let Some(sealed) = text.strip_prefix(SEALED) else {
            return text.to_owned();
        };
        let Some(Some(key)) = self.keys.get(subject) else {
            return ERASED.to_owned();
        };
        open(key, subject, sealed).unwrap_or_else(|| ERASED.to_owned())
    }
}

fn cipher(key: &[u8]) -> Option<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .ok()
        .map(LessSafeKey::new)
}

fn open(key: &[u8], subject: &str, sealed: &str) -> Option<String> {
    let bytes = unhex(sealed)?;
    let (nonce, body) = bytes.split_at_checked(NONCE_LEN)?;
    let mut body = body.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = cipher(key)?
        .open_in_place(nonce, Aad::from(subject.as_bytes()), &mut body)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

impl Vault {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            random: SystemRandom::new(),
        }
    }

    /// Seals `text` for `subject`, creating the subject's key on first use.
    /// Empty text stays empty: there is nothing personal in it.
    pub async fn seal(&self, subject: &str, text: &str) -> Result<String, PrivacyError> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let key = self.key_for_sealing(subject).await?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| PrivacyError::Random)?;
        let mut body = text.as_bytes().to_vec();
        cipher(&key)
            .ok_or(PrivacyError::Random)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(subject.as_bytes()),
                &mut body,
            )
            .map_err(|_| PrivacyError::Random)?;
        Ok(format!("{SEALED}{}{}", hex(&nonce), hex(&body)))
    }

    async fn key_for_sealing(&self, subject: &str) -> Result<Vec<u8>, PrivacyError> {
        let mut fresh = [0u8; KEY_LEN];
        self.random
            .fill(&mut fresh)
            .map_err(|_| PrivacyError::Random)?;
        // The first writer's key wins; every later one reads it.
        sqlx::query("INSERT INTO privacy_keys (subject, key) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING")
            .bind(subject)
            .bind(hex(&fresh))
            .execute(&self.db.pool)
            .await?;
        let stored: String = sqlx::query_scalar("SELECT key FROM privacy_keys WHERE subject = $1")
            .bind(subject)
            .fetch_one(&self.db.pool)
            .await?;
        match unhex(&stored) {
            Some(key) if key.len() == KEY_LEN => Ok(key),
            _ => Err(PrivacyError::Erased(subject.to_owned())),
        }
    }

    /// The keys of `subjects`, for opening what they sealed.
    pub async fn keyring(&self, subjects: &[String]) -> Result<Keyring, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        Self::keyring_on(&mut conn, subjects).await
    }

    /// The same on a connection already held, such as a projection's transaction
    /// (SQLite has a single connection to hand out).
    pub async fn keyring_on(
        conn: &mut sqlx::AnyConnection,
        subjects: &[String],
    ) -> Result<Keyring, sqlx::Error> {
        let rows = fetch_in(
            conn,
            "SELECT subject, key FROM privacy_keys WHERE subject IN",
            subjects,
        )
        .await?;
        let mut keys = HashMap::new();
        for row in rows {
            let key: String = row.try_get("key")?;
            keys.insert(
                row.try_get("subject")?,
                unhex(&key).filter(|k| k.len() == KEY_LEN),
            );
        }
        Ok(Keyring { keys })
    }

    /// Destroys `subject`'s key: what it sealed reads as [`ERASED`] from now on,
    /// and nothing new is sealed for it. True when a key was destroyed.
    pub async fn erase(&self, subject: &str, at_micros: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO privacy_keys (subject, key, erased_at) VALUES ($1, '', $2) \
             ON CONFLICT (subject) DO UPDATE SET key = '', erased_at = $2 WHERE privacy_keys.key <> ''",
        )
        .bind(subject)
        .bind(at_micros)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 127, 128, 255];
        assert_eq!(super::unhex(&super::hex(&bytes)), Some(bytes.to_vec()));
        assert_eq!(super::unhex("zz"), None);
        assert_eq!(super::unhex("abc"), None);
    }
}
