use sea_orm::entity::prelude::*;

/// One turn of a call's conversation, as the voice worker heard or spoke
/// it; numbered per call (`seq`, unique with the call).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_turns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub call_id: Uuid,
    pub org_id: Uuid,
    pub seq: i32,
    /// `agent` or `prospect`.
    pub speaker: String,
    pub text: String,
    /// From the start of the call, in milliseconds.
    pub start_ms: i64,
    pub end_ms: i64,
    /// The agent was cut off (what is stored is what was actually spoken).
    pub interrupted: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
