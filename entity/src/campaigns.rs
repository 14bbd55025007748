use sea_orm::entity::prelude::*;

/// A campaign: settings as `domain::campaign::CampaignSettings` holds them
/// (windows, zone rule and retry policy as JSON), its lifecycle status and
/// when the dialer next has something to do (m0021).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// `draft`, `active`, `paused`, `completed`, `archived`.
    pub status: String,
    pub agent_id: Uuid,
    pub script_id: Option<Uuid>,
    pub trunk_id: Option<Uuid>,
    pub from_number: Option<String>,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub windows: Json,
    pub zone: Json,
    pub concurrency: i32,
    pub retry: Json,
    /// Why it is paused: a manager, or the circuit breaker and its figures.
    pub paused_reason: Option<Json>,
    pub version: i32,
    pub wake_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
