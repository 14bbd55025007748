//! Post-call analyses: one row per analysed call (an AI agent's phone
//! call, `call_id`) or copilot session (a rep's call, `session_id`).
//! `state` says where it stands (`pending`, `done`, `failed`, `no_model`,
//! `no_transcript`); `result` holds `domain::analysis::CallAnalysis` whole,
//! and what analytics aggregate over many calls is kept beside it in plain
//! columns — the sentiment and its score, and the five phase scores — so a
//! dashboard averages columns instead of parsing a million JSON documents.

use sea_orm_migration::prelude::*;

use crate::cols::{index, org_fk, text, ts, ts_null, unique_index, user_fk, uuid_col, uuid_pk};

#[derive(DeriveIden)]
enum CallAnalyses {
    Table,
    Id,
    OrgId,
    CallId,
    SessionId,
    State,
    Result,
    Model,
    Attempts,
    Error,
    Sentiment,
    SentimentScore,
    ScoreOpening,
    ScoreDiscovery,
    ScorePresentation,
    ScoreObjectionHandling,
    ScoreClosing,
    EditedBy,
    EditedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let score = |c: CallAnalyses| ColumnDef::new(c).small_integer().null().to_owned();
        m.create_table(
            Table::create()
                .table(CallAnalyses::Table)
                .col(uuid_pk(CallAnalyses::Id))
                .col(uuid_col(CallAnalyses::OrgId))
                .col(ColumnDef::new(CallAnalyses::CallId).uuid().null())
                .col(ColumnDef::new(CallAnalyses::SessionId).uuid().null())
                .col(text(CallAnalyses::State, 16))
                .col(ColumnDef::new(CallAnalyses::Result).json().null())
                .col(ColumnDef::new(CallAnalyses::Model).string_len(200).null())
                .col(ColumnDef::new(CallAnalyses::Attempts).integer().not_null().default(0))
                .col(ColumnDef::new(CallAnalyses::Error).string_len(400).null())
                .col(ColumnDef::new(CallAnalyses::Sentiment).string_len(16).null())
                .col(ColumnDef::new(CallAnalyses::SentimentScore).double().null())
                .col(score(CallAnalyses::ScoreOpening))
                .col(score(CallAnalyses::ScoreDiscovery))
                .col(score(CallAnalyses::ScorePresentation))
                .col(score(CallAnalyses::ScoreObjectionHandling))
                .col(score(CallAnalyses::ScoreClosing))
                .col(ColumnDef::new(CallAnalyses::EditedBy).uuid().null())
                .col(ts_null(CallAnalyses::EditedAt))
                .col(ts(CallAnalyses::CreatedAt))
                .col(ts(CallAnalyses::UpdatedAt))
                .foreign_key(&mut org_fk("fk_call_analyses_org", CallAnalyses::Table, CallAnalyses::OrgId))
                .foreign_key(
                    &mut ForeignKey::create()
                        .name("fk_call_analyses_call")
                        .from(CallAnalyses::Table, CallAnalyses::CallId)
                        .to(Alias::new("calls"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(
                    &mut ForeignKey::create()
                        .name("fk_call_analyses_session")
                        .from(CallAnalyses::Table, CallAnalyses::SessionId)
                        .to(Alias::new("copilot_sessions"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(&mut user_fk(
                    "fk_call_analyses_edited_by",
                    CallAnalyses::Table,
                    CallAnalyses::EditedBy,
                ))
                .to_owned(),
        )
        .await?;
        // One analysis per call and per session (NULLs never collide).
        unique_index(m, "ux_call_analyses_call", CallAnalyses::Table, &["call_id"]).await?;
        unique_index(m, "ux_call_analyses_session", CallAnalyses::Table, &["session_id"]).await?;
        index(m, "ix_call_analyses_org", CallAnalyses::Table, &["org_id", "state"]).await
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
