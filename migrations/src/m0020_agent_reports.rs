//! What the voice agent leaves on a call when it ends.
//!
//! - `calls.agent_report`: JSON — why the call ended, its usage (STT
//!   seconds, LLM tokens, TTS characters) for billing, and the per-turn
//!   latencies the call page's panel shows. One column, written once per
//!   call: nothing queries inside it (billing's usage rows are their own).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut col = ColumnDef::new(Alias::new("agent_report")).json().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut col).to_owned()).await
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
