use aftercare_eventstore::Position;
use sqlx::{AnyConnection, AnyPool, Row};

/// A runner's saved place in the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub name: String,
    pub position: Position,
    pub dead_lettered: u64,
}

pub(super) async fn load(pool: &AnyPool, name: &str) -> Result<Checkpoint, sqlx::Error> {
    let row =
        sqlx::query("SELECT position, dead_lettered FROM projection_checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        Some(row) => Checkpoint {
            name: name.to_owned(),
            position: Position(row.try_get::<i64, _>(0)? as u64),
            dead_lettered: row.try_get::<i64, _>(1)? as u64,
        },
        None => Checkpoint {
            name: name.to_owned(),
            ..Checkpoint::default()
        },
    })
}

pub(super) async fn save(
    conn: &mut AnyConnection,
    checkpoint: &Checkpoint,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, position, dead_lettered, updated_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
         dead_lettered = excluded.dead_lettered, updated_at = excluded.updated_at",
    )
    .bind(checkpoint.name.as_str())
    .bind(checkpoint.position.0 as i64)
    .bind(checkpoint.dead_lettered as i64)
    .bind(jiff::Timestamp::now().as_millisecond())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn delete(conn: &mut AnyConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every saved checkpoint, for status reports.
pub async fn read_checkpoints(pool: &AnyPool) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT name, position, dead_lettered FROM projection_checkpoints ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Checkpoint {
                name: row.try_get(0)?,
                position: Position(row.try_get::<i64, _>(1)? as u64),
                dead_lettered: row.try_get::<i64, _>(2)? as u64,
            })
        })
        .collect()
}
