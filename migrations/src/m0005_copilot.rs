//! The SDR copilot: versioned call scripts, the knowledge base with its
//! approval workflow and usage log, the sales-technique library with rep
//! feedback, cached pre-call briefs, and copilot sessions (one per call or
//! practice run) with their transcript.

use sea_orm_migration::prelude::*;

use crate::cols::{fk, index, org_fk, text, ts, ts_null, unique_index, user_fk, uuid_col, uuid_pk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Prospects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Scripts {
    Table,
    Id,
    OrgId,
    Name,
    Language,
    Description,
    Content,
    Version,
    IsDefault,
    Source,
    AiModel,
    AiContext,
    AiGenerationMs,
    CreatedBy,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
    ArchivedAt,
}

#[derive(DeriveIden)]
enum ScriptVersions {
    Table,
    Id,
    OrgId,
    ScriptId,
    Version,
    Name,
    Content,
    EditedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeItems {
    Table,
    Id,
    OrgId,
    Kind,
    Title,
    Body,
    Tags,
    Fields,
    Status,
    AuthorId,
    ReviewerId,
    ReviewComment,
    ReviewedAt,
    SearchText,
    ShownCount,
    CopiedCount,
    HelpfulCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeUsage {
    Table,
    Id,
    OrgId,
    ItemId,
    UserId,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SalesTechniques {
    Table,
    Id,
    OrgId,
    Phase,
    Language,
    Name,
    Summary,
    Steps,
    PsychologicalBasis,
    ExamplePhrases,
    RatingSum,
    RatingCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TechniqueFeedback {
    Table,
    Id,
    OrgId,
    TechniqueId,
    UserId,
    Rating,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProspectBriefs {
    Table,
    ProspectId,
    OrgId,
    Source,
    Model,
    InputHash,
    Content,
    GeneratedAt,
}

#[derive(DeriveIden)]
enum CopilotSessions {
    Table,
    Id,
    OrgId,
    UserId,
    ProspectId,
    ScriptId,
    ScriptVersion,
    Mode,
    Phase,
    StartedAt,
    EndedAt,
    Outcome,
    CallbackAt,
    Notes,
    TechniqueIds,
}

#[derive(DeriveIden)]
enum CopilotEvents {
    Table,
    Id,
    OrgId,
    SessionId,
    Seq,
    Kind,
    Data,
    CreatedAt,
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().default(0).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Scripts::Table)
                .col(uuid_pk(Scripts::Id))
                .col(uuid_col(Scripts::OrgId))
                .col(text(Scripts::Name, 200))
                .col(text(Scripts::Language, 8))
                .col(ColumnDef::new(Scripts::Description).text().not_null().default(""))
                // `domain::copilot::script::ScriptContent` as JSON.
                .col(ColumnDef::new(Scripts::Content).json().not_null())
                // Bumped by every save; a save names the version it edited, so a
                // concurrent edit is detected instead of silently overwritten.
                .col(int(Scripts::Version))
                .col(ColumnDef::new(Scripts::IsDefault).boolean().not_null().default(false))
                // seeded | manual | ai
                .col(text(Scripts::Source, 16))
                .col(ColumnDef::new(Scripts::AiModel).string_len(200).null())
                .col(ColumnDef::new(Scripts::AiContext).json().null())
                .col(ColumnDef::new(Scripts::AiGenerationMs).big_integer().null())
                .col(ColumnDef::new(Scripts::CreatedBy).uuid().null())
                .col(ColumnDef::new(Scripts::UpdatedBy).uuid().null())
                .col(ts(Scripts::CreatedAt))
                .col(ts(Scripts::UpdatedAt))
                .col(ts_null(Scripts::ArchivedAt))
                .foreign_key(&mut org_fk("fk_script_org", Scripts::Table, Scripts::OrgId))
                .to_owned(),
        )
        .await?;
        index(m, "ix_script_org", Scripts::Table, &["org_id", "language"]).await?;

        m.create_table(
            Table::create()
                .table(ScriptVersions::Table)
                .col(uuid_pk(ScriptVersions::Id))
                .col(uuid_col(ScriptVersions::OrgId))
                .col(uuid_col(ScriptVersions::ScriptId))
                .col(ColumnDef::new(ScriptVersions::Version).big_integer().not_null())
                .col(text(ScriptVersions::Name, 200))
                .col(ColumnDef::new(ScriptVersions::Content).json().not_null())
                .col(ColumnDef::new(ScriptVersions::EditedBy).uuid().null())
                .col(ts(ScriptVersions::CreatedAt))
                .foreign_key(&mut org_fk(
                    "fk_script_version_org",
                    ScriptVersions::Table,
                    ScriptVersions::OrgId,
                ))
                .foreign_key(&mut fk(
                    "fk_script_version_script",
                    (ScriptVersions::Table, ScriptVersions::ScriptId),
                    (Scripts::Table, Scripts::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        // Unique: two concurrent saves of the same version cannot both land.
        unique_index(m, "ux_script_version", ScriptVersions::Table, &["script_id", "version"]).await?;

        m.create_table(
            Table::create()
                .table(KnowledgeItems::Table)
                .col(uuid_pk(KnowledgeItems::Id))
                .col(uuid_col(KnowledgeItems::OrgId))
                .col(text(KnowledgeItems::Kind, 24))
                .col(text(KnowledgeItems::Title, 200))
                .col(ColumnDef::new(KnowledgeItems::Body).text().not_null())
                .col(ColumnDef::new(KnowledgeItems::Tags).text().not_null().default(""))
                .col(ColumnDef::new(KnowledgeItems::Fields).json().not_null())
                .col(text(KnowledgeItems::Status, 24))
                .col(ColumnDef::new(KnowledgeItems::AuthorId).uuid().null())
                .col(ColumnDef::new(KnowledgeItems::ReviewerId).uuid().null())
                .col(ColumnDef::new(KnowledgeItems::ReviewComment).text().null())
                .col(ts_null(KnowledgeItems::ReviewedAt))
                .col(ColumnDef::new(KnowledgeItems::SearchText).text().not_null())
                .col(int(KnowledgeItems::ShownCount))
                .col(int(KnowledgeItems::CopiedCount))
                .col(int(KnowledgeItems::HelpfulCount))
                .col(ts(KnowledgeItems::CreatedAt))
                .col(ts(KnowledgeItems::UpdatedAt))
                .foreign_key(&mut org_fk("fk_knowledge_org", KnowledgeItems::Table, KnowledgeItems::OrgId))
                .foreign_key(&mut user_fk(
                    "fk_knowledge_author",
                    KnowledgeItems::Table,
                    KnowledgeItems::AuthorId,
                ))
                .foreign_key(&mut user_fk(
                    "fk_knowledge_reviewer",
                    KnowledgeItems::Table,
                    KnowledgeItems::ReviewerId,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_knowledge_org_status", KnowledgeItems::Table, &["org_id", "status", "kind"]).await?;

        m.create_table(
            Table::create()
                .table(KnowledgeUsage::Table)
                .col(uuid_pk(KnowledgeUsage::Id))
                .col(uuid_col(KnowledgeUsage::OrgId))
                .col(uuid_col(KnowledgeUsage::ItemId))
                .col(ColumnDef::new(KnowledgeUsage::UserId).uuid().null())
                .col(text(KnowledgeUsage::Kind, 16))
                .col(ts(KnowledgeUsage::CreatedAt))
                .foreign_key(&mut org_fk(
                    "fk_knowledge_usage_org",
                    KnowledgeUsage::Table,
                    KnowledgeUsage::OrgId,
                ))
                .foreign_key(&mut fk(
                    "fk_knowledge_usage_item",
                    (KnowledgeUsage::Table, KnowledgeUsage::ItemId),
                    (KnowledgeItems::Table, KnowledgeItems::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut user_fk(
                    "fk_knowledge_usage_user",
                    KnowledgeUsage::Table,
                    KnowledgeUsage::UserId,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_knowledge_usage_item", KnowledgeUsage::Table, &["item_id", "created_at"]).await?;

        m.create_table(
            Table::create()
                .table(SalesTechniques::Table)
                .col(uuid_pk(SalesTechniques::Id))
                .col(uuid_col(SalesTechniques::OrgId))
                .col(text(SalesTechniques::Phase, 24))
                .col(text(SalesTechniques::Language, 8))
                .col(text(SalesTechniques::Name, 160))
                .col(ColumnDef::new(SalesTechniques::Summary).text().not_null())
                .col(ColumnDef::new(SalesTechniques::Steps).json().not_null())
                .col(ColumnDef::new(SalesTechniques::PsychologicalBasis).text().not_null())
                .col(ColumnDef::new(SalesTechniques::ExamplePhrases).json().not_null())
                .col(int(SalesTechniques::RatingSum))
                .col(int(SalesTechniques::RatingCount))
                .col(ts(SalesTechniques::CreatedAt))
                .col(ts(SalesTechniques::UpdatedAt))
                .foreign_key(&mut org_fk("fk_technique_org", SalesTechniques::Table, SalesTechniques::OrgId))
                .to_owned(),
        )
        .await?;
        index(m, "ix_technique_org_phase", SalesTechniques::Table, &["org_id", "language", "phase"]).await?;

        m.create_table(
            Table::create()
                .table(TechniqueFeedback::Table)
                .col(uuid_pk(TechniqueFeedback::Id))
                .col(uuid_col(TechniqueFeedback::OrgId))
                .col(uuid_col(TechniqueFeedback::TechniqueId))
                .col(uuid_col(TechniqueFeedback::UserId))
                .col(ColumnDef::new(TechniqueFeedback::Rating).small_integer().not_null())
                .col(ts(TechniqueFeedback::CreatedAt))
                .foreign_key(&mut org_fk(
                    "fk_technique_feedback_org",
                    TechniqueFeedback::Table,
                    TechniqueFeedback::OrgId,
                ))
                .foreign_key(&mut fk(
                    "fk_technique_feedback_technique",
                    (TechniqueFeedback::Table, TechniqueFeedback::TechniqueId),
                    (SalesTechniques::Table, SalesTechniques::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_technique_feedback_user",
                    (TechniqueFeedback::Table, TechniqueFeedback::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        // One rating per rep and technique: a second one replaces the first.
        unique_index(m, "ux_technique_feedback", TechniqueFeedback::Table, &["technique_id", "user_id"])
            .await?;

        m.create_table(
            Table::create()
                .table(ProspectBriefs::Table)
                .col(ColumnDef::new(ProspectBriefs::ProspectId).uuid().not_null().primary_key())
                .col(uuid_col(ProspectBriefs::OrgId))
                // llm | rules
                .col(text(ProspectBriefs::Source, 8))
                .col(ColumnDef::new(ProspectBriefs::Model).string_len(200).null())
                // Hash of what the brief was made from: a changed prospect or
                // history makes the cached brief stale.
                .col(text(ProspectBriefs::InputHash, 64))
                .col(ColumnDef::new(ProspectBriefs::Content).json().not_null())
                .col(ts(ProspectBriefs::GeneratedAt))
                .foreign_key(&mut org_fk("fk_brief_org", ProspectBriefs::Table, ProspectBriefs::OrgId))
                .foreign_key(&mut fk(
                    "fk_brief_prospect",
                    (ProspectBriefs::Table, ProspectBriefs::ProspectId),
                    (Prospects::Table, Prospects::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CopilotSessions::Table)
                .col(uuid_pk(CopilotSessions::Id))
                .col(uuid_col(CopilotSessions::OrgId))
                .col(ColumnDef::new(CopilotSessions::UserId).uuid().null())
                .col(uuid_col(CopilotSessions::ProspectId))
                .col(ColumnDef::new(CopilotSessions::ScriptId).uuid().null())
                .col(ColumnDef::new(CopilotSessions::ScriptVersion).big_integer().not_null())
                // practice | call
                .col(text(CopilotSessions::Mode, 16))
                .col(text(CopilotSessions::Phase, 24))
                .col(ts(CopilotSessions::StartedAt))
                .col(ts_null(CopilotSessions::EndedAt))
                .col(ColumnDef::new(CopilotSessions::Outcome).string_len(24).null())
                .col(ts_null(CopilotSessions::CallbackAt))
                .col(ColumnDef::new(CopilotSessions::Notes).text().not_null().default(""))
                .col(ColumnDef::new(CopilotSessions::TechniqueIds).json().not_null())
                .foreign_key(&mut org_fk(
                    "fk_copilot_session_org",
                    CopilotSessions::Table,
                    CopilotSessions::OrgId,
                ))
                .foreign_key(&mut user_fk(
                    "fk_copilot_session_user",
                    CopilotSessions::Table,
                    CopilotSessions::UserId,
                ))
                .foreign_key(&mut fk(
                    "fk_copilot_session_prospect",
                    (CopilotSessions::Table, CopilotSessions::ProspectId),
                    (Prospects::Table, Prospects::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_copilot_session_script",
                    (CopilotSessions::Table, CopilotSessions::ScriptId),
                    (Scripts::Table, Scripts::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_copilot_session_prospect", CopilotSessions::Table, &["prospect_id", "started_at"])
            .await?;
        index(m, "ix_copilot_session_script", CopilotSessions::Table, &["script_id", "ended_at"]).await?;

        m.create_table(
            Table::create()
                .table(CopilotEvents::Table)
                .col(uuid_pk(CopilotEvents::Id))
                .col(uuid_col(CopilotEvents::OrgId))
                .col(uuid_col(CopilotEvents::SessionId))
                .col(ColumnDef::new(CopilotEvents::Seq).big_integer().not_null())
                // transcript | phase | objection
                .col(text(CopilotEvents::Kind, 16))
                .col(ColumnDef::new(CopilotEvents::Data).json().not_null())
                .col(ts(CopilotEvents::CreatedAt))
                .foreign_key(&mut org_fk("fk_copilot_event_org", CopilotEvents::Table, CopilotEvents::OrgId))
                .foreign_key(&mut fk(
                    "fk_copilot_event_session",
                    (CopilotEvents::Table, CopilotEvents::SessionId),
                    (CopilotSessions::Table, CopilotSessions::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_copilot_event_seq", CopilotEvents::Table, &["session_id", "seq"]).await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
