//! Reps calling from the copilot.
//!
//! - `calls.rep_user_id`: the person on a call a rep placed from the
//!   copilot (the AI agent's calls leave it empty). Not `placed_by_user`:
//!   a member may place an AI call too; this one says a human talks.
//! - `copilot_sessions.call_id`: the phone call a copilot session follows
//!   (unique: one session per call). Practice sessions leave it empty.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut rep = ColumnDef::new(Alias::new("rep_user_id")).uuid().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut rep).to_owned()).await?;
        let mut call = ColumnDef::new(Alias::new("call_id")).uuid().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("copilot_sessions")).add_column(&mut call).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("ux_copilot_sessions_call")
                .table(Alias::new("copilot_sessions"))
                .col(Alias::new("call_id"))
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
