//! What the calls list sorts and filters on, and what a call ends with.
//!
//! - `talk_ms`: talk time, stored when the call ends (the list sorts by it;
//!   computing it from two timestamps in SQL differs between SQLite and
//!   PostgreSQL and no index could serve it).
//! - `callback_at`, `notes`: the outcome's date and notes, beside `outcome`
//!   (m0016), logged by the agent or a person on the call page.
//! - Indexes for the sort by talk time and the filter by agent, each after
//!   the organisation as every list query is.

use sea_orm_migration::prelude::*;

use crate::cols::{index, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            ColumnDef::new(Alias::new("talk_ms")).big_integer().null().to_owned(),
            ts_null(Alias::new("callback_at")),
            ColumnDef::new(Alias::new("notes")).text().not_null().default("").to_owned(),
        ] {
            let mut col = col;
            m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut col).to_owned()).await?;
        }
        index(m, "ix_calls_org_talk", Alias::new("calls"), &["org_id", "talk_ms", "id"]).await?;
        index(m, "ix_calls_org_agent", Alias::new("calls"), &["org_id", "agent_id", "created_at"]).await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
