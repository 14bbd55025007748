//! A version for each knowledge item, bumped by every content edit. Approve
//! and reject name the version the reviewer read and apply only while it is
//! still current, so an item edited while pending cannot be approved on the
//! strength of its earlier text. Existing items start at 1.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("knowledge_items"))
                .add_column(ColumnDef::new(Alias::new("version")).big_integer().not_null().default(1))
                .to_owned(),
        )
        .await
    }
}
