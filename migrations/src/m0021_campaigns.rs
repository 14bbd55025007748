//! Campaigns: a manager's batch of prospects that an AI voice agent dials
//! inside calling windows, with retries and a concurrency limit.
//!
//! - `campaigns`: the settings (`domain::campaign::CampaignSettings`; the
//!   windows, zone rule and retry policy as JSON, read whole), the
//!   lifecycle `status`, why it was paused (a manager, or the circuit
//!   breaker with its figures), `version` for stale-save detection, and
//!   `wake_at` — when the dialer next has something to do (the next
//!   retry, or the next calling window), so an idle campaign sleeps.
//! - `campaign_prospects`: one row per prospect in a campaign (unique), its
//!   `state` (`queued`, `dialing`, `done`, `skipped`), attempts used, when
//!   it is next due, the last dial's result and call, why it was skipped,
//!   and the per-prospect variables passed to the agent. The dialer picks
//!   due rows by `(campaign_id, state, next_attempt_at)`.
//! - `calls.campaign_id`: the call rows are the attempts. A call row is
//!   written before its dial goes out, together with the prospect's move to
//!   `dialing`, in one transaction: a crash loses no attempt and repeats
//!   none.

use sea_orm_migration::prelude::*;

use crate::cols::{index, org_fk, text, ts, ts_null, unique_index, user_fk, uuid_col, uuid_pk};

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    OrgId,
    Name,
    /// `draft`, `active`, `paused`, `completed`, `archived`.
    Status,
    AgentId,
    ScriptId,
    TrunkId,
    FromNumber,
    StartsAt,
    EndsAt,
    Windows,
    Zone,
    Concurrency,
    Retry,
    /// JSON: `{"by": "manager"|"breaker", …}`; NULL unless paused.
    PausedReason,
    Version,
    WakeAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum CampaignProspects {
    Table,
    Id,
    CampaignId,
    OrgId,
    ProspectId,
    State,
    Attempts,
    NextAttemptAt,
    LastResult,
    LastCallId,
    SkipReason,
    Variables,
    AddedAt,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Campaigns::Table)
                .col(uuid_pk(Campaigns::Id))
                .col(uuid_col(Campaigns::OrgId))
                .col(text(Campaigns::Name, 120))
                .col(text(Campaigns::Status, 16))
                .col(uuid_col(Campaigns::AgentId))
                .col(ColumnDef::new(Campaigns::ScriptId).uuid().null())
                .col(ColumnDef::new(Campaigns::TrunkId).uuid().null())
                .col(ColumnDef::new(Campaigns::FromNumber).string_len(20).null())
                .col(ts_null(Campaigns::StartsAt))
                .col(ts_null(Campaigns::EndsAt))
                .col(ColumnDef::new(Campaigns::Windows).json().not_null())
                .col(ColumnDef::new(Campaigns::Zone).json().not_null())
                .col(ColumnDef::new(Campaigns::Concurrency).integer().not_null())
                .col(ColumnDef::new(Campaigns::Retry).json().not_null())
                .col(ColumnDef::new(Campaigns::PausedReason).json().null())
                .col(ColumnDef::new(Campaigns::Version).integer().not_null().default(1))
                .col(ts_null(Campaigns::WakeAt))
                .col(ColumnDef::new(Campaigns::CreatedBy).uuid().null())
                .col(ts(Campaigns::CreatedAt))
                .col(ts(Campaigns::UpdatedAt))
                .col(ts_null(Campaigns::StartedAt))
                .col(ts_null(Campaigns::CompletedAt))
                .foreign_key(&mut org_fk("fk_campaigns_org", Campaigns::Table, Campaigns::OrgId))
                .foreign_key(&mut user_fk("fk_campaigns_created_by", Campaigns::Table, Campaigns::CreatedBy))
                .to_owned(),
        )
        .await?;
        index(m, "ix_campaigns_org_status", Campaigns::Table, &["org_id", "status"]).await?;
        // The dialer's sweep: active campaigns with something due.
        index(m, "ix_campaigns_wake", Campaigns::Table, &["status", "wake_at"]).await?;

        m.create_table(
            Table::create()
                .table(CampaignProspects::Table)
                .col(uuid_pk(CampaignProspects::Id))
                .col(uuid_col(CampaignProspects::CampaignId))
                .col(uuid_col(CampaignProspects::OrgId))
                .col(uuid_col(CampaignProspects::ProspectId))
                .col(text(CampaignProspects::State, 16))
                .col(ColumnDef::new(CampaignProspects::Attempts).integer().not_null().default(0))
                .col(ts_null(CampaignProspects::NextAttemptAt))
                .col(ColumnDef::new(CampaignProspects::LastResult).string_len(16).null())
                .col(ColumnDef::new(CampaignProspects::LastCallId).uuid().null())
                .col(ColumnDef::new(CampaignProspects::SkipReason).string_len(40).null())
                .col(ColumnDef::new(CampaignProspects::Variables).json().not_null())
                .col(ts(CampaignProspects::AddedAt))
                .col(ts(CampaignProspects::UpdatedAt))
                .foreign_key(
                    &mut ForeignKey::create()
                        .name("fk_campaign_prospects_campaign")
                        .from(CampaignProspects::Table, CampaignProspects::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(&mut org_fk(
                    "fk_campaign_prospects_org",
                    CampaignProspects::Table,
                    CampaignProspects::OrgId,
                ))
                .foreign_key(
                    &mut ForeignKey::create()
                        .name("fk_campaign_prospects_prospect")
                        .from(CampaignProspects::Table, CampaignProspects::ProspectId)
                        .to(Alias::new("prospects"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        unique_index(
            m,
            "ux_campaign_prospects_member",
            CampaignProspects::Table,
            &["campaign_id", "prospect_id"],
        )
        .await?;
        index(
            m,
            "ix_campaign_prospects_due",
            CampaignProspects::Table,
            &["campaign_id", "state", "next_attempt_at"],
        )
        .await?;
        // "Already in an active campaign?" when adding a prospect elsewhere.
        index(m, "ix_campaign_prospects_prospect", CampaignProspects::Table, &["org_id", "prospect_id"])
            .await?;

        let mut col = ColumnDef::new(Alias::new("campaign_id")).uuid().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut col).to_owned()).await?;
        index(m, "ix_calls_campaign", Alias::new("calls"), &["campaign_id", "created_at"]).await
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
