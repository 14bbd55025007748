use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "playground_conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub agent_id: Uuid,
    pub user_id: Uuid,
    /// `active` or `ended`.
    pub status: String,
    pub end_reason: Option<String>,
    /// Transcript turns (`services::playground::Turn`) as a JSON array.
    pub turns: Json,
    pub collected_data: Json,
    pub notes: Json,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
