use domain::call_views::{
    Call, CallDetail, CallPage, CallParams, LiveCall, ProspectCall, RepCall, RepCallRequest, SuperviseMode,
    Supervision,
};
use domain::copilot::outcome::OutcomeReport;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "list_calls", input = Json)]
pub async fn list_calls(org_id: Uuid, params: CallParams) -> Result<CallPage, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let q = params.query()?;
    Ok(services::calls::list::list(&ctx.db, &org, &q).await?)
}

#[server(client = CsrfClient, endpoint = "get_call")]
pub async fn get_call(org_id: Uuid, call_id: Uuid) -> Result<CallDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::get(&ctx.db, &org, call_id).await?)
}

#[server(client = CsrfClient, endpoint = "hang_up_call")]
pub async fn hang_up_call(org_id: Uuid, call_id: Uuid) -> Result<CallDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::control::hang_up(&ctx.db, &org, &ctx.telephony, &ctx.bus, call_id).await?)
}

#[server(client = CsrfClient, endpoint = "transfer_call")]
pub async fn transfer_call(org_id: Uuid, call_id: Uuid) -> Result<CallDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::control::transfer(&ctx.db, &org, &ctx.telephony, &ctx.bus, call_id).await?)
}

#[server(client = CsrfClient, endpoint = "set_call_outcome", input = Json)]
pub async fn set_call_outcome(
    org_id: Uuid,
    call_id: Uuid,
    report: OutcomeReport,
) -> Result<CallDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::outcome::set(&ctx.db, &ctx.bus, &org, call_id, report).await?)
}

/// `key`: made when the dialog opens, so a double click or a retried
/// request places one call, not two.
#[server(client = CsrfClient, endpoint = "place_call")]
pub async fn place_call(
    org_id: Uuid,
    prospect_id: Uuid,
    agent_id: Uuid,
    key: String,
) -> Result<Call, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let req = services::calls::PlaceCall { prospect_id: Some(prospect_id), agent_id, ..Default::default() };
    let placed = services::calls::place::place(&ctx.db, &org, &ctx.telephony, req, Some(&key)).await?;
    Ok(placed.call)
}

#[server(client = CsrfClient, endpoint = "prospect_calls")]
pub async fn prospect_calls(org_id: Uuid, prospect_id: Uuid) -> Result<Vec<ProspectCall>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::history::of_prospect(&ctx.db, &org, prospect_id).await?)
}

/// The organisation's active voice agents, `(id, name)`, for "Call with agent…".
#[server(client = CsrfClient, endpoint = "voice_agents")]
pub async fn voice_agents(org_id: Uuid) -> Result<Vec<(Uuid, String)>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let filter = domain::views::AgentFilter {
        kind: Some(domain::agent::AgentKind::Voice),
        active: Some(true),
        ..Default::default()
    };
    let agents = services::agents::list(&ctx.db, &org, &filter).await?;
    Ok(agents.into_iter().map(|a| (a.id, a.name)).collect())
}

/// A short-lived address to play the call's recording (audited).
#[server(client = CsrfClient, endpoint = "call_recording")]
pub async fn call_recording(
    org_id: Uuid,
    call_id: Uuid,
) -> Result<domain::telephony::RecordingLink, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::recording::link(&ctx.db, &org, &ctx.telephony, call_id).await?)
}

/// A hidden, subscribe-only token to listen to a live call (audited).
#[server(client = CsrfClient, endpoint = "listen_call")]
pub async fn listen_call(org_id: Uuid, call_id: Uuid) -> Result<domain::call_views::RoomAccess, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::listen::listen(&ctx.db, &ctx.copilot, &org, &ctx.telephony, call_id).await?)
}

/// A manager's way into a live call: listen, whisper to the rep, or barge
/// (permission-checked, audited, shown to the rep).
#[server(client = CsrfClient, endpoint = "supervise_call")]
pub async fn supervise_call(
    org_id: Uuid,
    call_id: Uuid,
    mode: SuperviseMode,
) -> Result<Supervision, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::listen::supervise(&ctx.db, &ctx.copilot, &org, &ctx.telephony, call_id, mode).await?)
}

/// The calls in progress, for the managers' live board.
#[server(client = CsrfClient, endpoint = "live_calls")]
pub async fn live_calls(org_id: Uuid) -> Result<Vec<LiveCall>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::live::board(&ctx.db, &org).await?)
}

/// The rep calls the prospect from the copilot: the call, its session,
/// and the rep's way into its room.
#[server(client = CsrfClient, endpoint = "rep_call", input = Json)]
pub async fn call_prospect(org_id: Uuid, req: RepCallRequest) -> Result<RepCall, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::rep::place(&ctx.db, &org, &ctx.telephony, req).await?)
}

/// The rep's live call, if any (the copilot reopened), with a fresh token.
#[server(client = CsrfClient, endpoint = "rep_current_call")]
pub async fn rep_current_call(org_id: Uuid) -> Result<Option<RepCall>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::rep::current(&ctx.db, &org, &ctx.telephony).await?)
}

/// Hold (or resume) the rep's own call.
#[server(client = CsrfClient, endpoint = "rep_hold")]
pub async fn rep_hold(org_id: Uuid, call_id: Uuid, hold: bool, music: bool) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::calls::rep::hold(&ctx.db, &org, &ctx.telephony, call_id, hold, music).await?)
}

/// What an analysis is of: a phone call, or a rep's copilot call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Analysed {
    Call(Uuid),
    Session(Uuid),
}

#[cfg(feature = "ssr")]
impl Analysed {
    fn subject(self) -> services::analysis::Subject {
        match self {
            Analysed::Call(id) => services::analysis::Subject::Call(id),
            Analysed::Session(id) => services::analysis::Subject::Session(id),
        }
    }
}

/// The post-call analysis and where it stands.
#[server(client = CsrfClient, endpoint = "get_analysis", input = Json)]
pub async fn get_analysis(org_id: Uuid, of: Analysed) -> Result<domain::analysis::AnalysisView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::analysis::of(&ctx.db, &org, of.subject()).await?)
}

/// A manager's correction of the whole analysis (audited).
#[server(client = CsrfClient, endpoint = "edit_analysis", input = Json)]
pub async fn edit_analysis(
    org_id: Uuid,
    of: Analysed,
    analysis: domain::analysis::CallAnalysis,
) -> Result<domain::analysis::AnalysisView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let edit = domain::analysis::AnalysisEdit { analysis };
    Ok(services::analysis::edit(&ctx.db, &org, &ctx.telephony.clock, of.subject(), edit).await?)
}
