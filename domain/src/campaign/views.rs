//! What the campaign pages and the API exchange: a campaign with its
//! counts, its prospects, what adding prospects did, and the updates live
//! pages receive.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AttemptResult, CampaignSettings, CampaignStatus, Tripped};
use crate::prospect::ProspectFilter;

/// Why a campaign stands paused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PausedBy {
    /// A person paused it.
    Manager { user_id: Option<Uuid> },
    /// Too many of the recent dials failed.
    Breaker { tripped: Tripped },
    /// A dial could not be placed at all (LiveKit unreachable, refused
    /// credentials, no trunk): every further dial would fail the same way.
    Unreachable { code: String },
}

/// Where a campaign's prospects stand, and what its calls came to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignCounts {
    pub total: u64,
    /// Waiting for their (next) turn.
    pub queued: u64,
    /// A call placed and not yet answered.
    pub dialing: u64,
    /// Answered and under way.
    pub in_call: u64,
    /// Their turn is over: by the last result.
    pub done: u64,
    pub done_by_result: BTreeMap<String, u64>,
    /// Never dialled (opted out, on the do-not-call list meanwhile…).
    pub skipped: u64,
    /// Calls placed (every attempt).
    pub attempts: u64,
    /// Attempts that ended, and those a person answered.
    pub ended: u64,
    pub answered: u64,
    /// `answered / ended` (none before the first ends).
    pub answer_rate: Option<f64>,
    pub meetings_booked: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    pub id: Uuid,
    pub status: CampaignStatus,
    #[serde(flatten)]
    pub settings: CampaignSettings,
    pub paused_by: Option<PausedBy>,
    /// When the dialer next looks at the campaign (it sleeps when nobody
    /// may be called now).
    pub wakes_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub counts: CampaignCounts,
}

/// A settings change: the whole settings, at the version read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignEdit {
    #[serde(flatten)]
    pub settings: CampaignSettings,
    pub version: i32,
}

/// Which prospects to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProspectSource {
    Ids {
        ids: Vec<Uuid>,
    },
    Filter {
        filter: ProspectFilter,
    },
    /// One of the caller's saved views (its filter).
    View {
        view_id: Uuid,
    },
    /// The rows a CSV import created or updated.
    Import {
        import_id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddProspects {
    pub source: ProspectSource,
    /// Per-prospect variables (`{{call.<name>}}` in the agent's texts), by
    /// prospect id; they take precedence over the prospect's custom fields.
    #[serde(default)]
    pub variables: BTreeMap<Uuid, BTreeMap<String, String>>,
}

/// Why a prospect was not added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotAdded {
    AlreadyInCampaign,
    /// Queued or being called in another campaign that is not over.
    InOtherCampaign {
        campaign_id: Uuid,
        campaign_name: String,
    },
    OnDncList,
    FlaggedDoNotCall,
    OptedOut,
    NoPhone,
}

impl NotAdded {
    pub fn key(&self) -> &'static str {
        match self {
            NotAdded::AlreadyInCampaign => "already_in_campaign",
            NotAdded::InOtherCampaign { .. } => "in_other_campaign",
            NotAdded::OnDncList => "on_dnc_list",
            NotAdded::FlaggedDoNotCall => "flagged_do_not_call",
            NotAdded::OptedOut => "opted_out",
            NotAdded::NoPhone => "no_phone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedProspect {
    pub prospect_id: Uuid,
    pub name: String,
    #[serde(flatten)]
    pub why: NotAdded,
}

/// What adding prospects did: every prospect is added or named here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddReport {
    pub added: u64,
    /// By reason key: how many were left out.
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Those left out, the first [`SKIPPED_LISTED`].
    pub skipped: Vec<SkippedProspect>,
}

/// Skipped prospects named one by one in a report (the counts hold all).
pub const SKIPPED_LISTED: usize = 500;

/// One prospect of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignProspect {
    pub prospect_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    /// `queued`, `dialing`, `done`, `skipped`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_result: Option<AttemptResult>,
    pub last_call_id: Option<Uuid>,
    /// Why it was skipped at dial time (a refusal's reason).
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignProspectPage {
    pub items: Vec<CampaignProspect>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// What live campaign pages receive: the campaign as it now is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignUpdate {
    pub campaign: Campaign,
}
