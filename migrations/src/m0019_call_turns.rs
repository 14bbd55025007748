//! What was said on a call, and what the agent collected.
//!
//! - `call_turns`: one row per turn (who spoke, the words, when within the
//!   call, whether it was cut off), written by the voice worker as the call
//!   goes — numbered per call, so a turn sent twice (a retry after a lost
//!   answer) is stored once (`ux_call_turns_seq`).
//! - `calls.collected_data`: the values the agent gathered, checked against
//!   its data schema (JSON object; absent until the first value).

use sea_orm_migration::prelude::*;

use crate::cols::{fk, org_fk, ts, unique_index, uuid_col, uuid_pk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CallTurns {
    Table,
    Id,
    CallId,
    OrgId,
    Seq,
    Speaker,
    Text,
    StartMs,
    EndMs,
    Interrupted,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use CallTurns as T;
        m.create_table(
            Table::create()
                .table(T::Table)
                .col(uuid_pk(T::Id))
                .col(uuid_col(T::CallId))
                .col(uuid_col(T::OrgId))
                .col(ColumnDef::new(T::Seq).integer().not_null())
                .col(ColumnDef::new(T::Speaker).string_len(16).not_null())
                .col(ColumnDef::new(T::Text).text().not_null())
                .col(ColumnDef::new(T::StartMs).big_integer().not_null())
                .col(ColumnDef::new(T::EndMs).big_integer().not_null())
                .col(ColumnDef::new(T::Interrupted).boolean().not_null().default(false))
                .col(ts(T::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_call_turns_call",
                    (T::Table, T::CallId),
                    (Alias::new("calls"), Alias::new("id")),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut org_fk("fk_call_turns_org", T::Table, T::OrgId))
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_call_turns_seq", T::Table, &["call_id", "seq"]).await?;
        let mut col = ColumnDef::new(Alias::new("collected_data")).json().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut col).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
