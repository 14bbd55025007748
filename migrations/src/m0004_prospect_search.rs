//! A trigram full-text index over `prospects.search_text` for SQLite (FTS5,
//! external content, kept in step by triggers). PostgreSQL already has its
//! pg_trgm GIN index from m0003.
//!
//! The index only narrows a search to candidate rows; the list query still
//! applies the exact substring conditions, so the index can never add a
//! wrong row. It is keyed by the table's implicit rowid, which only
//! `VACUUM` renumbers: after a manual VACUUM run
//! `INSERT INTO prospects_fts(prospects_fts) VALUES('rebuild')`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = m.get_connection();
        for sql in [
            // detail='none': LIKE '%…%' needs no token positions (matches
            // are re-checked against the text); the index stays small.
            "CREATE VIRTUAL TABLE prospects_fts USING fts5(search_text, content='prospects', \
             content_rowid='rowid', tokenize='trigram', detail='none')",
            "CREATE TRIGGER prospects_fts_ai AFTER INSERT ON prospects BEGIN \
             INSERT INTO prospects_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
            "CREATE TRIGGER prospects_fts_ad AFTER DELETE ON prospects BEGIN \
             INSERT INTO prospects_fts(prospects_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
            "CREATE TRIGGER prospects_fts_au AFTER UPDATE OF search_text ON prospects BEGIN \
             INSERT INTO prospects_fts(prospects_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); \
             INSERT INTO prospects_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
            "INSERT INTO prospects_fts(prospects_fts) VALUES ('rebuild')",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
