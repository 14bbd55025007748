//! REST for the SDR copilot under `/api/v1/orgs/{org}/…`: scripts (with
//! versions and AI generation), the knowledge base and its review workflow,
//! the technique library, the call queue, pre-call briefs and live sessions.
//!
//! A session's live events stream as `text/event-stream` (one
//! `CopilotEvent` JSON per event) from `GET …/copilot/sessions/{id}/events`;
//! transcript utterances arrive by `POST …/transcript` (the voice pipeline,
//! integrations) or from the practice-mode microphone socket.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::copilot::knowledge::{KnowledgeDraft, ReviewAction, UsageKind};
use domain::copilot::outcome::OutcomeReport;
use domain::copilot::script::{Phase, Speaker, Utterance};
use domain::copilot::views::{
    Brief, CopilotEvent, KnowledgeItem, KnowledgeQuery, OptOutRecorded, OptOutRequest, QueueEntry,
    ScriptDetail, ScriptInput, ScriptSummary, ScriptVersionInfo, SessionMode, SessionView, Technique,
};
use domain::{ErrorCode, Locale, Permission};
use serde::Deserialize;
use services::copilot::ai::{self, GenerateRequest};
use services::copilot::sessions::{self, Nav};
use services::copilot::{knowledge, scripts, techniques};
use uuid::Uuid;

use crate::rest::{parse_uuid, ApiJson, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::StreamGuard;

fn lang(s: Option<&str>) -> Result<Locale, AppError> {
    match s {
        None => Ok(Locale::En),
        Some(l) => Locale::parse(l).ok_or_else(|| AppError::field(ErrorCode::InvalidLanguage, "language")),
    }
}

// ---- scripts -------------------------------------------------------------------

async fn list_scripts(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<ScriptSummary>>, AppError> {
    Ok(Json(scripts::list(&state.db, &ctx).await?))
}

async fn create_script(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(input): ApiJson<ScriptInput>,
) -> Result<(StatusCode, Json<ScriptDetail>), AppError> {
    Ok((StatusCode::CREATED, Json(scripts::create(&state.db, &ctx, input).await?)))
}

async fn get_script(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ScriptDetail>, AppError> {
    Ok(Json(scripts::get(&state.db, &ctx, parse_uuid(&id, "script_id")?).await?))
}

async fn update_script(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<ScriptInput>,
) -> Result<Json<ScriptDetail>, AppError> {
    Ok(Json(scripts::update(&state.db, &ctx, parse_uuid(&id, "script_id")?, input).await?))
}

async fn archive_script(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    scripts::archive(&state.db, &ctx, parse_uuid(&id, "script_id")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn script_versions(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<ScriptVersionInfo>>, AppError> {
    Ok(Json(scripts::versions(&state.db, &ctx, parse_uuid(&id, "script_id")?).await?))
}

async fn generate_script(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(req): ApiJson<GenerateRequest>,
) -> Result<(StatusCode, Json<ScriptDetail>), AppError> {
    let script = ai::generate_script(&state.db, &ctx, &state.server_ctx.providers, req).await?;
    Ok((StatusCode::CREATED, Json(script)))
}

// ---- knowledge -----------------------------------------------------------------

async fn list_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<KnowledgeQuery>,
) -> Result<Json<Vec<KnowledgeItem>>, AppError> {
    Ok(Json(knowledge::list(&state.db, &ctx, &q).await?))
}

async fn most_used_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<KnowledgeItem>>, AppError> {
    Ok(Json(knowledge::most_used(&state.db, &ctx, 10).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RelatedQuery {
    text: String,
    limit: Option<u64>,
}

/// Approved items relevant to an utterance (the copilot's knowledge panel).
async fn related_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<RelatedQuery>,
) -> Result<Json<Vec<KnowledgeItem>>, AppError> {
    let semantic = state.server_ctx.copilot.semantic();
    Ok(Json(knowledge::related(&state.db, &ctx, semantic, &q.text, q.limit.unwrap_or(5)).await?))
}

async fn create_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(draft): ApiJson<KnowledgeDraft>,
) -> Result<(StatusCode, Json<KnowledgeItem>), AppError> {
    Ok((StatusCode::CREATED, Json(knowledge::create(&state.db, &ctx, &draft).await?)))
}

async fn get_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<KnowledgeItem>, AppError> {
    Ok(Json(knowledge::get(&state.db, &ctx, parse_uuid(&id, "item_id")?).await?))
}

async fn update_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(draft): ApiJson<KnowledgeDraft>,
) -> Result<Json<KnowledgeItem>, AppError> {
    Ok(Json(knowledge::update(&state.db, &ctx, parse_uuid(&id, "item_id")?, &draft).await?))
}

async fn delete_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    knowledge::delete(&state.db, &ctx, parse_uuid(&id, "item_id")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn review_knowledge(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(action): ApiJson<ReviewAction>,
) -> Result<Json<KnowledgeItem>, AppError> {
    Ok(Json(knowledge::review(&state.db, &ctx, parse_uuid(&id, "item_id")?, &action).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UsageBody {
    kind: UsageKind,
}

async fn knowledge_usage(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UsageBody>,
) -> Result<StatusCode, AppError> {
    knowledge::record_usage(&state.db, &ctx, parse_uuid(&id, "item_id")?, body.kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- techniques ----------------------------------------------------------------

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TechniqueQuery {
    language: Option<String>,
    phase: Option<String>,
}

async fn list_techniques(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<TechniqueQuery>,
) -> Result<Json<Vec<Technique>>, AppError> {
    let phase = q.phase.as_deref().map(Phase::parse).transpose().map_err(services::ServiceError::from)?;
    Ok(Json(techniques::list(&state.db, &ctx, lang(q.language.as_deref())?, phase).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RatingBody {
    rating: i16,
}

async fn rate_technique(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RatingBody>,
) -> Result<Json<Technique>, AppError> {
    Ok(Json(techniques::rate(&state.db, &ctx, parse_uuid(&id, "technique_id")?, body.rating).await?))
}

// ---- queue, brief, history -------------------------------------------------------

async fn queue(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<QueueEntry>>, AppError> {
    Ok(Json(sessions::queue(&state.db, &ctx, 50).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BriefQuery {
    language: Option<String>,
    #[serde(default)]
    refresh: bool,
}

async fn brief(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<BriefQuery>,
) -> Result<Json<Brief>, AppError> {
    let id = parse_uuid(&id, "prospect_id")?;
    let lang = lang(q.language.as_deref())?;
    Ok(Json(ai::brief(&state.db, &ctx, &state.server_ctx.providers, id, lang, q.refresh).await?))
}

// ---- sessions --------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SessionStartBody)]
pub(crate) struct StartBody {
    prospect_id: Uuid,
    #[serde(default)]
    script_id: Option<Uuid>,
    mode: SessionMode,
    #[serde(default)]
    language: Option<String>,
}

async fn start_session(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<(StatusCode, Json<SessionView>), AppError> {
    let lang = lang(body.language.as_deref())?;
    let hub = &state.server_ctx.copilot;
    let view =
        sessions::start(&state.db, hub, &ctx, body.prospect_id, body.script_id, body.mode, lang).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn get_session(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<SessionView>, AppError> {
    let id = parse_uuid(&id, "session_id")?;
    Ok(Json(sessions::get(&state.db, &state.server_ctx.copilot, &ctx, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct TranscriptBody {
    #[serde(default)]
    speaker: Speaker,
    text: String,
    #[serde(default = "yes")]
    is_final: bool,
}

fn yes() -> bool {
    true
}

async fn post_transcript(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TranscriptBody>,
) -> Result<Json<Vec<CopilotEvent>>, AppError> {
    let id = parse_uuid(&id, "session_id")?;
    let u = Utterance { speaker: body.speaker, text: body.text, is_final: body.is_final };
    Ok(Json(sessions::observe(&state.db, &state.server_ctx.copilot, &ctx, id, u).await?))
}

async fn navigate(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(nav): ApiJson<Nav>,
) -> Result<Json<Option<CopilotEvent>>, AppError> {
    let id = parse_uuid(&id, "session_id")?;
    Ok(Json(sessions::navigate(&state.db, &state.server_ctx.copilot, &ctx, id, nav).await?))
}

async fn end_session(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(report): ApiJson<OutcomeReport>,
) -> Result<Json<SessionView>, AppError> {
    let id = parse_uuid(&id, "session_id")?;
    Ok(Json(
        sessions::end(
            &state.db,
            &state.server_ctx.copilot,
            &state.server_ctx.telephony.clock,
            &ctx,
            id,
            report,
        )
        .await?,
    ))
}

/// `GET …/copilot/sessions/{id}/analysis`: the rep's call analysed after it ended.
async fn get_session_analysis(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<domain::analysis::AnalysisView>, AppError> {
    let subject = services::analysis::Subject::Session(parse_uuid(&id, "session_id")?);
    Ok(Json(services::analysis::of(&state.db, &ctx, subject).await?))
}

/// `PUT …/copilot/sessions/{id}/analysis`: a manager's correction (audited).
async fn edit_session_analysis(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<domain::analysis::AnalysisEdit>,
) -> Result<Json<domain::analysis::AnalysisView>, AppError> {
    let subject = services::analysis::Subject::Session(parse_uuid(&id, "session_id")?);
    let clock = &state.server_ctx.telephony.clock;
    Ok(Json(services::analysis::edit(&state.db, &ctx, clock, subject, body).await?))
}

/// Honours the opt-out card `seq`: the prospect is marked opted out and
/// their number listed, with what they said kept as evidence. Idempotent.
async fn honour_opt_out(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<OptOutRequest>,
) -> Result<Json<OptOutRecorded>, AppError> {
    let id = parse_uuid(&id, "session_id")?;
    Ok(Json(services::copilot::opt_out::honour(&state.db, &ctx, id, req.seq).await?))
}

/// The live event stream of a session, from whichever node produces its
/// events (the event bus). A watcher too slow to keep up skips what it
/// missed and can reload the session for the full history. It ends with the
/// session's `ended` event, or (`event: revoked`) when the watcher's access does.
async fn session_events(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "session_id")?;
    let live = sessions::subscribe(&state.db, &state.server_ctx.copilot, &ctx, id).await?;
    let live = services::events::through_final(live, |ev| matches!(ev, CopilotEvent::Ended { .. }));
    Ok(StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace).json_sse(live))
}

api_routes! {
    "/orgs/{org}/scripts" => get(list_scripts).post(create_script);
    "/orgs/{org}/scripts/generate" => post(generate_script);
    "/orgs/{org}/scripts/{id}" => get(get_script).put(update_script).delete(archive_script);
    "/orgs/{org}/scripts/{id}/versions" => get(script_versions);
    "/orgs/{org}/knowledge" => get(list_knowledge).post(create_knowledge);
    "/orgs/{org}/knowledge/most-used" => get(most_used_knowledge);
    "/orgs/{org}/knowledge/related" => get(related_knowledge);
    "/orgs/{org}/knowledge/{id}" => get(get_knowledge).put(update_knowledge).delete(delete_knowledge);
    "/orgs/{org}/knowledge/{id}/review" => post(review_knowledge);
    "/orgs/{org}/knowledge/{id}/usage" => post(knowledge_usage);
    "/orgs/{org}/techniques" => get(list_techniques);
    "/orgs/{org}/techniques/{id}/rating" => post(rate_technique);
    "/orgs/{org}/copilot/queue" => get(queue);
    "/orgs/{org}/prospects/{id}/brief" => get(brief);
    "/orgs/{org}/copilot/sessions" => post(start_session);
    "/orgs/{org}/copilot/sessions/{id}" => get(get_session);
    "/orgs/{org}/copilot/sessions/{id}/transcript" => post(post_transcript);
    "/orgs/{org}/copilot/sessions/{id}/navigate" => post(navigate);
    "/orgs/{org}/copilot/sessions/{id}/end" => post(end_session);
    "/orgs/{org}/copilot/sessions/{id}/analysis" => get(get_session_analysis).put(edit_session_analysis);
    "/orgs/{org}/copilot/sessions/{id}/opt-out" => post(honour_opt_out);
    "/orgs/{org}/copilot/sessions/{id}/events" => get(session_events);
    "/orgs/{org}/copilot/sessions/{id}/audio" => get(crate::copilot_audio::audio_socket);
}
