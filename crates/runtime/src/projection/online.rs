//! Rebuilding a read model while it serves (PostgreSQL): the new version is
//! built from the log into tables of a schema of its own, found first by the
//! rebuild's connections only; once it has caught up with the log it is
//! swapped in, in one transaction, and the old tables are dropped.
//!
//! The swap holds the live checkpoint's row first — so no batch of the live
//! runner is in flight — moves the live tables out and the new ones in, and
//! sets the live checkpoint to where the new tables are. The live runner's next
//! move then finds its checkpoint moved, reads it again, and applies what the
//! new tables still lack. A query sees the old tables or the new ones, never
//! neither and never an empty one; a statement running at the swap finishes
//! first and the next waits for it.

use std::sync::Arc;

use aftercare_eventstore::{EventStore, Position};
use sqlx::Row;

use super::{Progress, ProgressHandle, Projection, Runner, RunnerOptions};
use crate::Secret;
use crate::db::{Backend, Database, Migrations};

/// Why an online rebuild did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    #[error("{0}")]
    NotPossible(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event store: {0}")]
    Store(#[from] aftercare_eventstore::StoreError),
}

/// What the rebuild did.
#[derive(Debug)]
pub struct Swapped {
    /// Where the new tables were when they were swapped in.
    pub position: Position,
    pub dead_lettered: u64,
}

/// A rebuild of `projection` beside its live tables, then the swap.
pub struct OnlineRebuild {
    pub projection: Arc<dyn Projection>,
    /// The migrations of the module that owns the projection: they create its
    /// tables, indexes included, in the new schema.
    pub migrations: Migrations,
    pub store: Arc<dyn EventStore>,
    /// The live database, and its URL for the rebuild's own connections.
    pub db: Database,
    pub url: Secret,
    pub options: RunnerOptions,
}

/// A SQL identifier made of the projection's name (letters, digits, `_`).
fn identifier(name: &str) -> Result<String, OnlineError> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(OnlineError::NotPossible(format!(
            "{name:?} cannot name a schema"
        )))
    }
}

impl OnlineRebuild {
    /// The checkpoint the new version keeps while it is built.
    pub fn checkpoint_name(&self) -> String {
        format!("{}~rebuild", self.projection.name())
    }

    /// Builds the new version up to the log's head, catches up once more, then
    /// swaps it in. `watch` sees the rebuild's progress.
    pub async fn run(self, watch: impl FnOnce(ProgressHandle)) -> Result<Swapped, OnlineError> {
        if self.db.backend != Backend::Postgres {
            return Err(OnlineError::NotPossible(
                "read models on SQLite are rebuilt with the service stopped".into(),
            ));
        }
        let tables = self.projection.tables();
        if tables.is_empty() {
            return Err(OnlineError::NotPossible(format!(
                "{} does not name its tables",
                self.projection.name()
            )));
        }
        let name = identifier(self.projection.name())?;
        // One online rebuild of a read model at a time, whoever starts it: a
        // second would drop the first one's new tables. The session lock lives
        // on a connection of its own, out of the pool, so it ends with it: a
        // rebuild that dies frees it.
        let mut guard = self.db.pool.acquire().await?.detach();
        let key = format!("aftercare online rebuild {name}");
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(&key)
            .fetch_one(&mut guard)
            .await?;
        if !locked {
            return Err(OnlineError::NotPossible(format!(
                "another rebuild of {name} is running"
            )));
        }
        let result = self.build_and_swap(&name, watch).await;
        use sqlx::Connection as _;
        guard.close().await?;
        result
    }

    async fn build_and_swap(
        self,
        name: &str,
        watch: impl FnOnce(ProgressHandle),
    ) -> Result<Swapped, OnlineError> {
        let tables = self.projection.tables();
        let shadow = format!("aftercare_rebuild_{name}");
        let retired = format!("aftercare_retired_{name}");
        let live: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&self.db.pool)
            .await?;
        for statement in [
            format!("DROP SCHEMA IF EXISTS {shadow} CASCADE"),
            format!("DROP SCHEMA IF EXISTS {retired} CASCADE"),
            format!("CREATE SCHEMA {shadow}"),
        ] {
            sqlx::query(&statement).execute(&self.db.pool).await?;
        }
        let building =
            Database::connect_searching(&self.url, 4, Some(format!("{shadow}, \"{live}\"")))
                .await?;
        building
            .migrate(&self.migrations)
            .await
            .map_err(|e| OnlineError::NotPossible(format!("creating the new tables: {e}")))?;
        // Only the projection's own tables stay in the new schema: a read of
        // any other table finds the live one.
        let created: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
        )
        .bind(&shadow)
        .fetch_all(&self.db.pool)
        .await?;
        for table in created.iter().filter(|t| !tables.contains(&t.as_str())) {
            sqlx::query(&format!("DROP TABLE {shadow}.\"{table}\" CASCADE"))
                .execute(&self.db.pool)
                .await?;
        }
        for table in tables {
            if !created.iter().any(|t| t == table) {
                return Err(OnlineError::NotPossible(format!(
                    "the migrations do not create {table}"
                )));
            }
        }
        let checkpoint = self.checkpoint_name();
        let runner = || {
            Runner::projection(
                self.projection.clone(),
                self.store.clone(),
                building.clone(),
                self.options,
            )
            .with_checkpoint(checkpoint.clone())
        };
        let first = runner();
        watch(first.handle());
        first.rebuild().await?;
        // What was appended while it was built.
        let head = self.store.head().await?;
        let caught_up: Progress = runner().catch_up(head).await;
        building.pool.close().await;
        self.swap(&live, &shadow, &retired, caught_up).await
    }

    async fn swap(
        &self,
        live: &str,
        shadow: &str,
        retired: &str,
        built: Progress,
    ) -> Result<Swapped, OnlineError> {
        let name = self.projection.name();
        let mut tx = self.db.pool.begin().await?;
        // The live checkpoint's row first: the live runner moves it as the
        // first statement of each batch, so holding it means no batch is in
        // flight and none starts until the swap is done.
        let now = jiff::Timestamp::now().as_millisecond();
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position, dead_lettered, updated_at) \
             VALUES ($1, 0, 0, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row =
            sqlx::query("SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
        let was: i64 = row.try_get(0)?;
        sqlx::query(&format!("CREATE SCHEMA {retired}"))
            .execute(&mut *tx)
            .await?;
        for table in self.projection.tables() {
            sqlx::query(&format!(
                "ALTER TABLE IF EXISTS \"{live}\".\"{table}\" SET SCHEMA {retired}"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "ALTER TABLE {shadow}.\"{table}\" SET SCHEMA \"{live}\""
            ))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE projection_checkpoints SET position = $1, updated_at = $2 WHERE name = $3",
        )
        .bind(built.position.0 as i64)
        .bind(now)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1")
            .bind(self.checkpoint_name())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            projection = name,
            live_was_at = was,
            new_at = %built.position,
            "swapped the rebuilt read model in"
        );
        for statement in [
            format!("DROP SCHEMA IF EXISTS {retired} CASCADE"),
            format!("DROP SCHEMA IF EXISTS {shadow} CASCADE"),
        ] {
            sqlx::query(&statement).execute(&self.db.pool).await?;
        }
        Ok(Swapped {
            position: built.position,
            dead_lettered: built.dead_lettered,
        })
    }
}
