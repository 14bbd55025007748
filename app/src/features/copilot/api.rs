//! Copilot server functions: authenticate, authorise through `require_org`,
//! call `services::copilot`. Bodies with nested data travel as JSON.

use domain::copilot::knowledge::{KnowledgeDraft, ReviewAction, UsageKind};
use domain::copilot::outcome::OutcomeReport;
use domain::copilot::script::{Phase, Speaker};
use domain::copilot::views::{
    Brief, CopilotEvent, KnowledgeItem, KnowledgeQuery, OptOutRecorded, QueueEntry, ScriptDetail,
    ScriptInput, ScriptSummary, ScriptVersionInfo, SessionMode, SessionView, Technique,
};
use domain::Locale;
use leptos::prelude::*;
use server_fn::codec::Json;
use uuid::Uuid;

use super::types::{GenerateScript, Navigation, PastCall};
use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "copilot_queue")]
pub async fn queue(org_id: Uuid) -> Result<Vec<QueueEntry>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::sessions::queue(&ctx.db, &org, 50).await?)
}

#[server(client = CsrfClient, endpoint = "copilot_brief")]
pub async fn prospect_brief(
    org_id: Uuid,
    prospect_id: Uuid,
    language: Locale,
    refresh: bool,
) -> Result<Brief, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::ai::brief(&ctx.db, &org, &ctx.providers, prospect_id, language, refresh).await?)
}

#[server(client = CsrfClient, endpoint = "copilot_call_history")]
pub async fn call_history(org_id: Uuid, prospect_id: Uuid) -> Result<Vec<PastCall>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let rows = services::copilot::sessions::history(&ctx.db, &org, prospect_id).await?;
    Ok(rows
        .into_iter()
        .map(|r| PastCall {
            id: r.id,
            mode: r.mode,
            rep: r.rep,
            started_at: r.started_at,
            outcome: r.outcome,
            notes: r.notes,
        })
        .collect())
}

#[server(client = CsrfClient, endpoint = "copilot_start")]
pub async fn start_session(
    org_id: Uuid,
    prospect_id: Uuid,
    script_id: Option<Uuid>,
    mode: SessionMode,
    language: Locale,
) -> Result<SessionView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::sessions::start(
        &ctx.db,
        &ctx.copilot,
        &org,
        prospect_id,
        script_id,
        mode,
        language,
    )
    .await?)
}

#[server(client = CsrfClient, endpoint = "copilot_session")]
pub async fn get_session(org_id: Uuid, session_id: Uuid) -> Result<SessionView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::sessions::get(&ctx.db, &ctx.copilot, &org, session_id).await?)
}

/// Typed transcript (the rep notes what the prospect said, or drives a
/// session without a live audio source).
#[server(client = CsrfClient, endpoint = "copilot_say")]
pub async fn say(
    org_id: Uuid,
    session_id: Uuid,
    speaker: Speaker,
    text: String,
) -> Result<Vec<CopilotEvent>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let u = domain::copilot::script::Utterance { speaker, text, is_final: true };
    Ok(services::copilot::sessions::observe(&ctx.db, &ctx.copilot, &org, session_id, u).await?)
}

#[server(client = CsrfClient, endpoint = "copilot_navigate", input = Json)]
pub async fn navigate(
    org_id: Uuid,
    session_id: Uuid,
    to: Navigation,
) -> Result<Option<CopilotEvent>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let nav = match to {
        Navigation::Next => services::copilot::sessions::Nav::Next,
        Navigation::Previous => services::copilot::sessions::Nav::Previous,
        Navigation::Phase(p) => services::copilot::sessions::Nav::Phase(p),
    };
    Ok(services::copilot::sessions::navigate(&ctx.db, &ctx.copilot, &org, session_id, nav).await?)
}

#[server(client = CsrfClient, endpoint = "copilot_end", input = Json)]
pub async fn end_session(
    org_id: Uuid,
    session_id: Uuid,
    report: OutcomeReport,
) -> Result<SessionView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::sessions::end(
        &ctx.db,
        &ctx.copilot,
        &ctx.telephony.clock,
        &org,
        session_id,
        report,
    )
    .await?)
}

/// Honours the session's opt-out card `seq` (see `services::copilot::opt_out`).
#[server(client = CsrfClient, endpoint = "copilot_opt_out")]
pub async fn honour_opt_out(org_id: Uuid, session_id: Uuid, seq: i64) -> Result<OptOutRecorded, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::opt_out::honour(&ctx.db, &org, session_id, seq).await?)
}

#[server(client = CsrfClient, endpoint = "list_scripts")]
pub async fn list_scripts(org_id: Uuid) -> Result<Vec<ScriptSummary>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::scripts::list(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "get_script")]
pub async fn get_script(org_id: Uuid, script_id: Uuid) -> Result<ScriptDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::scripts::get(&ctx.db, &org, script_id).await?)
}

#[server(client = CsrfClient, endpoint = "script_versions")]
pub async fn script_versions(org_id: Uuid, script_id: Uuid) -> Result<Vec<ScriptVersionInfo>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::scripts::versions(&ctx.db, &org, script_id).await?)
}

/// Creates (`script_id` absent) or saves a new version of a script.
#[server(client = CsrfClient, endpoint = "save_script", input = Json)]
pub async fn save_script(
    org_id: Uuid,
    script_id: Option<Uuid>,
    input: ScriptInput,
) -> Result<ScriptDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(match script_id {
        Some(id) => services::copilot::scripts::update(&ctx.db, &org, id, input).await?,
        None => services::copilot::scripts::create(&ctx.db, &org, input).await?,
    })
}

#[server(client = CsrfClient, endpoint = "generate_script", input = Json)]
pub async fn generate_ai_script(org_id: Uuid, request: GenerateScript) -> Result<ScriptDetail, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let req = services::copilot::ai::GenerateRequest {
        name: request.name,
        language: request.language,
        product: request.product,
        prospect_id: request.prospect_id,
        technique_ids: request.technique_ids,
    };
    Ok(services::copilot::ai::generate_script(&ctx.db, &org, &ctx.providers, req).await?)
}

#[server(client = CsrfClient, endpoint = "list_knowledge", input = Json)]
pub async fn list_knowledge(org_id: Uuid, query: KnowledgeQuery) -> Result<Vec<KnowledgeItem>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::knowledge::list(&ctx.db, &org, &query).await?)
}

#[server(client = CsrfClient, endpoint = "most_used_knowledge")]
pub async fn most_used_knowledge(org_id: Uuid) -> Result<Vec<KnowledgeItem>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::knowledge::most_used(&ctx.db, &org, 5).await?)
}

/// Approved items relevant to what the prospect just said.
#[server(client = CsrfClient, endpoint = "related_knowledge")]
pub async fn related_knowledge(org_id: Uuid, text: String) -> Result<Vec<KnowledgeItem>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let semantic = ctx.copilot.semantic();
    Ok(services::copilot::knowledge::related(&ctx.db, &org, semantic, &text, 3).await?)
}

/// Creates (`item_id` absent) or edits a knowledge item.
#[server(client = CsrfClient, endpoint = "save_knowledge", input = Json)]
pub async fn save_knowledge(
    org_id: Uuid,
    item_id: Option<Uuid>,
    draft: KnowledgeDraft,
) -> Result<KnowledgeItem, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(match item_id {
        Some(id) => services::copilot::knowledge::update(&ctx.db, &org, id, &draft).await?,
        None => services::copilot::knowledge::create(&ctx.db, &org, &draft).await?,
    })
}

/// Submits, withdraws, approves or rejects. Approve and reject carry the
/// version the reviewer was shown; an item edited since answers `stale_version`.
#[server(client = CsrfClient, endpoint = "review_knowledge", input = Json)]
pub async fn review_knowledge(
    org_id: Uuid,
    item_id: Uuid,
    action: ReviewAction,
) -> Result<KnowledgeItem, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::knowledge::review(&ctx.db, &org, item_id, &action).await?)
}

#[server(client = CsrfClient, endpoint = "knowledge_usage")]
pub async fn knowledge_usage(org_id: Uuid, item_id: Uuid, kind: UsageKind) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::knowledge::record_usage(&ctx.db, &org, item_id, kind).await?)
}

#[server(client = CsrfClient, endpoint = "delete_knowledge")]
pub async fn delete_knowledge(org_id: Uuid, item_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::knowledge::delete(&ctx.db, &org, item_id).await?)
}

#[server(client = CsrfClient, endpoint = "list_techniques")]
pub async fn list_techniques(
    org_id: Uuid,
    language: Locale,
    phase: Option<Phase>,
) -> Result<Vec<Technique>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::techniques::list(&ctx.db, &org, language, phase).await?)
}

#[server(client = CsrfClient, endpoint = "rate_technique")]
pub async fn rate_technique(org_id: Uuid, technique_id: Uuid, rating: i16) -> Result<Technique, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::copilot::techniques::rate(&ctx.db, &org, technique_id, rating).await?)
}

/// The URL of a session's live event stream (server-sent events).
pub fn events_url(org_id: Uuid, session_id: Uuid) -> String {
    format!("/api/v1/orgs/{org_id}/copilot/sessions/{session_id}/events")
}
