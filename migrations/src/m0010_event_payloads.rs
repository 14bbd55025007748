//! Event-bus payloads too large for a PostgreSQL notification (8000 bytes):
//! the notification carries the row's id and each node reads the payload
//! from here. Rows are short-lived (pruned after an hour). Created on SQLite
//! too, where the bus is in-process and never writes it, so the schema is
//! the same on both.

use sea_orm_migration::prelude::*;

use crate::cols::{ts, uuid_pk};

#[derive(DeriveIden)]
enum EventPayloads {
    Table,
    Id,
    Payload,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventPayloads::Table)
                .col(uuid_pk(EventPayloads::Id))
                .col(ColumnDef::new(EventPayloads::Payload).json().not_null())
                .col(ts(EventPayloads::CreatedAt))
                .to_owned(),
        )
        .await?;
        crate::cols::index(m, "ix_event_payloads_created", EventPayloads::Table, &["created_at"]).await
    }
}
