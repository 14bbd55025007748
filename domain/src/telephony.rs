//! Telephony as the API and the pages show it: an organisation's LiveKit
//! project and defaults (the secret never leaves the server), the last
//! connection test, and SIP trunks (passwords never returned).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ErrorCode;

/// What the settings page shows. The secret never leaves the server; its
/// last characters do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelephonySettings {
    /// The organisation's own project, if it set one.
    pub livekit_url: Option<String>,
    pub livekit_api_key: Option<String>,
    pub livekit_secret_hint: Option<String>,
    /// The server has a project of its own (`LIVEKIT_URL` …) that this
    /// organisation uses when it sets none.
    pub server_default: bool,
    pub default_trunk_id: Option<Uuid>,
    pub default_caller_number: Option<String>,
    pub last_test: Option<ConnectionTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionTest {
    pub at: chrono::DateTime<chrono::Utc>,
    pub ok: bool,
    pub latency_ms: Option<i32>,
    /// Why it failed, in words safe to show (never the upstream body).
    pub error: Option<String>,
    /// The error's code when it failed.
    pub code: Option<ErrorCode>,
}

/// A change to the settings. `None` leaves a field as it is; an empty
/// string clears it. The secret is only ever replaced or cleared.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelephonyChange {
    pub livekit_url: Option<String>,
    pub livekit_api_key: Option<String>,
    pub livekit_api_secret: Option<String>,
    /// An outbound trunk of the organisation's; `""` clears it.
    pub default_trunk_id: Option<String>,
    pub default_caller_number: Option<String>,
}

/// Call recordings: whether calls are recorded when their agent leaves it
/// to the organisation, and the S3-compatible bucket LiveKit writes them
/// to. The secret key never leaves the server; its last characters do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingSettings {
    pub record_calls: bool,
    /// `https://s3.eu-west-3.amazonaws.com`, `https://minio.example.com:9000`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    /// `endpoint/bucket/key` addressing (most S3-compatible servers), else
    /// `bucket.endpoint/key`.
    pub path_style: bool,
    pub access_key: Option<String>,
    pub secret_hint: Option<String>,
    /// The bucket is set whole (endpoint, region, bucket, both keys).
    pub configured: bool,
    /// The last bucket check (an object written and deleted).
    pub last_test: Option<ConnectionTest>,
}

/// A change to the recording settings: `None` leaves a field as it is, an
/// empty string clears it; the secret key is only ever replaced or cleared.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingChange {
    pub record_calls: Option<bool>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub path_style: Option<bool>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

/// A call's recording, to play: a short-lived address signed for this
/// viewer's request (the bucket itself stays private).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingLink {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub duration_ms: Option<i64>,
    pub content_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrunkDirection {
    Outbound,
    Inbound,
}

impl TrunkDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            TrunkDirection::Outbound => "outbound",
            TrunkDirection::Inbound => "inbound",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trunk {
    pub id: Uuid,
    pub direction: TrunkDirection,
    pub name: String,
    /// LiveKit's id (`ST_…`).
    pub livekit_trunk_id: String,
    /// Outbound: where calls go (`sip.example.com`, `203.0.113.5:5060`).
    pub address: String,
    pub numbers: Vec<String>,
    pub auth_username: Option<String>,
    /// Whether a password is stored (it is never returned).
    pub has_password: bool,
    /// Inbound: the agent that answers.
    pub agent_id: Option<Uuid>,
    pub is_default: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTrunk {
    pub direction: Option<TrunkDirection>,
    pub name: String,
    /// Outbound only.
    #[serde(default)]
    pub address: String,
    pub numbers: Vec<String>,
    #[serde(default)]
    pub auth_username: Option<String>,
    #[serde(default)]
    pub auth_password: Option<String>,
    /// Inbound only: a voice agent of the organisation's.
    #[serde(default)]
    pub agent_id: Option<Uuid>,
}
