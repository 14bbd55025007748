//! Indexes for every sortable column of the prospect list, so that a page of
//! a million-row organisation is read by walking an index and stopping after
//! it, whatever the sort (m0004 covered five of the nine):
//!
//! - title and time zone: `(org_id, <column>, id)` as in m0004;
//! - phone and email: the duplicate-lookup indexes `(org_id, phone)` and
//!   `(org_id, email)` gain the `id` tie-break and serve both (the list reads
//!   the prospects that have a value through them, then those without);
//! - status sorts in pipeline order, an expression: indexed as that
//!   expression, [`STATUS_RANK_SQL`], which the list query must spell the
//!   same way (a test in `services` compares them);
//! - the do-not-call filter: those prospects are few, and without an index
//!   finding none of them read the whole table. A partial index holds only
//!   them; the list spells its condition as [`DNC_SQL`] (a literal, not a
//!   bound parameter) so that both databases can prove the index applies.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::cols::index;

/// A status's place in the pipeline, as the list's `ORDER BY` writes it.
pub const STATUS_RANK_SQL: &str = "CASE status WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'interested' THEN 2 \
     WHEN 'meeting_scheduled' THEN 3 WHEN 'callback_scheduled' THEN 4 WHEN 'not_interested' THEN 5 ELSE 99 END";

/// The condition of the partial do-not-call index, as the list writes it.
pub const DNC_SQL: &str = "do_not_call = TRUE";

#[derive(DeriveIden)]
enum Prospects {
    Table,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for old in ["ix_prospect_org_phone", "ix_prospect_org_email"] {
            m.drop_index(Index::drop().name(old).table(Prospects::Table).to_owned()).await?;
        }
        for col in ["phone", "email", "title", "timezone"] {
            index(m, &format!("ix_prospect_org_{col}_id"), Prospects::Table, &["org_id", col, "id"]).await?;
        }
        // Same statements on both databases: an expression column in
        // parentheses; a partial index.
        let db = m.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_prospect_org_status_rank_id ON prospects (org_id, ({STATUS_RANK_SQL}), id)"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_prospect_org_dnc ON prospects (org_id, created_at, id) WHERE {DNC_SQL}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
