use sea_orm::entity::prelude::*;

/// One organisation's telephony: its LiveKit project (else the server's
/// `LIVEKIT_*` defaults), default trunk and caller number, and the last
/// connection test.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telephony_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    pub livekit_url: Option<String>,
    pub livekit_api_key: Option<String>,
    /// Sealed with the server's secret key, bound to the organisation.
    pub livekit_secret_ciphertext: Option<String>,
    /// The secret's last characters, for display.
    pub livekit_secret_hint: Option<String>,
    pub default_trunk_id: Option<Uuid>,
    pub default_caller_number: Option<String>,
    pub last_tested_at: Option<DateTimeUtc>,
    pub last_test_ok: Option<bool>,
    pub last_test_latency_ms: Option<i32>,
    pub last_test_error: Option<String>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
