//! Read-model databases: PostgreSQL in production, SQLite for the embedded default,
//! both through sqlx's `Any` driver so a projection's SQL is written once (with
//! `$1`-style placeholders, which both accept). Migrations are per backend and
//! embedded in the binary; each service owns a range of migration versions.

use std::borrow::Cow;
use std::str::FromStr;

use futures::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, ConnectOptions};

use crate::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A pool of read-model connections and which engine is behind it.
#[derive(Clone, Debug)]
pub struct Database {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// One migration, embedded with `include_str!`.
#[derive(Clone, Copy, Debug)]
pub struct SqlMigration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

/// A service's migrations for both engines.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    pub postgres: &'static [SqlMigration],
    pub sqlite: &'static [SqlMigration],
}

#[derive(Debug)]
struct Embedded(&'static [SqlMigration]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|m| {
                    Migration::new(
                        m.version,
                        Cow::Borrowed(m.description),
                        MigrationType::Simple,
                        Cow::Borrowed(m.sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

impl Database {
    pub async fn connect(url: &Secret, max_connections: u32) -> Result<Self, sqlx::Error> {
        Self::connect_searching(url, max_connections, None).await
    }

    /// A PostgreSQL pool whose unqualified table names are looked up in
    /// `search_path` (schemas, comma-separated) — an online rebuild's
    /// connections, which find the read model's new tables first.
    pub async fn connect_searching(
        url: &Secret,
        max_connections: u32,
        search_path: Option<String>,
    ) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let url = url.expose();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let mut options = AnyConnectOptions::from_str(url)?;
        options = options.log_statements(tracing::log::LevelFilter::Trace);
        let pool = match backend {
            Backend::Postgres => AnyPoolOptions::new().max_connections(max_connections),
            // One writer at a time is all SQLite allows; more connections only wait.
            Backend::Sqlite => AnyPoolOptions::new().max_connections(1),
        };
        let pool = if backend == Backend::Sqlite {
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            })
        } else if let Some(path) = search_path {
            pool.after_connect(move |conn, _| {
                let set = format!("SET search_path TO {path}");
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(set.as_str()).await?;
                    Ok(())
                })
            })
        } else {
            pool
        };
        if backend == Backend::Sqlite {
            create_sqlite_file(url);
        }
        let pool = pool.connect_with(options).await?;
        Ok(Self { pool, backend })
    }

    /// Applies a service's migrations for this engine. Versions of other services
    /// in the same database are left alone.
    pub async fn migrate(
        &self,
        migrations: &Migrations,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        let set = match self.backend {
            Backend::Postgres => migrations.postgres,
            Backend::Sqlite => migrations.sqlite,
        };
        let mut migrator = Migrator::new(Embedded(set)).await?;
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await
    }
}

/// Creates the database file private (0600, its folder 0700) before SQLite
/// opens it; SQLite gives its WAL files the same mode. A failure here is left
/// for the connection to report.
fn create_sqlite_file(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if !path.is_empty() && path != ":memory:" {
        let _ = crate::data_dir::ensure_private_file(std::path::Path::new(path));
    }
}

/// A value for a multi-row insert. A NULL carries its column's type: PostgreSQL
/// prepares a statement with the types of its first bind, and a cached statement
/// whose NULL was bound as an integer would later read a text value's bytes as
/// a number.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    NullInt,
    NullText,
    NullBytes,
}

impl SqlValue {
    pub fn opt_int(value: Option<i64>) -> Self {
        value.map_or(SqlValue::NullInt, SqlValue::Int)
    }

    pub fn opt_text(value: Option<String>) -> Self {
        value.map_or(SqlValue::NullText, SqlValue::Text)
    }

    /// Text, or NULL when empty (ids that are optional in the events).
    pub fn text_or_null(value: String) -> Self {
        if value.is_empty() {
            SqlValue::NullText
        } else {
            SqlValue::Text(value)
        }
    }
}

/// Most bind parameters in one statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMETERS: usize = 30_000;

/// Writes many rows with a few multi-row `INSERT … VALUES (…), (…)` statements,
/// never one statement per row. `suffix` is appended to each statement, e.g.
/// `ON CONFLICT (id) DO NOTHING`.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    suffix: &str,
    rows: &[Vec<SqlValue>],
) -> Result<u64, sqlx::Error> {
    // SQLite looks numbered parameters up by name, which grows with the square of
    // their count in a large statement; anonymous `?` are bound by index.
    let numbered = conn.backend_name() != "SQLite";
    let width = columns.len().max(1);
    let per_statement = (MAX_PARAMETERS / width).max(1);
    let mut written = 0;
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if row.len() != width {
                return Err(sqlx::Error::Protocol(format!(
                    "row {i} for {table} has {} values, not {width}",
                    row.len()
                )));
            }
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..width {
                n += 1;
                if j > 0 {
                    sql.push_str(", ");
                }
                if numbered {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for value in row {
                query = match value {
                    SqlValue::Int(v) => query.bind(*v),
                    SqlValue::Text(v) => query.bind(v.as_str()),
                    SqlValue::Bytes(v) => query.bind(v.as_slice()),
                    SqlValue::NullInt => query.bind(None::<i64>),
                    SqlValue::NullText => query.bind(None::<String>),
                    SqlValue::NullBytes => query.bind(None::<Vec<u8>>),
                };
            }
        }
        written += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// `statement (?, ?, …)` for one chunk of keys, with the placeholders the
/// connection's engine binds fastest.
fn in_list(conn: &sqlx::AnyConnection, statement: &str, count: usize) -> String {
    let numbered = conn.backend_name() != "SQLite";
    let mut sql = format!("{statement} (");
    for i in 0..count {
        if i > 0 {
            sql.push_str(", ");
        }
        if numbered {
            sql.push('$');
            sql.push_str(&(i + 1).to_string());
        } else {
            sql.push('?');
        }
    }
    sql.push(')');
    sql
}

/// Empties `tables`, in the order given: what a projection's reset does.
pub async fn delete_all(
    conn: &mut sqlx::AnyConnection,
    tables: &[&str],
) -> Result<(), sqlx::Error> {
    for table in tables {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Runs `select` (ending in `… WHERE column IN`) for all of `keys`, a few
/// statements with many keys each instead of a statement per key.
pub async fn fetch_in(
    conn: &mut sqlx::AnyConnection,
    select: &str,
    keys: &[String],
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(MAX_PARAMETERS) {
        let sql = in_list(conn, select, chunk.len());
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key.as_str());
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// Runs `statement` (ending in `… WHERE column IN`, e.g. a `DELETE`) for all of
/// `keys`, a few statements with many keys each; the rows affected.
pub async fn execute_in(
    conn: &mut sqlx::AnyConnection,
    statement: &str,
    keys: &[String],
) -> Result<u64, sqlx::Error> {
    let mut affected = 0;
    for chunk in keys.chunks(MAX_PARAMETERS) {
        let sql = in_list(conn, statement, chunk.len());
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key.as_str());
        }
        affected += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}
