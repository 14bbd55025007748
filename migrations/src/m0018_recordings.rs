//! Call recordings.
//!
//! - `recording_settings`: one row per organisation — whether its calls are
//!   recorded by default and the S3-compatible bucket LiveKit's egress
//!   writes them to (the secret key sealed, bound to the organisation), with
//!   the last bucket check.
//! - `calls.recording_egress_id`, `recording_status` (`recording`, `ready`,
//!   `failed`), `recording_error`: where a call's recording stands; the
//!   object key and duration were already there (m0016).

use sea_orm_migration::prelude::*;

use crate::cols::{org_fk, ts, ts_null, user_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RecordingSettings {
    Table,
    OrgId,
    RecordCalls,
    Endpoint,
    Region,
    Bucket,
    PathStyle,
    AccessKey,
    SecretCiphertext,
    SecretHint,
    LastTestedAt,
    LastTestOk,
    LastTestLatencyMs,
    LastTestError,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use RecordingSettings as R;
        m.create_table(
            Table::create()
                .table(R::Table)
                .col(ColumnDef::new(R::OrgId).uuid().not_null().primary_key())
                .col(ColumnDef::new(R::RecordCalls).boolean().not_null().default(false))
                .col(ColumnDef::new(R::Endpoint).string_len(500).null())
                .col(ColumnDef::new(R::Region).string_len(64).null())
                .col(ColumnDef::new(R::Bucket).string_len(63).null())
                .col(ColumnDef::new(R::PathStyle).boolean().not_null().default(true))
                .col(ColumnDef::new(R::AccessKey).string_len(200).null())
                .col(ColumnDef::new(R::SecretCiphertext).text().null())
                .col(ColumnDef::new(R::SecretHint).string_len(16).null())
                .col(ts_null(R::LastTestedAt))
                .col(ColumnDef::new(R::LastTestOk).boolean().null())
                .col(ColumnDef::new(R::LastTestLatencyMs).integer().null())
                .col(ColumnDef::new(R::LastTestError).string_len(500).null())
                .col(ColumnDef::new(R::UpdatedBy).uuid().null())
                .col(ts(R::UpdatedAt))
                .foreign_key(&mut org_fk("fk_recording_settings_org", R::Table, R::OrgId))
                .foreign_key(&mut user_fk("fk_recording_settings_updated_by", R::Table, R::UpdatedBy))
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            ColumnDef::new(Alias::new("recording_egress_id")).string_len(64).null().to_owned(),
            ColumnDef::new(Alias::new("recording_status")).string_len(16).null().to_owned(),
            ColumnDef::new(Alias::new("recording_error")).string_len(500).null().to_owned(),
        ] {
            let mut col = col;
            m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut col).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
