//! E-mail verification links for sign-ups when a mail server is configured:
//! the account exists at once (its owner can log in with the password), and
//! following the link proves the address. Only the token's hash is stored.

use sea_orm_migration::prelude::*;

use crate::cols::{fk, ts, uuid_col};

#[derive(DeriveIden)]
enum EmailVerifications {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EmailVerifications::Table)
                .col(ColumnDef::new(EmailVerifications::TokenHash).string_len(64).not_null().primary_key())
                .col(uuid_col(EmailVerifications::UserId))
                .col(ts(EmailVerifications::CreatedAt))
                .col(ts(EmailVerifications::ExpiresAt))
                .foreign_key(&mut fk(
                    "fk_email_verifications_user",
                    (EmailVerifications::Table, EmailVerifications::UserId),
                    (Alias::new("users"), Alias::new("id")),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_email_verifications_user")
                .table(EmailVerifications::Table)
                .col(EmailVerifications::UserId)
                .to_owned(),
        )
        .await
    }
}
