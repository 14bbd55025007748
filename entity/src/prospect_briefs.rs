use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "prospect_briefs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub prospect_id: Uuid,
    pub org_id: Uuid,
    /// llm | rules
    pub source: String,
    pub model: Option<String>,
    pub input_hash: String,
    pub content: Json,
    pub generated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
