use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryDto {
    pub id: Uuid,
    pub action: String,
    pub actor: Option<ActorDto>,
    pub target: Option<String>,
    pub details: String,
    pub at: DateTime<Utc>,
}

/// Who acted: a person (their e-mail), an API key (name and prefix) or one
/// of our own jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorDto {
    Person(String),
    ApiKey(String),
    System(String),
}
