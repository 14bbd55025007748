use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "copilot_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Option<Uuid>,
    pub prospect_id: Uuid,
    pub script_id: Option<Uuid>,
    pub script_version: i64,
    /// practice | call
    pub mode: String,
    /// Current `domain::copilot::script::Phase` wire name.
    pub phase: String,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    pub outcome: Option<String>,
    pub callback_at: Option<DateTimeUtc>,
    pub notes: String,
    /// `Vec<Uuid>` of techniques shown during the session.
    pub technique_ids: Json,
    /// The phone call this session follows (a rep's call from the
    /// copilot); none in practice mode (m0026).
    pub call_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
