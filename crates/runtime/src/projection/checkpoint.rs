use aftercare_eventstore::Position;
use sqlx::{AnyConnection, AnyPool, Row};

/// A runner's saved place in the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub name: String,
    pub position: Position,
    pub dead_lettered: u64,
    /// The lease revision it was last moved under (0 without leases).
    pub fence: u64,
}

/// Reads a runner's checkpoint, creating it at the start of the log when there is
/// none yet, so that every later move is a conditional update of an existing row.
pub(super) async fn load(pool: &AnyPool, name: &str) -> Result<Checkpoint, sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, position, dead_lettered, updated_at) \
         VALUES ($1, 0, 0, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(jiff::Timestamp::now().as_millisecond())
    .execute(pool)
    .await?;
    let row = sqlx::query(
        "SELECT position, dead_lettered, fence FROM projection_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(row) => Checkpoint {
            name: name.to_owned(),
            position: Position(row.try_get::<i64, _>(0)? as u64),
            dead_lettered: row.try_get::<i64, _>(1)? as u64,
            fence: row.try_get::<i64, _>(2)? as u64,
        },
        None => Checkpoint {
            name: name.to_owned(),
            ..Checkpoint::default()
        },
    })
}

/// Moves the checkpoint from `from` to `to`, only if it is still at `from`; `false`
/// when another runner of the same name moved it first. Run as the first
/// statement of a transaction, it also takes the row's write lock, so a second
/// runner waits here until the first commits and then finds the checkpoint moved:
/// two runners never both apply the same events.
pub(super) async fn advance(
    conn: &mut AnyConnection,
    from: &Checkpoint,
    to: &Checkpoint,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE projection_checkpoints SET position = $1, dead_lettered = $2, updated_at = $3, \
         fence = CASE WHEN $7 > 0 THEN $7 ELSE fence END \
         WHERE name = $4 AND position = $5 AND dead_lettered = $6 AND ($7 = 0 OR fence <= $7)",
    )
    .bind(to.position.0 as i64)
    .bind(to.dead_lettered as i64)
    .bind(jiff::Timestamp::now().as_millisecond())
    .bind(to.name.as_str())
    .bind(from.position.0 as i64)
    .bind(from.dead_lettered as i64)
    .bind(to.fence as i64)
    .execute(&mut *conn)
    .await?;
    Ok(moved.rows_affected() == 1)
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
        "SELECT name, position, dead_lettered, fence FROM projection_checkpoints ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Checkpoint {
                name: row.try_get(0)?,
                position: Position(row.try_get::<i64, _>(1)? as u64),
                dead_lettered: row.try_get::<i64, _>(2)? as u64,
                fence: row.try_get::<i64, _>(3)? as u64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A move under an older lease than the stored one fails; a move without
    /// leases neither checks nor changes the fence.
    #[tokio::test]
    async fn a_checkpoint_moved_under_a_newer_lease_refuses_an_older_one() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let db = crate::Database::connect(
            &crate::Secret::new(format!("sqlite://{}/cp.db?mode=rwc", dir.path().display())),
            1,
        )
        .await
        .expect("database");
        db.migrate(&crate::projection::RUNTIME_MIGRATIONS)
            .await
            .expect("migrate");
        let at = |position: u64, fence: u64| Checkpoint {
            name: "p".into(),
            position: Position(position),
            dead_lettered: 0,
            fence,
        };
        let start = load(&db.pool, "p").await.expect("load");
        assert_eq!(start, at(0, 0));
        let mut conn = db.pool.acquire().await.expect("connection");
        assert!(advance(&mut conn, &start, &at(10, 7)).await.expect("move"));
        assert!(
            !advance(&mut conn, &at(10, 7), &at(20, 5))
                .await
                .expect("move"),
            "a holder whose lease was taken over moved the checkpoint"
        );
        assert!(
            advance(&mut conn, &at(10, 7), &at(20, 9))
                .await
                .expect("move")
        );
        assert!(
            advance(&mut conn, &at(20, 9), &at(30, 0))
                .await
                .expect("move")
        );
        drop(conn);
        assert_eq!(load(&db.pool, "p").await.expect("load"), at(30, 9));
    }
}
