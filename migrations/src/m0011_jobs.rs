//! The durable job queue (`services::jobs`): one row per job, claimed with a
//! lease that the running node renews; a lease left to expire is taken over.

use sea_orm_migration::prelude::*;

use crate::cols::{index, text, ts, ts_null, uuid_pk};

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    OrgId,
    Payload,
    State,
    RunAt,
    Attempts,
    MaxAttempts,
    LastError,
    Progress,
    LeaseOwner,
    LeaseExpiresAt,
    HeartbeatAt,
    DedupeKey,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(uuid_pk(Jobs::Id))
                .col(text(Jobs::Kind, 64))
                .col(ColumnDef::new(Jobs::OrgId).uuid().null())
                .col(ColumnDef::new(Jobs::Payload).json().not_null())
                .col(text(Jobs::State, 16))
                .col(ts(Jobs::RunAt))
                .col(ColumnDef::new(Jobs::Attempts).integer().not_null().default(0))
                .col(ColumnDef::new(Jobs::MaxAttempts).integer().not_null().default(5))
                .col(ColumnDef::new(Jobs::LastError).text().null())
                .col(ColumnDef::new(Jobs::Progress).json().null())
                .col(ColumnDef::new(Jobs::LeaseOwner).string_len(128).null())
                .col(ts_null(Jobs::LeaseExpiresAt))
                .col(ts_null(Jobs::HeartbeatAt))
                .col(ColumnDef::new(Jobs::DedupeKey).string_len(200).null())
                .col(ts(Jobs::CreatedAt))
                .col(ts(Jobs::UpdatedAt))
                .col(ts_null(Jobs::FinishedAt))
                .foreign_key(&mut crate::cols::org_fk("fk_jobs_org", Jobs::Table, Jobs::OrgId))
                .to_owned(),
        )
        .await?;
        index(m, "ix_jobs_due", Jobs::Table, &["state", "run_at"]).await?;
        index(m, "ix_jobs_org", Jobs::Table, &["org_id", "kind"]).await?;
        crate::cols::unique_index(m, "ux_jobs_dedupe", Jobs::Table, &["dedupe_key"]).await
    }
}
