//! Indexes for the two list filters that test a value inside a column: a
//! tag (one of `|a|b|`) and a custom field (a key of the `custom` JSON).
//! Without them, "tagged t3" at a million prospects counted its matches by
//! reading rows until 10,001 matched (0.6 s on SQLite).
//!
//! - SQLite: `prospect_facets` holds one `(org_id, facet, value, rowid)`
//!   entry per tag (`facet = 'tag'`) and per custom value
//!   (`facet = 'custom.<key>'`, text lowercased). Triggers keep it in step
//!   with every write, as m0004's triggers do for the search index, so no
//!   write path (form, import, bulk tagging, purge) can forget it. The list
//!   starts from it to count a filter's matches, and reads a page through it
//!   when they are few. Keyed by the table's implicit rowid like the search
//!   index (see m0004 about `VACUUM`: run [`sqlite_rebuild`] after one).
//! - PostgreSQL: GIN indexes on the tags as an array and on the custom
//!   document, which the list's conditions are spelled to use
//!   ([`TAGS_ARRAY_SQL`], [`CUSTOM_JSONB_SQL`]).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// PostgreSQL: the tags as an array (`|a|b|` → `{"",a,b,""}`), as the
/// index and the tag condition both spell it.
pub const TAGS_ARRAY_SQL: &str = "string_to_array(tags, '|')";
/// PostgreSQL: the custom document as `jsonb`, as the index and the custom
/// field condition both spell it.
pub const CUSTOM_JSONB_SQL: &str = "(custom::jsonb)";

/// SQLite: a prospect's tags as a JSON array, for `json_each` (a tag never
/// holds `|`, `,`, `;` or a control character; `\` and `"` are escaped).
fn tags_json(row: &str) -> String {
    format!(
        "'[\"' || replace(replace(replace(trim({row}.tags, '|'), '\\', '\\\\'), '\"', '\\\"'), '|', '\",\"') || '\"]'"
    )
}

/// SQLite: the facet entries of `row` (`new` in a trigger; `p`, with
/// `from` = `"prospects p, "`, to fill the table from the prospects).
fn facets_of(row: &str, from: &str) -> [String; 2] {
    [
        format!(
            "SELECT {row}.org_id, 'tag', value, {row}.rowid FROM {from}json_each({}) WHERE {row}.tags <> ''",
            tags_json(row)
        ),
        format!(
            "SELECT {row}.org_id, 'custom.' || key, {CUSTOM_VALUE}, {row}.rowid FROM {from}json_each({row}.custom) \
             WHERE type IN ('text', 'integer', 'real', 'true', 'false')"
        ),
    ]
}

/// A custom value as a facet holds it: text lowercased (as the list's
/// condition compares it), numbers and booleans (1/0) as they are.
const CUSTOM_VALUE: &str = "CASE WHEN type = 'text' THEN lower(value) ELSE value END";

/// SQLite: removes the entries of `row` (`old`): a key lookup each.
fn forget(row: &str) -> [String; 2] {
    [
        format!(
            "DELETE FROM prospect_facets WHERE org_id = {row}.org_id AND facet = 'tag' AND prospect_rowid = {row}.rowid \
             AND value IN (SELECT value FROM json_each({}) WHERE {row}.tags <> '');",
            tags_json(row)
        ),
        format!(
            "DELETE FROM prospect_facets WHERE org_id = {row}.org_id AND prospect_rowid = {row}.rowid \
             AND (facet, value) IN (SELECT 'custom.' || key, {CUSTOM_VALUE} FROM json_each({row}.custom));"
        ),
    ]
}

/// SQLite: refills `prospect_facets` from the prospects (after a `VACUUM`,
/// which may renumber rowids).
pub fn sqlite_rebuild() -> Vec<String> {
    let [tags, custom] = facets_of("p", "prospects p, ");
    vec![
        "DELETE FROM prospect_facets".to_string(),
        format!("INSERT INTO prospect_facets {tags}"),
        format!("INSERT INTO prospect_facets {custom}"),
    ]
}

fn sqlite_statements() -> Vec<String> {
    let [tags_new, custom_new] = facets_of("new", "");
    let [forget_tags, forget_custom] = forget("old");
    let mut all = vec![
        "CREATE TABLE prospect_facets (org_id BLOB NOT NULL, facet TEXT NOT NULL, value NOT NULL, \
         prospect_rowid INTEGER NOT NULL, PRIMARY KEY (org_id, facet, value, prospect_rowid)) WITHOUT ROWID"
            .to_string(),
        format!(
            "CREATE TRIGGER prospect_facets_ai AFTER INSERT ON prospects BEGIN \
             INSERT INTO prospect_facets {tags_new}; INSERT INTO prospect_facets {custom_new}; END"
        ),
        format!(
            "CREATE TRIGGER prospect_facets_au_tags AFTER UPDATE OF tags ON prospects BEGIN {forget_tags} \
             INSERT INTO prospect_facets {tags_new}; END"
        ),
        format!(
            "CREATE TRIGGER prospect_facets_au_custom AFTER UPDATE OF custom ON prospects BEGIN {forget_custom} \
             INSERT INTO prospect_facets {custom_new}; END"
        ),
        format!("CREATE TRIGGER prospect_facets_ad AFTER DELETE ON prospects BEGIN {forget_tags} {forget_custom} END"),
    ];
    all.extend(sqlite_rebuild().into_iter().skip(1));
    all
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!(
                "CREATE INDEX ix_prospect_tags_gin ON prospects USING gin ({TAGS_ARRAY_SQL})"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX ix_prospect_custom_gin ON prospects USING gin ({CUSTOM_JSONB_SQL} jsonb_path_ops)"
            ))
            .await?;
            return Ok(());
        }
        for sql in sqlite_statements() {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
