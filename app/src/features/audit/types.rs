use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryDto {
    pub id: Uuid,
    pub action: String,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub details: String,
    pub at: DateTime<Utc>,
}
