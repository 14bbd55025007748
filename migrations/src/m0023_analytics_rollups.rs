//! The managers' dashboard at scale: per-day rollups of calls and copilot
//! calls, so that a range of days reads a few hundred summed rows instead
//! of every call in it.
//!
//! - `analytics_days`: one row per organisation, UTC day, kind (`ai` or
//!   `rep`) and what the dashboard filters on (agent and campaign of an AI
//!   call, the rep of a copilot call), holding sums and counts — calls,
//!   connected, answered, meetings, conversations, interested, talk
//!   seconds, the analyses' sentiment and five phase scores — from which
//!   every rate and average is derived.
//! - `analytics_dirty`: an append-only log of the days a write touched,
//!   written in the same transaction as the write. The dashboard recomputes
//!   those days first (taking the marks it saw, so a mark committed later
//!   is kept for the next read).
//! - `analytics_built`: which organisations have had their rollups built
//!   from scratch once (the first read builds them).
//!
//! And a partial index on calls carrying an agent report: the latency
//! figures read the latest reports of a range without walking every call.

use sea_orm_migration::prelude::*;

use crate::cols::{index, org_fk, text, ts, uuid_col, uuid_pk};

#[derive(DeriveIden)]
enum AnalyticsDays {
    Table,
    OrgId,
    Day,
    Kind,
    AgentId,
    CampaignId,
    UserId,
}

#[derive(DeriveIden)]
enum AnalyticsDirty {
    Table,
    Id,
    OrgId,
    Day,
}

#[derive(DeriveIden)]
enum AnalyticsBuilt {
    Table,
    OrgId,
    BuiltAt,
}

/// The summed columns, in the order the refresh writes them.
const SUMS: [&str; 20] = [
    "calls",
    "connected",
    "answered",
    "meetings",
    "conversations",
    "interested",
    "seconds",
    "timed",
    "sentiment_total",
    "sentiment_n",
    "opening_sum",
    "opening_n",
    "discovery_sum",
    "discovery_n",
    "presentation_sum",
    "presentation_n",
    "objection_handling_sum",
    "objection_handling_n",
    "closing_sum",
    "closing_n",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut days = Table::create()
            .table(AnalyticsDays::Table)
            .col(uuid_col(AnalyticsDays::OrgId))
            .col(text(AnalyticsDays::Day, 10))
            .col(text(AnalyticsDays::Kind, 8))
            .col(ColumnDef::new(AnalyticsDays::AgentId).uuid().null())
            .col(ColumnDef::new(AnalyticsDays::CampaignId).uuid().null())
            .col(ColumnDef::new(AnalyticsDays::UserId).uuid().null())
            .foreign_key(&mut org_fk("fk_analytics_days_org", AnalyticsDays::Table, AnalyticsDays::OrgId))
            .to_owned();
        for c in SUMS {
            let mut col = ColumnDef::new(Alias::new(c));
            if c == "seconds" || c == "sentiment_total" || c.ends_with("_sum") {
                col.double();
            } else {
                col.big_integer();
            }
            days.col(col.not_null().default(0));
        }
        m.create_table(days).await?;
        index(m, "ix_analytics_days_org_day", AnalyticsDays::Table, &["org_id", "day"]).await?;

        m.create_table(
            Table::create()
                .table(AnalyticsDirty::Table)
                .col(uuid_pk(AnalyticsDirty::Id))
                .col(uuid_col(AnalyticsDirty::OrgId))
                .col(text(AnalyticsDirty::Day, 10))
                .foreign_key(&mut org_fk(
                    "fk_analytics_dirty_org",
                    AnalyticsDirty::Table,
                    AnalyticsDirty::OrgId,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_analytics_dirty_org", AnalyticsDirty::Table, &["org_id"]).await?;

        m.create_table(
            Table::create()
                .table(AnalyticsBuilt::Table)
                .col(uuid_pk(AnalyticsBuilt::OrgId))
                .col(ts(AnalyticsBuilt::BuiltAt))
                .foreign_key(&mut org_fk(
                    "fk_analytics_built_org",
                    AnalyticsBuilt::Table,
                    AnalyticsBuilt::OrgId,
                ))
                .to_owned(),
        )
        .await?;

        // Both backends take a partial index in this form.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_calls_reported ON calls (org_id, created_at) WHERE agent_report IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
