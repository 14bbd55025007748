//! Prospects (CRM-lite) with their tags, notes, activity timeline, custom field
//! definitions, consent records, the do-not-call list, per-organisation
//! calling hours, CSV import jobs and saved list views.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::cols::{fk, index, org_fk, text, ts, ts_null, user_fk, uuid_col, uuid_pk};

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
    OrgId,
    FirstName,
    LastName,
    Company,
    Title,
    Phone,
    Email,
    Timezone,
    Status,
    OwnerId,
    Tags,
    Custom,
    DoNotCall,
    OptedOut,
    SearchText,
    ImportId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    DeleteBatch,
}

#[derive(DeriveIden)]
enum ProspectNotes {
    Table,
    Id,
    OrgId,
    ProspectId,
    AuthorId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProspectActivities {
    Table,
    Id,
    OrgId,
    ProspectId,
    ActorId,
    Kind,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CustomFieldDefs {
    Table,
    Id,
    OrgId,
    Key,
    Label,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConsentRecords {
    Table,
    Id,
    OrgId,
    ProspectId,
    Source,
    Method,
    Granted,
    CapturedAt,
    CapturedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DncNumbers {
    Table,
    OrgId,
    Phone,
    Reason,
    AddedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ComplianceSettings {
    Table,
    OrgId,
    WindowStart,
    WindowEnd,
    DefaultRegion,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProspectImports {
    Table,
    Id,
    OrgId,
    CreatedBy,
    FileName,
    Data,
    Encoding,
    Delimiter,
    TotalRows,
    State,
    Options,
    ProcessedRows,
    Created,
    Updated,
    Skipped,
    Error,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SavedViews {
    Table,
    Id,
    OrgId,
    UserId,
    Name,
    Query,
    Columns,
    CreatedAt,
}

fn prospect_fk(
    name: &str,
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    fk(name, (table, col), (Prospects::Table, Prospects::Id), ForeignKeyAction::Cascade)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Prospects::Table)
                .col(uuid_pk(Prospects::Id))
                .col(uuid_col(Prospects::OrgId))
                .col(text(Prospects::FirstName, 200))
                .col(text(Prospects::LastName, 200))
                .col(text(Prospects::Company, 200))
                .col(text(Prospects::Title, 200))
                // E.164; null when the prospect is reachable by email only.
                .col(ColumnDef::new(Prospects::Phone).string_len(20).null())
                .col(ColumnDef::new(Prospects::Email).string_len(320).null())
                .col(text(Prospects::Timezone, 64))
                .col(text(Prospects::Status, 24))
                .col(ColumnDef::new(Prospects::OwnerId).uuid().null())
                // `|a|b|` (see `domain::prospect::encode_tags`): one column, not a
                // join table, so imports write one row per prospect.
                .col(ColumnDef::new(Prospects::Tags).text().not_null().default(""))
                .col(ColumnDef::new(Prospects::Custom).json().not_null())
                .col(ColumnDef::new(Prospects::DoNotCall).boolean().not_null())
                .col(ColumnDef::new(Prospects::OptedOut).boolean().not_null())
                // Lowercased, accent-folded name, company, email and phone forms:
                // what search matches substrings against.
                .col(ColumnDef::new(Prospects::SearchText).text().not_null())
                .col(ColumnDef::new(Prospects::ImportId).uuid().null())
                .col(ColumnDef::new(Prospects::CreatedBy).uuid().null())
                .col(ts(Prospects::CreatedAt))
                .col(ts(Prospects::UpdatedAt))
                // Soft delete: undoable for 30 s, then purged.
                .col(ts_null(Prospects::DeletedAt))
                .col(ColumnDef::new(Prospects::DeleteBatch).uuid().null())
                .foreign_key(&mut org_fk("fk_prospect_org", Prospects::Table, Prospects::OrgId))
                .foreign_key(&mut user_fk("fk_prospect_owner", Prospects::Table, Prospects::OwnerId))
                // `created_by` is informational: no foreign key, so bulk imports
                // do not pay a referential check per row.
                .to_owned(),
        )
        .await?;
        index(m, "ix_prospect_org_created", Prospects::Table, &["org_id", "created_at"]).await?;
        index(m, "ix_prospect_org_phone", Prospects::Table, &["org_id", "phone"]).await?;
        index(m, "ix_prospect_org_email", Prospects::Table, &["org_id", "email"]).await?;
        index(m, "ix_prospect_org_status", Prospects::Table, &["org_id", "status"]).await?;
        index(m, "ix_prospect_org_owner", Prospects::Table, &["org_id", "owner_id"]).await?;
        // Partial: only the few rows waiting for purge or undo are indexed.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_prospect_delete_batch ON prospects (delete_batch) WHERE delete_batch IS NOT NULL",
            )
            .await?;

        if m.get_database_backend() == DbBackend::Postgres {
            // Trigram index: substring search (`LIKE '%dupont%'`) without a
            // full scan. pg_trgm is a trusted extension (PostgreSQL ≥ 13); when it
            // is not installed, search still works, by scanning.
            let db = m.get_connection();
            // A failed statement would abort the migration's transaction, so
            // ask first: installed already, or installable by this role?
            let row = db
                .query_one(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed, \
                            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') \
                            AND has_database_privilege(current_database(), 'CREATE') AS installable",
                ))
                .await?;
            let flag =
                |name: &str| row.as_ref().and_then(|r| r.try_get::<bool>("", name).ok()).unwrap_or(false);
            let (installed, installable) = (flag("installed"), flag("installable"));
            if !installed && installable {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
            }
            if installed || installable {
                db.execute_unprepared(
                    "CREATE INDEX ix_prospect_search_trgm ON prospects USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
        }

        m.create_table(
            Table::create()
                .table(ProspectNotes::Table)
                .col(uuid_pk(ProspectNotes::Id))
                .col(uuid_col(ProspectNotes::OrgId))
                .col(uuid_col(ProspectNotes::ProspectId))
                .col(ColumnDef::new(ProspectNotes::AuthorId).uuid().null())
                .col(ColumnDef::new(ProspectNotes::Body).text().not_null())
                .col(ts(ProspectNotes::CreatedAt))
                .foreign_key(&mut org_fk("fk_prospect_note_org", ProspectNotes::Table, ProspectNotes::OrgId))
                .foreign_key(&mut prospect_fk(
                    "fk_prospect_note_prospect",
                    ProspectNotes::Table,
                    ProspectNotes::ProspectId,
                ))
                .foreign_key(&mut user_fk(
                    "fk_prospect_note_author",
                    ProspectNotes::Table,
                    ProspectNotes::AuthorId,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_prospect_note_prospect", ProspectNotes::Table, &["prospect_id", "created_at"]).await?;

        m.create_table(
            Table::create()
                .table(ProspectActivities::Table)
                .col(uuid_pk(ProspectActivities::Id))
                .col(uuid_col(ProspectActivities::OrgId))
                .col(uuid_col(ProspectActivities::ProspectId))
                .col(ColumnDef::new(ProspectActivities::ActorId).uuid().null())
                .col(text(ProspectActivities::Kind, 32))
                .col(ColumnDef::new(ProspectActivities::Data).json().not_null())
                .col(ts(ProspectActivities::CreatedAt))
                .foreign_key(&mut org_fk(
                    "fk_prospect_activity_org",
                    ProspectActivities::Table,
                    ProspectActivities::OrgId,
                ))
                .foreign_key(&mut prospect_fk(
                    "fk_prospect_activity_prospect",
                    ProspectActivities::Table,
                    ProspectActivities::ProspectId,
                ))
                .foreign_key(&mut user_fk(
                    "fk_prospect_activity_actor",
                    ProspectActivities::Table,
                    ProspectActivities::ActorId,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_prospect_activity_prospect", ProspectActivities::Table, &["prospect_id", "created_at"])
            .await?;

        m.create_table(
            Table::create()
                .table(CustomFieldDefs::Table)
                .col(uuid_pk(CustomFieldDefs::Id))
                .col(uuid_col(CustomFieldDefs::OrgId))
                .col(text(CustomFieldDefs::Key, 40))
                .col(text(CustomFieldDefs::Label, 200))
                // `domain::data_schema::FieldKind` as JSON (`{"type":"enum","options":[…]}`).
                .col(ColumnDef::new(CustomFieldDefs::Kind).json().not_null())
                .col(ts(CustomFieldDefs::CreatedAt))
                .foreign_key(&mut org_fk(
                    "fk_custom_field_org",
                    CustomFieldDefs::Table,
                    CustomFieldDefs::OrgId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_custom_field_org_key")
                .table(CustomFieldDefs::Table)
                .col(CustomFieldDefs::OrgId)
                .col(CustomFieldDefs::Key)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ConsentRecords::Table)
                .col(uuid_pk(ConsentRecords::Id))
                .col(uuid_col(ConsentRecords::OrgId))
                .col(uuid_col(ConsentRecords::ProspectId))
                .col(text(ConsentRecords::Source, 200))
                .col(text(ConsentRecords::Method, 16))
                .col(ColumnDef::new(ConsentRecords::Granted).boolean().not_null())
                .col(ts(ConsentRecords::CapturedAt))
                .col(ColumnDef::new(ConsentRecords::CapturedBy).uuid().null())
                .col(ts(ConsentRecords::CreatedAt))
                .foreign_key(&mut org_fk("fk_consent_org", ConsentRecords::Table, ConsentRecords::OrgId))
                .foreign_key(&mut prospect_fk(
                    "fk_consent_prospect",
                    ConsentRecords::Table,
                    ConsentRecords::ProspectId,
                ))
                .foreign_key(&mut user_fk(
                    "fk_consent_user",
                    ConsentRecords::Table,
                    ConsentRecords::CapturedBy,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_consent_prospect", ConsentRecords::Table, &["prospect_id", "captured_at"]).await?;

        m.create_table(
            Table::create()
                .table(DncNumbers::Table)
                .col(uuid_col(DncNumbers::OrgId))
                .col(text(DncNumbers::Phone, 20))
                .col(text(DncNumbers::Reason, 200))
                .col(ColumnDef::new(DncNumbers::AddedBy).uuid().null())
                .col(ts(DncNumbers::CreatedAt))
                .primary_key(Index::create().col(DncNumbers::OrgId).col(DncNumbers::Phone))
                .foreign_key(&mut org_fk("fk_dnc_org", DncNumbers::Table, DncNumbers::OrgId))
                .foreign_key(&mut user_fk("fk_dnc_user", DncNumbers::Table, DncNumbers::AddedBy))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ComplianceSettings::Table)
                .col(uuid_pk(ComplianceSettings::OrgId))
                .col(ColumnDef::new(ComplianceSettings::WindowStart).integer().not_null())
                .col(ColumnDef::new(ComplianceSettings::WindowEnd).integer().not_null())
                .col(ColumnDef::new(ComplianceSettings::DefaultRegion).string_len(2).null())
                .col(ts(ComplianceSettings::UpdatedAt))
                .foreign_key(&mut org_fk(
                    "fk_compliance_org",
                    ComplianceSettings::Table,
                    ComplianceSettings::OrgId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProspectImports::Table)
                .col(uuid_pk(ProspectImports::Id))
                .col(uuid_col(ProspectImports::OrgId))
                .col(ColumnDef::new(ProspectImports::CreatedBy).uuid().null())
                .col(text(ProspectImports::FileName, 255))
                // The uploaded file, decoded to UTF-8: kept so a job survives a
                // restart and any instance can run it. Cleared when it finishes.
                .col(ColumnDef::new(ProspectImports::Data).blob().null())
                .col(text(ProspectImports::Encoding, 16))
                .col(text(ProspectImports::Delimiter, 4))
                .col(ColumnDef::new(ProspectImports::TotalRows).big_integer().not_null())
                .col(text(ProspectImports::State, 16))
                .col(ColumnDef::new(ProspectImports::Options).json().null())
                .col(ColumnDef::new(ProspectImports::ProcessedRows).big_integer().not_null())
                .col(ColumnDef::new(ProspectImports::Created).big_integer().not_null())
                .col(ColumnDef::new(ProspectImports::Updated).big_integer().not_null())
                .col(ColumnDef::new(ProspectImports::Skipped).big_integer().not_null())
                .col(ColumnDef::new(ProspectImports::Error).string_len(64).null())
                .col(ts(ProspectImports::CreatedAt))
                .col(ts_null(ProspectImports::FinishedAt))
                .foreign_key(&mut org_fk("fk_import_org", ProspectImports::Table, ProspectImports::OrgId))
                .foreign_key(&mut user_fk(
                    "fk_import_user",
                    ProspectImports::Table,
                    ProspectImports::CreatedBy,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_import_org_created", ProspectImports::Table, &["org_id", "created_at"]).await?;

        m.create_table(
            Table::create()
                .table(SavedViews::Table)
                .col(uuid_pk(SavedViews::Id))
                .col(uuid_col(SavedViews::OrgId))
                .col(uuid_col(SavedViews::UserId))
                .col(text(SavedViews::Name, 100))
                .col(ColumnDef::new(SavedViews::Query).json().not_null())
                .col(ColumnDef::new(SavedViews::Columns).json().not_null())
                .col(ts(SavedViews::CreatedAt))
                .foreign_key(&mut org_fk("fk_saved_view_org", SavedViews::Table, SavedViews::OrgId))
                .foreign_key(&mut fk(
                    "fk_saved_view_user",
                    (SavedViews::Table, SavedViews::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_saved_view_owner_name")
                .table(SavedViews::Table)
                .col(SavedViews::OrgId)
                .col(SavedViews::UserId)
                .col(SavedViews::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
