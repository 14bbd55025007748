//! Agents and their folders, per-organisation provider credentials
//! (encrypted), and saved playground conversations.

use sea_orm_migration::prelude::*;

use crate::cols::{fk, ts, ts_null, uuid_col, uuid_pk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AgentFolders {
    Table,
    Id,
    OrgId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    OrgId,
    FolderId,
    Name,
    Kind,
    Active,
    Settings,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProviderCredentials {
    Table,
    Id,
    OrgId,
    Provider,
    BaseUrl,
    KeyCiphertext,
    KeyHint,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    LastTestedAt,
    LastTestOk,
}

#[derive(DeriveIden)]
enum PlaygroundConversations {
    Table,
    Id,
    OrgId,
    AgentId,
    UserId,
    Status,
    EndReason,
    Turns,
    CollectedData,
    Notes,
    InputTokens,
    OutputTokens,
    CreatedAt,
    UpdatedAt,
    EndedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AgentFolders::Table)
                    .col(uuid_pk(AgentFolders::Id))
                    .col(uuid_col(AgentFolders::OrgId))
                    .col(ColumnDef::new(AgentFolders::Name).string_len(100).not_null())
                    .col(ts(AgentFolders::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_agent_folder_org",
                        (AgentFolders::Table, AgentFolders::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_agent_folder_org_name")
                    .table(AgentFolders::Table)
                    .col(AgentFolders::OrgId)
                    .col(AgentFolders::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(uuid_pk(Agents::Id))
                    .col(uuid_col(Agents::OrgId))
                    .col(ColumnDef::new(Agents::FolderId).uuid().null())
                    // Name and kind mirror `settings` so lists filter and sort in SQL.
                    .col(ColumnDef::new(Agents::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Agents::Kind).string_len(8).not_null())
                    .col(ColumnDef::new(Agents::Active).boolean().not_null())
                    .col(ColumnDef::new(Agents::Settings).json().not_null())
                    // Optimistic concurrency: an edit names the version it started from.
                    .col(ColumnDef::new(Agents::Version).integer().not_null())
                    .col(ColumnDef::new(Agents::CreatedBy).uuid().null())
                    .col(ts(Agents::CreatedAt))
                    .col(ts(Agents::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_agent_org",
                        (Agents::Table, Agents::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_agent_folder",
                        (Agents::Table, Agents::FolderId),
                        (AgentFolders::Table, AgentFolders::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_agent_creator",
                        (Agents::Table, Agents::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_agent_org_name")
                    .table(Agents::Table)
                    .col(Agents::OrgId)
                    .col(Agents::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_agent_folder").table(Agents::Table).col(Agents::FolderId).to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProviderCredentials::Table)
                    .col(uuid_pk(ProviderCredentials::Id))
                    .col(uuid_col(ProviderCredentials::OrgId))
                    .col(ColumnDef::new(ProviderCredentials::Provider).string_len(32).not_null())
                    .col(ColumnDef::new(ProviderCredentials::BaseUrl).string_len(500).null())
                    // "v1:" + base64(nonce ‖ XChaCha20-Poly1305 ciphertext); never the key itself.
                    .col(ColumnDef::new(ProviderCredentials::KeyCiphertext).text().null())
                    .col(ColumnDef::new(ProviderCredentials::KeyHint).string_len(16).null())
                    .col(ColumnDef::new(ProviderCredentials::CreatedBy).uuid().null())
                    .col(ts(ProviderCredentials::CreatedAt))
                    .col(ts(ProviderCredentials::UpdatedAt))
                    .col(ts_null(ProviderCredentials::LastTestedAt))
                    .col(ColumnDef::new(ProviderCredentials::LastTestOk).boolean().null())
                    .foreign_key(&mut fk(
                        "fk_provider_credential_org",
                        (ProviderCredentials::Table, ProviderCredentials::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_provider_credential_org_provider")
                    .table(ProviderCredentials::Table)
                    .col(ProviderCredentials::OrgId)
                    .col(ProviderCredentials::Provider)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlaygroundConversations::Table)
                    .col(uuid_pk(PlaygroundConversations::Id))
                    .col(uuid_col(PlaygroundConversations::OrgId))
                    .col(uuid_col(PlaygroundConversations::AgentId))
                    .col(uuid_col(PlaygroundConversations::UserId))
                    .col(ColumnDef::new(PlaygroundConversations::Status).string_len(16).not_null())
                    .col(ColumnDef::new(PlaygroundConversations::EndReason).string_len(500).null())
                    .col(ColumnDef::new(PlaygroundConversations::Turns).json().not_null())
                    .col(ColumnDef::new(PlaygroundConversations::CollectedData).json().not_null())
                    .col(ColumnDef::new(PlaygroundConversations::Notes).json().not_null())
                    .col(ColumnDef::new(PlaygroundConversations::InputTokens).big_integer().not_null())
                    .col(ColumnDef::new(PlaygroundConversations::OutputTokens).big_integer().not_null())
                    .col(ts(PlaygroundConversations::CreatedAt))
                    .col(ts(PlaygroundConversations::UpdatedAt))
                    .col(ts_null(PlaygroundConversations::EndedAt))
                    .foreign_key(&mut fk(
                        "fk_playground_org",
                        (PlaygroundConversations::Table, PlaygroundConversations::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_playground_agent",
                        (PlaygroundConversations::Table, PlaygroundConversations::AgentId),
                        (Agents::Table, Agents::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_playground_user",
                        (PlaygroundConversations::Table, PlaygroundConversations::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_playground_agent")
                    .table(PlaygroundConversations::Table)
                    .col(PlaygroundConversations::AgentId)
                    .col(PlaygroundConversations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
