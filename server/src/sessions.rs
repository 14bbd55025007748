//! Database-backed sessions: tower-sessions over the same sqlx pool as
//! sea-orm, in the `sessions` table created by our migrations.
//!
//! On SQLite the store also keeps the records it has read or written in
//! memory. SQLite means one server process (the embedded default), and every
//! write goes through this store, so the cache is exact: only loads fill it,
//! every write empties the entry (before and after the database write), and
//! a load that raced a write does not store what it read (a write counter
//! moved meanwhile) — so a logout is never undone by a concurrent page view. It spares every page view a database round
//! trip (a thread hop in sqlx's SQLite driver). On PostgreSQL, where several
//! nodes may share the table, every load goes to the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Live sessions kept in memory at most; past it, expired ones are dropped
/// and, if still full, the cache starts over (it only ever costs a reload).
const CACHE_MAX: usize = 50_000;

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[derive(Debug, Default)]
struct Cache {
    records: HashMap<Id, Record>,
    /// Bumped by every write: a load keeps what it read only if no write
    /// happened while it was reading.
    writes: u64,
}

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    backend: Backend,
    cache: Option<Arc<Mutex<Cache>>>,
}

impl DbSessionStore {
    pub fn new(db: &DatabaseConnection) -> Result<Self, String> {
        Ok(match db.get_database_backend() {
            DbBackend::Postgres => DbSessionStore {
                backend: Backend::Postgres(
                    PostgresStore::new(db.get_postgres_connection_pool().clone())
                        .with_schema_name("public")?
                        .with_table_name("sessions")?,
                ),
                cache: None,
            },
            _ => DbSessionStore {
                backend: Backend::Sqlite(
                    SqliteStore::new(db.get_sqlite_connection_pool().clone()).with_table_name("sessions")?,
                ),
                cache: Some(Arc::default()),
            },
        })
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Cache>> {
        self.cache.as_ref().map(|c| c.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A live cached record, or the write count to hand to [`Self::remember`].
    fn cached(&self, id: &Id) -> Result<Record, Option<u64>> {
        let Some(cache) = self.lock() else { return Err(None) };
        match cache.records.get(id).filter(|r| r.expiry_date > OffsetDateTime::now_utc()) {
            Some(r) => Ok(r.clone()),
            None => Err(Some(cache.writes)),
        }
    }

    /// Keeps `record`, read when the write count was `writes`, unless a
    /// write has happened since.
    fn remember(&self, writes: u64, record: &Record) {
        let Some(mut cache) = self.lock() else { return };
        if cache.writes != writes {
            return;
        }
        if cache.records.len() >= CACHE_MAX && !cache.records.contains_key(&record.id) {
            let now = OffsetDateTime::now_utc();
            cache.records.retain(|_, r| r.expiry_date > now);
            if cache.records.len() >= CACHE_MAX {
                cache.records.clear();
            }
        }
        cache.records.insert(record.id, record.clone());
    }

    fn forget(&self, id: &Id) {
        if let Some(mut cache) = self.lock() {
            cache.records.remove(id);
            cache.writes += 1;
        }
    }

    /// Ends every session whose `key` holds `value` (all of a user's
    /// sessions, when the account's credentials changed hands), and says how
    /// many. The rows are opaque MessagePack, so this reads them all: it runs
    /// on rare security events, never per request.
    pub async fn end_sessions_where(
        &self,
        db: &DatabaseConnection,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<usize, String> {
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT data FROM sessions",
            ))
            .await
            .map_err(|e| e.to_string())?;
        let mut ended = 0;
        for row in rows {
            let data: Vec<u8> = row.try_get("", "data").map_err(|e| e.to_string())?;
            // A row this version cannot read is nobody's session to end.
            let Ok(record) = rmp_serde::from_slice::<Record>(&data) else { continue };
            if record.data.get(key) == Some(value) {
                self.delete(&record.id).await.map_err(|e| e.to_string())?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    #[cfg(test)]
    fn cached_len(&self) -> usize {
        self.lock().map_or(0, |c| c.records.len())
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let res = match &self.backend {
            Backend::Sqlite(s) => s.create(record).await,
            Backend::Postgres(s) => s.create(record).await,
        };
        self.forget(&record.id);
        res
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.forget(&record.id);
        let res = match &self.backend {
            Backend::Sqlite(s) => s.save(record).await,
            Backend::Postgres(s) => s.save(record).await,
        };
        self.forget(&record.id);
        res
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let writes = match self.cached(id) {
            Ok(hit) => return Ok(Some(hit)),
            Err(writes) => writes,
        };
        let loaded = match &self.backend {
            Backend::Sqlite(s) => s.load(id).await?,
            Backend::Postgres(s) => s.load(id).await?,
        };
        if let (Some(writes), Some(r)) = (writes, &loaded) {
            self.remember(writes, r);
        }
        Ok(loaded)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        let res = match &self.backend {
            Backend::Sqlite(s) => s.delete(id).await,
            Backend::Postgres(s) => s.delete(id).await,
        };
        self.forget(id);
        // A logout (or a new id at sign-in, or every session of an account
        // ended): streams opened with this session end now (`stream_guard`).
        services::authz::access_changed();
        res
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        if let Some(mut cache) = self.lock() {
            let now = OffsetDateTime::now_utc();
            cache.records.retain(|_, r| r.expiry_date > now);
        }
        match &self.backend {
            Backend::Sqlite(s) => s.delete_expired().await,
            Backend::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    async fn store() -> (DbSessionStore, DatabaseConnection, tempdir::Dir) {
        let dir = tempdir::Dir::new();
        let db =
            services::db::connect_and_migrate(&format!("sqlite://{}/s.db", dir.0.display())).await.unwrap();
        (DbSessionStore::new(&db).unwrap(), db, dir)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!("handoo-sess-{}", uuid::Uuid::now_v7()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn record(minutes: i64) -> Record {
        let mut data = HashMap::new();
        data.insert("uid".to_string(), serde_json::json!("someone"));
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
        }
    }

    #[tokio::test]
    async fn cache_follows_every_write_and_never_serves_a_deleted_or_expired_session() {
        let (store, db, _dir) = store().await;
        let mut r = record(10);
        store.create(&mut r).await.unwrap();
        assert_eq!(store.load(&r.id).await.unwrap(), Some(r.clone()));

        // A save is visible at once.
        r.data.insert("uid".into(), serde_json::json!("someone else"));
        store.save(&r).await.unwrap();
        assert_eq!(store.load(&r.id).await.unwrap().unwrap().data["uid"], "someone else");

        // Served from memory: the row is gone from the table behind the store's back…
        db.execute_unprepared("DELETE FROM sessions").await.unwrap();
        assert!(store.load(&r.id).await.unwrap().is_some(), "cache hit");
        // …but a delete through the store (logout) is never answered from memory.
        store.delete(&r.id).await.unwrap();
        assert_eq!(store.load(&r.id).await.unwrap(), None);
        assert_eq!(store.cached_len(), 0);

        // An expired record is not served, even from memory.
        let mut old = record(10);
        store.create(&mut old).await.unwrap();
        old.expiry_date = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        let writes = store.cached(&old.id).unwrap_err().unwrap();
        store.remember(writes, &old);
        db.execute_unprepared("DELETE FROM sessions").await.unwrap();
        assert_eq!(store.load(&old.id).await.unwrap(), None);
        store.delete_expired().await.unwrap();
        assert_eq!(store.cached_len(), 0);
    }

    #[tokio::test]
    async fn a_load_that_raced_a_logout_does_not_cache_what_it_read() {
        let (store, _db, _dir) = store().await;
        let mut r = record(10);
        store.create(&mut r).await.unwrap();
        // A page view missed the cache and read the row…
        let writes = store.cached(&r.id).unwrap_err().unwrap();
        // …while the same session logged out…
        store.delete(&r.id).await.unwrap();
        // …so what it read is not kept.
        store.remember(writes, &r);
        assert_eq!(store.cached_len(), 0);
        assert_eq!(store.load(&r.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn ending_a_users_sessions_spares_everyone_else() {
        let (store, db, _dir) = store().await;
        let (mut mine, mut mine_too, mut theirs) = (record(10), record(10), record(10));
        for (r, uid) in [(&mut mine, "me"), (&mut mine_too, "me"), (&mut theirs, "them")] {
            r.data.insert("uid".into(), serde_json::json!(uid));
            store.create(r).await.unwrap();
            store.load(&r.id).await.unwrap(); // cached: the end must reach memory too
        }
        let ended = store.end_sessions_where(&db, "uid", &serde_json::json!("me")).await.unwrap();
        assert_eq!(ended, 2);
        assert_eq!(store.load(&mine.id).await.unwrap(), None);
        assert_eq!(store.load(&mine_too.id).await.unwrap(), None);
        assert_eq!(store.load(&theirs.id).await.unwrap(), Some(theirs));
    }

    #[tokio::test]
    async fn a_cold_cache_reads_the_database() {
        let (store, db, _dir) = store().await;
        let mut r = record(10);
        store.create(&mut r).await.unwrap();
        // Another store over the same database (a restart) finds the session.
        let fresh = DbSessionStore::new(&db).unwrap();
        assert_eq!(fresh.load(&r.id).await.unwrap(), Some(r));
    }
}
