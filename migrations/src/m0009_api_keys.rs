//! API keys: an organisation's integrations authenticate with a bearer key
//! instead of a session. Only the key's SHA-256 is stored (a key is 256
//! random bits, so a slow hash buys nothing); the short prefix is what people
//! recognise a key by. Usage is counted per key and day, written in batches.
//!
//! Audit rows, timeline entries and notes also learn to record an actor that
//! is not a person: the API key or the named system job that acted.

use sea_orm_migration::prelude::*;

use crate::cols::{index, org_fk, text, ts, ts_null, user_fk, uuid_col, uuid_pk};

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrgId,
    Name,
    Prefix,
    SecretHash,
    Role,
    Permissions,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RequestCount,
    RevokedAt,
    RevokedBy,
}

#[derive(DeriveIden)]
enum ApiKeyUsage {
    Table,
    KeyId,
    Day,
    Requests,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(uuid_pk(ApiKeys::Id))
                .col(uuid_col(ApiKeys::OrgId))
                .col(text(ApiKeys::Name, 80))
                .col(text(ApiKeys::Prefix, 16))
                .col(text(ApiKeys::SecretHash, 64))
                .col(text(ApiKeys::Role, 16))
                .col(ColumnDef::new(ApiKeys::Permissions).json().not_null())
                .col(ColumnDef::new(ApiKeys::CreatedBy).uuid().null())
                .col(ts(ApiKeys::CreatedAt))
                .col(ts_null(ApiKeys::LastUsedAt))
                .col(ColumnDef::new(ApiKeys::RequestCount).big_integer().not_null().default(0))
                .col(ts_null(ApiKeys::RevokedAt))
                .col(ColumnDef::new(ApiKeys::RevokedBy).uuid().null())
                .foreign_key(&mut org_fk("fk_api_keys_org", ApiKeys::Table, ApiKeys::OrgId))
                .foreign_key(&mut user_fk("fk_api_keys_created_by", ApiKeys::Table, ApiKeys::CreatedBy))
                .foreign_key(&mut user_fk("fk_api_keys_revoked_by", ApiKeys::Table, ApiKeys::RevokedBy))
                .to_owned(),
        )
        .await?;
        crate::cols::unique_index(m, "ux_api_keys_prefix", ApiKeys::Table, &["prefix"]).await?;
        index(m, "ix_api_keys_org", ApiKeys::Table, &["org_id", "created_at"]).await?;

        m.create_table(
            Table::create()
                .table(ApiKeyUsage::Table)
                .col(uuid_col(ApiKeyUsage::KeyId))
                .col(text(ApiKeyUsage::Day, 10))
                .col(ColumnDef::new(ApiKeyUsage::Requests).big_integer().not_null().default(0))
                .primary_key(Index::create().col(ApiKeyUsage::KeyId).col(ApiKeyUsage::Day))
                .foreign_key(&mut crate::cols::fk(
                    "fk_api_key_usage_key",
                    (ApiKeyUsage::Table, ApiKeyUsage::KeyId),
                    (ApiKeys::Table, ApiKeys::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        // SQLite alters one column per statement.
        for table in ["audit_log", "prospect_activities", "prospect_notes"] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(ColumnDef::new(Alias::new("actor_api_key_id")).uuid().null())
                    .to_owned(),
            )
            .await?;
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(ColumnDef::new(Alias::new("actor_system")).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
