use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub folder_id: Option<Uuid>,
    /// Mirrors `settings.name` for SQL filtering and sorting.
    pub name: String,
    /// Mirrors `settings.kind`.
    pub kind: String,
    pub active: bool,
    /// `domain::agent::AgentSettings` as JSON.
    pub settings: Json,
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
