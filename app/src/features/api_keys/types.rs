use chrono::{DateTime, Utc};
use domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub role: Role,
    pub permissions: Vec<String>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub request_count: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `(YYYY-MM-DD, requests)` for recent days with any.
    pub daily: Vec<(String, i64)>,
    /// Requests today (UTC), computed by the server: the browser build has
    /// no clock of its own (`std::time` panics in wasm32-unknown-unknown).
    pub requests_today: i64,
}

/// A key just created; `secret` is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKeyDto {
    pub key: ApiKeyDto,
    pub secret: String,
}

#[cfg(feature = "ssr")]
impl From<services::api_keys::ApiKeyInfo> for ApiKeyDto {
    fn from(k: services::api_keys::ApiKeyInfo) -> Self {
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let requests_today = k.daily.iter().find(|d| d.day == today).map_or(0, |d| d.requests);
        ApiKeyDto {
            requests_today,
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            role: k.role,
            permissions: k.permissions,
            created_by_name: k.created_by_name,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            request_count: k.request_count,
            revoked_at: k.revoked_at,
            daily: k.daily.into_iter().map(|d| (d.day, d.requests)).collect(),
        }
    }
}
