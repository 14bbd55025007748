//! Connecting to SQLite or PostgreSQL and bringing the schema up to date.

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    TransactionTrait,
};

/// Connects (creating the SQLite file and its directory when needed) and runs
/// every pending migration.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // A pooled SQLite connection that read the schema before a migration
        // changed it prepares against the old schema: an upsert on an index
        // the migration just added fails to prepare ("ON CONFLICT clause does
        // not match any … UNIQUE constraint") instead of being re-prepared.
        // A fresh pool reads the migrated schema.
        db.close().await?;
        return connect(url).await;
    }
    Ok(db)
}

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    if !url.starts_with("sqlite:") {
        return connect_postgres(url).await;
    }
    let mut url = url.to_string();
    ensure_sqlite_dir(&url);
    if !url.contains("mode=") {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("mode=rwc");
    }
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(8)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // sqlx pings a connection on every acquire by default, to catch one
        // a network dropped. An SQLite connection is a thread in this
        // process: nothing can drop it, and the ping is a round trip to that
        // thread (two context switches) in front of every query. (sqlx also
        // pings on release, unconditionally.)
        .test_before_acquire(false);
    // Per-connection settings must be on the connect options (a PRAGMA
    // would reach one pooled connection only). WAL lets readers run during
    // writes; busy_timeout turns lock contention into waits, not errors.
    opts.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Reads straight from the mapped file instead of a `pread`
            // into each connection's 2 MB page cache: at a million
            // prospects, counting a list's first 10,000 spent more time
            // in those system calls than in SQLite (19 ms → 10 ms).
            // 2 GiB is SQLite's default ceiling; past it, reads fall
            // back to `pread`.
            .pragma("mmap_size", "2147418112")
    });
    let db = Database::connect(opts).await?;
    Ok(db)
}

/// A pooled connection idle for longer than this is pinged before use.
const PG_IDLE_PING: Duration = Duration::from_secs(10);

/// PostgreSQL's pool, built with sqlx directly for one setting sea-orm does
/// not reach: sqlx pings every connection before handing it out (and again,
/// unconditionally, when it comes back), a round trip to the server in front
/// of each statement outside a transaction — a webhook of an ended call is
/// two such statements. Here only a connection idle for a while (the one a
/// firewall or a server restart may have dropped) is pinged first; a busy
/// one is trusted, and a broken one still fails its statement and is closed.
async fn connect_postgres(url: &str) -> Result<DatabaseConnection, DbErr> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
    let connect = url
        .parse::<PgConnectOptions>()
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(format!("database URL: {e}"))))?
        // No JIT: it compiles the expressions of any query the planner
        // costs above 100,000 — a list page walking an index with a LIMIT
        // is costed so — tens of milliseconds spent before a query that
        // then reads fifty rows.
        //
        // Plans stay PostgreSQL's default (a statement prepared once per
        // connection moves to a cached generic plan when that is no worse):
        // the call webhooks' lookups by key spent four times longer planning
        // than running when every execution was re-planned. The searches that
        // need a plan for their actual terms ask for it: [`begin_planned_read`].
        .options([("jit", "off")])
        .disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PG_IDLE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(connect)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

/// Opens a read transaction in which PostgreSQL plans every statement for
/// its actual parameters.
///
/// sqlx prepares each statement once per connection; after five runs
/// PostgreSQL may switch to a generic plan, which for `search_text LIKE $1`
/// cannot know whether the term is rare or everywhere and settled on walking
/// the whole table in sort order: 40 ms for a search that matches nothing,
/// instead of 0.1 ms through the trigram index. The prospect searches and
/// filters run in one of these (`SET LOCAL` ends with the transaction); the
/// rest of the application keeps cached plans. On SQLite it is a plain
/// transaction, which also gives the count and the page one snapshot.
pub async fn begin_planned_read<C: TransactionTrait + ConnectionTrait>(
    db: &C,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    plan_for_parameters(&txn).await?;
    Ok(txn)
}

/// The rest of the open transaction `txn` plans every statement for its
/// actual parameters (PostgreSQL; see [`begin_planned_read`]).
pub async fn plan_for_parameters(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan").await?;
    }
    Ok(())
}

/// Opens a transaction that will write.
///
/// SQLite starts every `BEGIN` as a reader and upgrades it at the first write.
/// In WAL mode that upgrade fails at once with `SQLITE_BUSY` — `busy_timeout`
/// does not apply — when another connection committed after this one's first
/// read: the snapshot is stale and waiting cannot fix it. A create that read
/// its duplicates while an import ran `ANALYZE` failed that way. Taking the
/// write lock with the first statement (what `BEGIN IMMEDIATE` does; sea-orm
/// cannot issue it) makes concurrent writers queue behind the busy timeout
/// instead. PostgreSQL needs nothing: its writers wait on row locks.
pub async fn begin_write<C: TransactionTrait + ConnectionTrait>(
    db: &C,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        // A write statement that touches no row still takes the RESERVED lock.
        txn.execute_unprepared("DELETE FROM seaql_migrations WHERE 0").await?;
    }
    Ok(txn)
}

/// [`begin_write`] for changes that must not interleave with other writers
/// of the same organisation's prospects: the duplicate checks by phone and
/// email read, then insert. SQLite's write lock already serialises them; on
/// PostgreSQL two transactions could both read "no duplicate" and both
/// insert, so they take a transaction-scoped advisory lock on the
/// organisation first (released at commit or rollback).
pub async fn begin_org_write<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    org_id: uuid::Uuid,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [org_lock_key(org_id).into()],
        ))
        .await?;
    }
    Ok(txn)
}

/// A 64-bit advisory-lock key for an organisation (both halves of the id
/// folded together: v7 ids share their leading timestamp bits).
pub(crate) fn org_lock_key(org_id: uuid::Uuid) -> i64 {
    let (hi, lo) = org_id.as_u64_pair();
    (hi ^ lo.rotate_left(17)) as i64
}

fn ensure_sqlite_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

/// Whether `e` is a unique-constraint violation (a race a caller expects
/// and reads as "someone else did it first").
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, TransactionTrait};

    use super::*;

    async fn sqlite_file() -> (DatabaseConnection, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("handoo-db-{}", crate::new_id()));
        let url = format!("sqlite://{}/t.db", dir.display());
        let db = connect_and_migrate(&url).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (n INTEGER)").await.unwrap();
        (db, dir)
    }

    /// Reads, lets another connection commit, then writes: the interleaving
    /// that made a deferred SQLite transaction fail with "database is locked".
    async fn read_then_write_while_another_commits(
        txn: DatabaseTransaction,
        db: &DatabaseConnection,
    ) -> Result<(), DbErr> {
        txn.execute_unprepared("SELECT count(*) FROM t").await?;
        let other = db.clone();
        let writer = tokio::spawn(async move { other.execute_unprepared("INSERT INTO t VALUES (2)").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        txn.execute_unprepared("INSERT INTO t VALUES (1)").await?;
        txn.commit().await?;
        writer.await.unwrap()?;
        Ok(())
    }

    #[tokio::test]
    async fn write_transactions_queue_instead_of_failing_on_sqlite() {
        let (db, dir) = sqlite_file().await;
        let txn = begin_write(&db).await.unwrap();
        read_then_write_while_another_commits(txn, &db).await.unwrap();
        let rows = db
            .query_all(sea_orm::Statement::from_string(DbBackend::Sqlite, "SELECT n FROM t ORDER BY rowid"))
            .await
            .unwrap();
        let order: Vec<i64> = rows.iter().map(|r| r.try_get_by_index(0).unwrap()).collect();
        assert_eq!(order, [1, 2], "the other writer waited for the transaction");

        // The failure this guards against, so the test proves its point.
        let plain = db.begin().await.unwrap();
        let err = read_then_write_while_another_commits(plain, &db).await.unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
