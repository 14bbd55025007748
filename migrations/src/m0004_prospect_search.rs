//! Indexes for the prospect list at scale.
//!
//! 1. Every sortable column gets an `(org_id, <column>, id)` index: the list
//!    orders by the column then `id` (a stable tie-break), and only an index
//!    ending in `id` lets the database walk it and stop after one page
//!    instead of sorting every match (SQLite: 40 ms for a broad search over
//!    100,000 rows, a few ms with it).
//! 2. A trigram full-text index over `prospects.search_text` for SQLite (FTS5,
//!    external content, kept in step by triggers). PostgreSQL already has its
//!    pg_trgm GIN index from m0003.
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
        // (org_id, status) and (org_id, created_at) are superseded by the
        // `…, id` versions below (which also serve their equality lookups).
        for old in ["ix_prospect_org_created", "ix_prospect_org_status"] {
            m.drop_index(Index::drop().name(old).table(Alias::new("prospects")).to_owned()).await?;
        }
        for col in ["created_at", "updated_at", "last_name", "company", "status"] {
            m.create_index(
                Index::create()
                    .name(format!("ix_prospect_org_{col}_id"))
                    .table(Alias::new("prospects"))
                    .col(Alias::new("org_id"))
                    .col(Alias::new(col))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await?;
        }
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
