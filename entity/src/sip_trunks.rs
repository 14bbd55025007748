use sea_orm::entity::prelude::*;

/// A SIP trunk as created in LiveKit for an organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sip_trunks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// `outbound` or `inbound`.
    pub direction: String,
    pub name: String,
    /// LiveKit's id for the trunk (`ST_…`).
    pub livekit_trunk_id: String,
    pub address: String,
    /// E.164 numbers (JSON array of strings).
    pub numbers: Json,
    pub auth_username: Option<String>,
    /// Sealed like every other secret; never returned.
    pub auth_password_ciphertext: Option<String>,
    /// Inbound trunks: the agent calls reach, through this dispatch rule.
    pub agent_id: Option<Uuid>,
    pub livekit_dispatch_rule_id: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
