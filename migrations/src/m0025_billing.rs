//! Billing with Polar.
//!
//! - `billing_accounts`: an organisation's Polar customer (Polar knows the
//!   organisation by its id as the customer's external id).
//! - `subscriptions`: one row per Polar subscription, its state as last
//!   heard (a webhook or the nightly reconciliation) and Polar's
//!   `modified_at`, so an older update arriving late is ignored. The
//!   organisation's plan is the best of its rows.
//! - `webhook_receipts`: the `webhook-id`s processed, so a webhook Polar
//!   delivers twice is applied once (inserted in the same transaction as
//!   its effect).
//! - `usage_records`: what a call or a playground turn used — call
//!   seconds, model tokens, speech seconds and characters — one row per
//!   source (a second report of the same call changes nothing), with when
//!   it was reported to Polar (null: not yet; the reporting job reads them
//!   through a partial index).
//!
//! Money is integer minor units beside its currency.

use sea_orm_migration::prelude::*;

use crate::cols::{fk, index, org_fk, text, ts, ts_null, unique_index, uuid_col, uuid_pk};

#[derive(DeriveIden)]
enum BillingAccounts {
    Table,
    OrgId,
    PolarCustomerId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    OrgId,
    PolarId,
    Status,
    PlanId,
    PlanName,
    AmountMinor,
    Currency,
    Interval,
    CurrentPeriodStart,
    CurrentPeriodEnd,
    CancelAtPeriodEnd,
    PolarModifiedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookReceipts {
    Table,
    Id,
    Source,
    EventType,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum UsageRecords {
    Table,
    Id,
    OrgId,
    Source,
    SourceId,
    AgentId,
    AgentKind,
    ApiKeyId,
    Model,
    CallSeconds,
    LlmInputTokens,
    LlmOutputTokens,
    SttSeconds,
    TtsCharacters,
    OccurredAt,
    ReportedAt,
}

fn count(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().default(0).to_owned()
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BillingAccounts::Table)
                .col(uuid_pk(BillingAccounts::OrgId))
                .col(ColumnDef::new(BillingAccounts::PolarCustomerId).string_len(64).null())
                .col(ts(BillingAccounts::CreatedAt))
                .col(ts(BillingAccounts::UpdatedAt))
                .foreign_key(&mut org_fk(
                    "fk_billing_accounts_org",
                    BillingAccounts::Table,
                    BillingAccounts::OrgId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Subscriptions::Table)
                .col(uuid_pk(Subscriptions::Id))
                .col(uuid_col(Subscriptions::OrgId))
                .col(text(Subscriptions::PolarId, 64))
                .col(text(Subscriptions::Status, 16))
                .col(text(Subscriptions::PlanId, 64))
                .col(text(Subscriptions::PlanName, 200))
                .col(ColumnDef::new(Subscriptions::AmountMinor).big_integer().not_null())
                .col(text(Subscriptions::Currency, 3))
                .col(text(Subscriptions::Interval, 8))
                .col(ts_null(Subscriptions::CurrentPeriodStart))
                .col(ts_null(Subscriptions::CurrentPeriodEnd))
                .col(ColumnDef::new(Subscriptions::CancelAtPeriodEnd).boolean().not_null().default(false))
                .col(ts(Subscriptions::PolarModifiedAt))
                .col(ts(Subscriptions::CreatedAt))
                .col(ts(Subscriptions::UpdatedAt))
                .foreign_key(&mut org_fk("fk_subscriptions_org", Subscriptions::Table, Subscriptions::OrgId))
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_subscriptions_polar", Subscriptions::Table, &["polar_id"]).await?;
        index(m, "ix_subscriptions_org", Subscriptions::Table, &["org_id"]).await?;

        m.create_table(
            Table::create()
                .table(WebhookReceipts::Table)
                .col(ColumnDef::new(WebhookReceipts::Id).string_len(255).not_null().primary_key())
                .col(text(WebhookReceipts::Source, 16))
                .col(text(WebhookReceipts::EventType, 64))
                .col(ts(WebhookReceipts::ReceivedAt))
                .to_owned(),
        )
        .await?;
        index(m, "ix_webhook_receipts_received", WebhookReceipts::Table, &["received_at"]).await?;

        m.create_table(
            Table::create()
                .table(UsageRecords::Table)
                .col(uuid_pk(UsageRecords::Id))
                .col(uuid_col(UsageRecords::OrgId))
                .col(text(UsageRecords::Source, 16))
                .col(uuid_col(UsageRecords::SourceId))
                .col(ColumnDef::new(UsageRecords::AgentId).uuid().null())
                .col(ColumnDef::new(UsageRecords::AgentKind).string_len(8).null())
                .col(ColumnDef::new(UsageRecords::ApiKeyId).uuid().null())
                .col(ColumnDef::new(UsageRecords::Model).string_len(200).null())
                .col(count(UsageRecords::CallSeconds))
                .col(count(UsageRecords::LlmInputTokens))
                .col(count(UsageRecords::LlmOutputTokens))
                .col(count(UsageRecords::SttSeconds))
                .col(count(UsageRecords::TtsCharacters))
                .col(ts(UsageRecords::OccurredAt))
                .col(ts_null(UsageRecords::ReportedAt))
                .foreign_key(&mut org_fk("fk_usage_records_org", UsageRecords::Table, UsageRecords::OrgId))
                .foreign_key(&mut fk(
                    "fk_usage_records_agent",
                    (UsageRecords::Table, UsageRecords::AgentId),
                    (Alias::new("agents"), Alias::new("id")),
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut fk(
                    "fk_usage_records_key",
                    (UsageRecords::Table, UsageRecords::ApiKeyId),
                    (Alias::new("api_keys"), Alias::new("id")),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_usage_records_source", UsageRecords::Table, &["source", "source_id"]).await?;
        index(m, "ix_usage_records_org_at", UsageRecords::Table, &["org_id", "occurred_at"]).await?;
        // Both backends take a partial index in this form.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_usage_records_unreported ON usage_records (id) WHERE reported_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
