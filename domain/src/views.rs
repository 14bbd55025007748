//! Read models shared by the server (which builds them) and the browser
//! (which renders them): agents, folders, playground conversations and
//! provider settings. Plain serde data, no behaviour.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::agent::{AgentKind, AgentSettings};
use crate::catalogue::Capability;
use crate::data_schema::CollectedData;
use crate::playground::{ConversationStatus, Note, Turn};
use crate::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Folder {
    pub id: Uuid,
    pub name: String,
    pub agent_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSummary {
    pub id: Uuid,
    pub name: String,
    pub kind: AgentKind,
    pub active: bool,
    pub folder_id: Option<Uuid>,
    pub description: String,
    pub language: String,
    pub llm_provider: String,
    pub llm_model: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: Uuid,
    pub folder_id: Option<Uuid>,
    pub active: bool,
    pub version: i32,
    pub settings: AgentSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which folder to list: all, the root (no folder), or one folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "in", content = "id", rename_all = "snake_case")]
pub enum FolderFilter {
    #[default]
    Any,
    Root,
    Folder(Uuid),
}

/// Missing keys mean "no constraint" (`{}` lists everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AgentFilter {
    pub search: String,
    pub kind: Option<AgentKind>,
    pub folder: FolderFilter,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub status: ConversationStatus,
    pub end_reason: Option<String>,
    pub turns: Vec<Turn>,
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub collected_data: CollectedData,
    pub notes: Vec<Note>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSummary {
    pub id: Uuid,
    pub status: ConversationStatus,
    pub turn_count: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Organization,
    Server,
    None,
}

/// One provider as the settings page shows it. Never carries the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialView {
    pub provider: String,
    pub name: String,
    pub capabilities: Vec<Capability>,
    pub key_optional: bool,
    pub default_base_url: String,
    /// The organisation's override, if any.
    pub base_url: Option<String>,
    pub key_hint: Option<String>,
    pub source: KeySource,
    pub last_tested_at: Option<DateTime<Utc>>,
    pub last_test_ok: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestOutcome {
    pub ok: bool,
    pub error: Option<ErrorCode>,
    /// The provider's own words, for the admin (never contains the key).
    pub message: Option<String>,
    pub latency_ms: u64,
}

/// A voice the agent form offers (live from the vendor, or shipped defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoiceOption {
    pub id: String,
    pub name: String,
    pub language: Option<String>,
}
