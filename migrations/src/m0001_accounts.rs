//! Users, credentials, OAuth accounts, sessions, organisations, memberships,
//! invitations and the audit log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::cols::{fk, ts, ts_null, uuid_col, uuid_pk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Locale,
    EmailVerified,
    LastOrgId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PasswordCredentials {
    Table,
    UserId,
    PasswordHash,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OauthAccounts {
    Table,
    Id,
    UserId,
    Provider,
    Subject,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrgId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrgId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    CreatedAt,
    LastSentAt,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrgId,
    ActorUserId,
    Action,
    TargetUserId,
    Details,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid_pk(Users::Id))
                    .col(ColumnDef::new(Users::Email).string_len(254).not_null().unique_key())
                    .col(ColumnDef::new(Users::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Users::Locale).string_len(8).not_null().default("en"))
                    .col(ColumnDef::new(Users::EmailVerified).boolean().not_null().default(false))
                    .col(ColumnDef::new(Users::LastOrgId).uuid().null())
                    .col(ts(Users::CreatedAt))
                    .col(ts(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordCredentials::Table)
                    .col(uuid_pk(PasswordCredentials::UserId))
                    .col(ColumnDef::new(PasswordCredentials::PasswordHash).string().not_null())
                    .col(ts(PasswordCredentials::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_password_user",
                        (PasswordCredentials::Table, PasswordCredentials::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OauthAccounts::Table)
                    .col(uuid_pk(OauthAccounts::Id))
                    .col(uuid_col(OauthAccounts::UserId))
                    .col(ColumnDef::new(OauthAccounts::Provider).string_len(32).not_null())
                    .col(ColumnDef::new(OauthAccounts::Subject).string_len(255).not_null())
                    .col(ColumnDef::new(OauthAccounts::Email).string_len(254).not_null())
                    .col(ts(OauthAccounts::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_oauth_user",
                        (OauthAccounts::Table, OauthAccounts::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_oauth_provider_subject")
                    .table(OauthAccounts::Table)
                    .col(OauthAccounts::Provider)
                    .col(OauthAccounts::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // The tower-sessions store's own schema, created here so that the schema
        // has one owner (the store's `migrate()` is then a no-op).
        let sessions = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "create table if not exists sessions (id text primary key not null, data bytea not null, expiry_date timestamptz not null)"
            }
            _ => {
                "create table if not exists sessions (id text primary key not null, data blob not null, expiry_date integer not null)"
            }
        };
        manager.get_connection().execute_unprepared(sessions).await?;

        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(uuid_pk(Organizations::Id))
                    .col(ColumnDef::new(Organizations::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Organizations::Slug).string_len(64).not_null().unique_key())
                    .col(ts(Organizations::CreatedAt))
                    .col(ts(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(uuid_pk(Memberships::Id))
                    .col(uuid_col(Memberships::OrgId))
                    .col(uuid_col(Memberships::UserId))
                    .col(ColumnDef::new(Memberships::Role).string_len(16).not_null())
                    .col(ts(Memberships::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_membership_org",
                        (Memberships::Table, Memberships::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_membership_user",
                        (Memberships::Table, Memberships::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_membership_org_user")
                    .table(Memberships::Table)
                    .col(Memberships::OrgId)
                    .col(Memberships::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_membership_user")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(uuid_pk(Invitations::Id))
                    .col(uuid_col(Invitations::OrgId))
                    .col(ColumnDef::new(Invitations::Email).string_len(254).not_null())
                    .col(ColumnDef::new(Invitations::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Invitations::TokenHash).string_len(64).not_null().unique_key())
                    .col(uuid_col(Invitations::InvitedBy))
                    .col(ts(Invitations::CreatedAt))
                    .col(ts(Invitations::LastSentAt))
                    .col(ts(Invitations::ExpiresAt))
                    .col(ts_null(Invitations::AcceptedAt))
                    .col(ColumnDef::new(Invitations::AcceptedBy).uuid().null())
                    .col(ts_null(Invitations::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_invitation_org",
                        (Invitations::Table, Invitations::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_invitation_inviter",
                        (Invitations::Table, Invitations::InvitedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitation_org")
                    .table(Invitations::Table)
                    .col(Invitations::OrgId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(uuid_pk(AuditLog::Id))
                    .col(uuid_col(AuditLog::OrgId))
                    .col(ColumnDef::new(AuditLog::ActorUserId).uuid().null())
                    .col(ColumnDef::new(AuditLog::Action).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::TargetUserId).uuid().null())
                    .col(ColumnDef::new(AuditLog::Details).json().not_null())
                    .col(ts(AuditLog::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_audit_org",
                        (AuditLog::Table, AuditLog::OrgId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_org_created")
                    .table(AuditLog::Table)
                    .col(AuditLog::OrgId)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        // Forward-only by policy: a bad migration is fixed by a newer one.
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
