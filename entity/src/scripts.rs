use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scripts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// `domain::Locale` wire name.
    pub language: String,
    pub description: String,
    /// `domain::copilot::script::ScriptContent`.
    pub content: Json,
    /// Bumped by every save (optimistic concurrency).
    pub version: i64,
    pub is_default: bool,
    /// seeded | manual | ai
    pub source: String,
    pub ai_model: Option<String>,
    pub ai_context: Option<Json>,
    pub ai_generation_ms: Option<i64>,
    pub created_by: Option<Uuid>,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
