//! Wire types of the copilot, shared by the server and the hydrated UI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::knowledge::{KnowledgeKind, KnowledgeStatus};
use super::objection::{Detection, ObjectionKind};
use super::outcome::CallOutcome;
use super::script::{Advance, Phase, ScriptContent, Speaker};
use crate::prospect::ProspectStatus;
use crate::Locale;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptSummary {
    pub id: Uuid,
    pub name: String,
    pub language: Locale,
    pub version: i64,
    pub is_default: bool,
    /// seeded | manual | ai
    pub source: String,
    pub updated_at: DateTime<Utc>,
    /// Average outcome score (0–100) of ended calls that used the script, and how many.
    pub effectiveness: Option<u8>,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptDetail {
    #[serde(flatten)]
    pub summary: ScriptSummary,
    pub description: String,
    pub content: ScriptContent,
    pub ai: Option<AiGeneration>,
}

/// How an AI-generated script was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AiGeneration {
    pub model: String,
    pub context: serde_json::Value,
    pub generation_ms: i64,
}

/// A script create/update request. `expected_version` is the version the
/// editor loaded: a save against a newer one is refused (`stale_version`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptInput {
    pub name: String,
    pub language: Locale,
    #[serde(default)]
    pub description: String,
    pub content: ScriptContent,
    #[serde(default)]
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptVersionInfo {
    pub version: i64,
    pub name: String,
    pub edited_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeItem {
    pub id: Uuid,
    pub kind: KnowledgeKind,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub fields: std::collections::BTreeMap<String, String>,
    pub status: KnowledgeStatus,
    /// Bumped by every content edit; a review names the version it read.
    pub version: i64,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub reviewer_name: Option<String>,
    pub review_comment: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub shown: i64,
    pub copied: i64,
    pub helpful: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct KnowledgeQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kind: Option<KnowledgeKind>,
    #[serde(default)]
    pub status: Option<KnowledgeStatus>,
    #[serde(default)]
    pub tag: Option<String>,
    /// Only items relevant to this objection (objection handlers for it).
    #[serde(default)]
    pub objection: Option<ObjectionKind>,
    #[serde(default)]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Technique {
    pub id: Uuid,
    pub phase: Phase,
    pub language: Locale,
    pub name: String,
    pub summary: String,
    pub steps: Vec<String>,
    pub psychological_basis: String,
    pub example_phrases: Vec<String>,
    /// Average rep rating (1–5) and how many ratings.
    pub rating: Option<f32>,
    pub ratings: i64,
    /// Average outcome score (0–100) of ended sessions where it was shown.
    pub outcome_score: Option<u8>,
    /// The caller's own rating.
    pub my_rating: Option<i16>,
}

/// One prospect in the SDR's call queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueEntry {
    pub prospect_id: Uuid,
    pub name: String,
    pub company: String,
    pub phone: Option<String>,
    pub status: ProspectStatus,
    /// Why it is in the queue, in priority order: callback_due, callback,
    /// new, interested, contacted.
    pub reason: String,
    pub callback_at: Option<DateTime<Utc>>,
}

/// Pre-call recommendations for one prospect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Brief {
    /// `llm` (generated by the organisation's model) or `rules`.
    pub source: String,
    pub model: Option<String>,
    pub opening_angle: String,
    pub likely_objections: Vec<ObjectionKind>,
    pub questions: Vec<String>,
    pub generated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    Practice,
    Call,
}

impl SessionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Practice => "practice",
            SessionMode::Call => "call",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptLine {
    pub seq: i64,
    pub speaker: Speaker,
    pub text: String,
    pub is_final: bool,
    pub at: DateTime<Utc>,
    /// Where the line falls in the call's audio, in ms from the start of
    /// its source (a phone call's transcriber); none for typed or posted lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

/// One live event of a copilot session, as pushed to the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CopilotEvent {
    Transcript(TranscriptLine),
    Phase {
        seq: i64,
        advance: Advance,
        progress: u8,
    },
    Objection {
        seq: i64,
        detection: Detection,
        handler: Option<HandlerCard>,
    },
    Ended {
        outcome: CallOutcome,
    },
    /// The live source failed (STT down…); the session itself goes on.
    SourceError {
        code: crate::ErrorCode,
    },
    /// A manager joined or left the rep's call (listening, whispering to
    /// the rep, or in the conversation): the rep is always told.
    Supervisor {
        seq: i64,
        name: String,
        mode: crate::call_views::SuperviseMode,
        joined: bool,
    },
}

/// What the objection card shows: the script's handler plus approved
/// knowledge-base handlers for the same objection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandlerCard {
    pub response: String,
    pub examples: Vec<String>,
    pub knowledge: Vec<KnowledgeRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeRef {
    pub id: Uuid,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: Uuid,
    pub prospect_id: Uuid,
    pub script_id: Option<Uuid>,
    pub script_version: i64,
    pub mode: SessionMode,
    pub phase: Phase,
    pub progress: u8,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<CallOutcome>,
    /// The script with variables filled for this prospect and rep.
    pub script: ScriptContent,
    pub events: Vec<CopilotEvent>,
    /// The phone call the session follows (a rep's call from the copilot).
    #[serde(default)]
    pub call_id: Option<Uuid>,
}

/// Which opt-out a rep honours: the `seq` of the session's opt-out card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutRequest {
    pub seq: i64,
}

/// An opt-out heard on a call, honoured: the prospect is marked opted out
/// and their number is on the organisation's do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutRecorded {
    pub prospect_id: Uuid,
    /// The number put on the list (none when the prospect has no phone).
    pub phone: Option<String>,
    /// What the prospect said, kept as evidence.
    pub utterance: String,
    /// True when it had already been recorded (nothing was written again).
    pub already_recorded: bool,
}
