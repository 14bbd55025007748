//! Copilot DTOs that only the UI and its server functions use (the shared
//! wire types live in `domain::copilot::views`).

use chrono::{DateTime, Utc};
use domain::copilot::outcome::CallOutcome;
use domain::copilot::script::Phase;
use domain::copilot::views::SessionMode;
use domain::Locale;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Navigation {
    Next,
    Previous,
    Phase(Phase),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastCall {
    pub id: Uuid,
    pub mode: SessionMode,
    pub rep: Option<String>,
    pub started_at: DateTime<Utc>,
    pub outcome: Option<CallOutcome>,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateScript {
    pub name: String,
    pub language: Locale,
    pub product: String,
    pub prospect_id: Option<Uuid>,
    pub technique_ids: Vec<Uuid>,
}
