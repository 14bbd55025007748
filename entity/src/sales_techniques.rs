use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_techniques")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// `domain::copilot::script::Phase` wire name.
    pub phase: String,
    pub language: String,
    pub name: String,
    pub summary: String,
    /// `Vec<String>`.
    pub steps: Json,
    pub psychological_basis: String,
    /// `Vec<String>`.
    pub example_phrases: Json,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
