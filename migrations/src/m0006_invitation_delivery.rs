//! Whether an invitation's link went out by e-mail. Only then does
//! accepting it prove the address: a link shown to the inviter (no mail
//! server, or delivery failed) proves nothing about who holds the mailbox,
//! so the account it creates stays unverified (and a later Google sign-in
//! by the real owner takes it over instead of linking into it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("invitations"))
                .add_column(ColumnDef::new(Alias::new("emailed")).boolean().not_null().default(false))
                .to_owned(),
        )
        .await
    }
}
