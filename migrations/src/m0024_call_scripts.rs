//! The script a call follows.
//!
//! - `calls.script_id`, `calls.script_version`: the script (and the version
//!   of it) the voice agent was given for this call — a campaign's script,
//!   or one an API caller named. Pinned at the dial, like a copilot
//!   session's, so that an edit made while a campaign runs reaches the
//!   next dial and never the middle of a conversation, and the post-call
//!   analysis scores the call against the very text the agent followed.
//!   No foreign key: scripts are archived, never deleted, and the
//!   version's text is kept in `script_versions`.
//! - A partial index over the calls that had a script, by organisation,
//!   script and outcome: the script library's effectiveness figure counts
//!   them without walking every call.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let mut id = ColumnDef::new(Alias::new("script_id")).uuid().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut id).to_owned()).await?;
        let mut version = ColumnDef::new(Alias::new("script_version")).big_integer().null().to_owned();
        m.alter_table(Table::alter().table(Alias::new("calls")).add_column(&mut version).to_owned()).await?;
        // Both backends take a partial index in this form.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_calls_script ON calls (org_id, script_id, outcome) WHERE script_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
