use sea_orm::entity::prelude::*;

/// What one call or playground turn used (m0025).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// `call` or `playground`.
    pub source: String,
    /// The call's id, or the playground turn's.
    pub source_id: Uuid,
    pub agent_id: Option<Uuid>,
    /// `voice` or `chat`.
    pub agent_kind: Option<String>,
    pub api_key_id: Option<Uuid>,
    pub model: Option<String>,
    pub call_seconds: i64,
    pub llm_input_tokens: i64,
    pub llm_output_tokens: i64,
    pub stt_seconds: i64,
    pub tts_characters: i64,
    pub occurred_at: DateTimeUtc,
    /// When Polar accepted it (`None`: still to report).
    pub reported_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
