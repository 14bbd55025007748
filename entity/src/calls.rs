use sea_orm::entity::prelude::*;

/// A phone call placed (or taken) by a voice agent through LiveKit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// `outbound` or `inbound`.
    pub direction: String,
    pub prospect_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub trunk_id: Option<Uuid>,
    pub to_number: String,
    pub from_number: Option<String>,
    /// `domain::call::CallStatus`, by name.
    pub status: String,
    pub sip_status: Option<i32>,
    pub failure_reason: Option<String>,
    /// The LiveKit room (unique; carries the call id in its metadata).
    pub room_name: String,
    /// The template variables rendered for the agent.
    pub variables: Json,
    pub placed_by_user: Option<Uuid>,
    pub placed_by_api_key: Option<Uuid>,
    pub idempotency_key: Option<String>,
    /// SHA-256 (hex) of the body the idempotency key was first used with.
    pub request_hash: Option<String>,
    pub outcome: Option<String>,
    pub recording_key: Option<String>,
    pub recording_duration_ms: Option<i64>,
    /// LiveKit's egress recording the call, and where the recording stands:
    /// `recording`, `ready`, `failed` (m0018).
    pub recording_egress_id: Option<String>,
    pub recording_status: Option<String>,
    pub recording_error: Option<String>,
    /// Talk time, stored when the call ends (m0017).
    pub talk_ms: Option<i64>,
    /// The outcome's callback date, and notes (m0017).
    pub callback_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub notes: String,
    /// What the agent collected, checked against its data schema (m0019).
    pub collected_data: Option<Json>,
    /// The voice agent's report: end reason, usage, per-turn latency (m0020).
    pub agent_report: Option<Json>,
    /// The campaign this call is an attempt of (m0021).
    pub campaign_id: Option<Uuid>,
    /// The script the agent was given, at the version it had then (m0024).
    pub script_id: Option<Uuid>,
    pub script_version: Option<i64>,
    /// The rep talking on a call placed from the copilot; none for an AI
    /// agent's call (m0026).
    pub rep_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub ringing_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
