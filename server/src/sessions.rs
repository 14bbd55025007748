//! Database-backed sessions: tower-sessions over the same sqlx pool as
//! sea-orm, in the `sessions` table created by our migrations.
//!
//! On SQLite the store also keeps the records it has read or written in
//! memory. SQLite means one server process (the embedded default), and every
//! write goes through this store, so the cache is exact: a logout deletes
//! the entry before it answers. It spares every page view a database round
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

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    backend: Backend,
    cache: Option<Arc<Mutex<HashMap<Id, Record>>>>,
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

    fn cached(&self, id: &Id) -> Option<Record> {
        let cache = self.cache.as_ref()?.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(id).filter(|r| r.expiry_date > OffsetDateTime::now_utc()).cloned()
    }

    fn remember(&self, record: &Record) {
        let Some(cache) = &self.cache else { return };
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_MAX && !cache.contains_key(&record.id) {
            let now = OffsetDateTime::now_utc();
            cache.retain(|_, r| r.expiry_date > now);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(record.id, record.clone());
    }

    fn forget(&self, id: &Id) {
        if let Some(cache) = &self.cache {
            cache.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        }
    }

    #[cfg(test)]
    fn cached_len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.lock().unwrap().len())
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.create(record).await?,
            Backend::Postgres(s) => s.create(record).await?,
        }
        self.remember(record);
        Ok(())
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Forget first: if the write fails, the next load reads the database.
        self.forget(&record.id);
        match &self.backend {
            Backend::Sqlite(s) => s.save(record).await?,
            Backend::Postgres(s) => s.save(record).await?,
        }
        self.remember(record);
        Ok(())
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(hit) = self.cached(id) {
            return Ok(Some(hit));
        }
        let loaded = match &self.backend {
            Backend::Sqlite(s) => s.load(id).await?,
            Backend::Postgres(s) => s.load(id).await?,
        };
        if let Some(r) = &loaded {
            self.remember(r);
        }
        Ok(loaded)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        match &self.backend {
            Backend::Sqlite(s) => s.delete(id).await,
            Backend::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        if let Some(cache) = &self.cache {
            let now = OffsetDateTime::now_utc();
            cache.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, r| r.expiry_date > now);
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
        store.remember(&old);
        db.execute_unprepared("DELETE FROM sessions").await.unwrap();
        assert_eq!(store.load(&old.id).await.unwrap(), None);
        store.delete_expired().await.unwrap();
        assert_eq!(store.cached_len(), 0);
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
