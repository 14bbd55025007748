//! One index for prospect status instead of two.
//!
//! `(org_id, status, id)` (m0004) served the list's status filter;
//! `(org_id, <pipeline rank>, id)` (m0013) serves the status sort. The rank
//! is one-to-one with the status, so the filter is now written on the rank
//! (`<rank> IN (…)`, see `services::prospects::query::status_in`) and the
//! same index answers both. Every index costs each inserted row: on
//! PostgreSQL this one was 117 MB at a million prospects and about a tenth
//! of a large import's index work.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop().name("ix_prospect_org_status_id").table(Alias::new("prospects")).to_owned(),
        )
        .await
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
