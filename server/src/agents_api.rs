//! REST for agents, folders, provider settings and the chat playground,
//! under `/api/v1/orgs/{org}/…`. The playground's message endpoint answers
//! with `text/event-stream`: one `PlaygroundEvent` JSON per event.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::agent::{AgentKind, AgentSettings};
use domain::{ErrorCode, Permission};
use serde::Deserialize;
use services::agents::{self, AgentFilter, FolderFilter};
use services::{credentials, playground};
use uuid::Uuid;

use crate::rest::{parse_uuid, ApiJson, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::StreamGuard;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    #[serde(default)]
    search: String,
    kind: Option<String>,
    /// `root`, a folder id, or absent for all.
    folder: Option<String>,
    active: Option<bool>,
}

async fn list_agents(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<agents::AgentSummary>>, AppError> {
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(AgentKind::parse(k).ok_or_else(|| AppError::field(ErrorCode::Validation, "kind"))?),
    };
    let folder = match q.folder.as_deref() {
        None | Some("") => FolderFilter::Any,
        Some("root") => FolderFilter::Root,
        Some(id) => FolderFilter::Folder(parse_uuid(id, "folder")?),
    };
    let filter = AgentFilter { search: q.search, kind, folder, active: q.active };
    Ok(Json(agents::list(&state.db, &ctx, &filter).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateBody {
    folder_id: Option<Uuid>,
    settings: AgentSettings,
}

async fn create_agent(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<agents::Agent>), AppError> {
    Ok((StatusCode::CREATED, Json(agents::create(&state.db, &ctx, body.folder_id, body.settings).await?)))
}

async fn get_agent(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<agents::Agent>, AppError> {
    Ok(Json(agents::get(&state.db, &ctx, parse_uuid(&id, "agent_id")?).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateBody {
    version: i32,
    settings: AgentSettings,
}

async fn update_agent(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<agents::Agent>, AppError> {
    let id = parse_uuid(&id, "agent_id")?;
    Ok(Json(agents::update(&state.db, &ctx, id, body.version, body.settings).await?))
}

async fn delete_agent(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    agents::delete(&state.db, &ctx, parse_uuid(&id, "agent_id")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ActiveBody {
    active: bool,
}

async fn set_active(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ActiveBody>,
) -> Result<StatusCode, AppError> {
    agents::set_active(&state.db, &ctx, parse_uuid(&id, "agent_id")?, body.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn duplicate_agent(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<agents::Agent>), AppError> {
    Ok((StatusCode::CREATED, Json(agents::duplicate(&state.db, &ctx, parse_uuid(&id, "agent_id")?).await?)))
}

async fn list_folders(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<agents::Folder>>, AppError> {
    Ok(Json(agents::list_folders(&state.db, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NameBody {
    name: String,
}

async fn create_folder(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<(StatusCode, Json<agents::Folder>), AppError> {
    Ok((StatusCode::CREATED, Json(agents::create_folder(&state.db, &ctx, &body.name).await?)))
}

async fn list_providers(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<credentials::CredentialView>>, AppError> {
    Ok(Json(credentials::list(&state.db, &ctx, &state.server_ctx.providers).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = AgentStartBody)]
pub(crate) struct StartBody {
    #[serde(default)]
    prospect: BTreeMap<String, String>,
}

async fn start_conversation(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<playground::Conversation>), AppError> {
    // The body is optional: none means the sample prospect as is.
    let prospect = if body.iter().all(u8::is_ascii_whitespace) {
        BTreeMap::new()
    } else {
        serde_json::from_slice::<StartBody>(&body)
            .map_err(|e| AppError { code: ErrorCode::Validation, field: None, detail: Some(e.to_string()) })?
            .prospect
    };
    let conv = playground::start(&state.db, &ctx, parse_uuid(&id, "agent_id")?, &prospect).await?;
    Ok((StatusCode::CREATED, Json(conv)))
}

async fn list_conversations(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<playground::ConversationSummary>>, AppError> {
    Ok(Json(playground::list_for_agent(&state.db, &ctx, parse_uuid(&id, "agent_id")?).await?))
}

async fn get_conversation(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<playground::Conversation>, AppError> {
    Ok(Json(playground::get(&state.db, &ctx, parse_uuid(&id, "conversation_id")?).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct MessageBody {
    text: String,
}

/// Streams one turn. Refusals that need no model call come back as a plain
/// JSON error with its status; once the stream starts, failures arrive as
/// an `error` event. When the caller's session or membership ends midway,
/// the stream ends with `event: revoked` and generation stops.
async fn send_message(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "conversation_id")?;
    let turn = playground::prepare(&state.db, &ctx, &state.server_ctx.providers, id, &body.text).await?;
    // The copilot's judge reads the prospect's words first: an opt-out ends
    // the conversation politely, as it will end a phone call. Without the
    // model (or a free slot), the phrase rules judge.
    let language = Some(turn.language());
    let heard = match state.server_ctx.copilot.semantic().judge(&body.text, language).await {
        Some(heard) => heard,
        None => services::copilot::semantic::judge(None, &body.text, language),
    };
    let turn = turn.heard(heard);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = turn.run(&db, tx).await {
            tracing::error!(conversation = %id, error = %e, "playground turn could not be saved");
        }
    });
    let events = futures::stream::unfold(rx, |mut rx| async move { Some((rx.recv().await?, rx)) });
    // Ending the stream drops `rx`: the turn stops at its next event.
    Ok(StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace).json_sse(events))
}

async fn catalogue() -> Json<&'static [domain::catalogue::Provider]> {
    Json(domain::catalogue::PROVIDERS)
}

api_routes! {
    "/catalogue/providers" => get(catalogue);
    "/orgs/{org}/agents" => get(list_agents).post(create_agent);
    "/orgs/{org}/agents/{id}" => get(get_agent).put(update_agent).delete(delete_agent);
    "/orgs/{org}/agents/{id}/active" => post(set_active);
    "/orgs/{org}/agents/{id}/duplicate" => post(duplicate_agent);
    "/orgs/{org}/agents/{id}/conversations" => get(list_conversations).post(start_conversation);
    "/orgs/{org}/agents/{id}/test-call" => get(crate::test_call::test_call_socket);
    "/orgs/{org}/agent-folders" => get(list_folders).post(create_folder);
    "/orgs/{org}/providers" => get(list_providers);
    "/orgs/{org}/conversations/{id}" => get(get_conversation);
    "/orgs/{org}/conversations/{id}/messages" => post(send_message);
}
