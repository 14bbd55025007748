//! REST for campaigns under `/api/v1/orgs/{org}/campaigns…`: create, read,
//! edit, start / pause / resume / complete / archive, add prospects, list
//! them, and follow a campaign live.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::campaign::views::{AddProspects, AddReport, Campaign, CampaignEdit, CampaignProspectPage};
use domain::campaign::{CampaignAction, CampaignSettings, CampaignStatus};
use domain::{ErrorCode, Permission};
use serde::Deserialize;
use services::campaigns::{self, members};

use crate::rest::{parse_uuid, ApiJson, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::StreamGuard;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `draft`, `active`, `paused`, `completed` or `archived` (default:
    /// every campaign not archived).
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<Campaign>>, AppError> {
    let status = match p.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            Some(CampaignStatus::parse(s).ok_or_else(|| AppError::field(ErrorCode::InvalidValue, "status"))?)
        }
    };
    Ok(Json(campaigns::list(&state.db, &ctx, status).await?))
}

async fn create(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(settings): ApiJson<CampaignSettings>,
) -> Result<(StatusCode, Json<Campaign>), AppError> {
    let c = campaigns::create(&state.db, &ctx, &state.server_ctx.telephony, settings).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn get(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Campaign>, AppError> {
    Ok(Json(campaigns::get(&state.db, &ctx, parse_uuid(&id, "campaign_id")?).await?))
}

async fn edit(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CampaignEdit>,
) -> Result<Json<Campaign>, AppError> {
    let id = parse_uuid(&id, "campaign_id")?;
    let s = &state.server_ctx;
    Ok(Json(campaigns::edit(&state.db, &ctx, &s.telephony, &s.bus, id, body).await?))
}

async fn act(
    state: AppState,
    ctx: services::OrgCtx,
    id: String,
    action: CampaignAction,
) -> Result<Json<Campaign>, AppError> {
    let id = parse_uuid(&id, "campaign_id")?;
    let s = &state.server_ctx;
    Ok(Json(campaigns::act(&state.db, &ctx, &s.telephony, &s.bus, id, action).await?))
}

macro_rules! action_handler {
    ($($name:ident => $action:expr;)*) => {$(
        async fn $name(
            State(state): State<AppState>,
            OrgAccess { ctx, .. }: OrgAccess,
            Path((_, id)): Path<(String, String)>,
        ) -> Result<Json<Campaign>, AppError> {
            act(state, ctx, id, $action).await
        }
    )*};
}

action_handler! {
    start => CampaignAction::Start;
    pause => CampaignAction::Pause;
    resume => CampaignAction::Resume;
    complete => CampaignAction::Complete;
    archive => CampaignAction::Archive;
}

async fn add_prospects(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<AddProspects>,
) -> Result<Json<AddReport>, AppError> {
    let id = parse_uuid(&id, "campaign_id")?;
    let s = &state.server_ctx;
    Ok(Json(members::add(&state.db, &ctx, &s.telephony, &s.bus, id, body).await?))
}

async fn list_prospects(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<members::MemberQuery>,
) -> Result<Json<CampaignProspectPage>, AppError> {
    let id = parse_uuid(&id, "campaign_id")?;
    Ok(Json(members::list(&state.db, &ctx, id, &q).await?))
}

/// `GET …/campaigns/{id}/events`: the campaign now, then again as it and its
/// calls change (server-sent events, `{"campaign": …}`).
async fn events(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "campaign_id")?;
    let live = campaigns::live::watch(&state.db, &state.server_ctx.bus, &ctx, id).await?;
    Ok(StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace).json_sse(live))
}

api_routes! {
    "/orgs/{org}/campaigns" => get(list).post(create);
    "/orgs/{org}/campaigns/{id}" => get(get).put(edit);
    "/orgs/{org}/campaigns/{id}/start" => post(start);
    "/orgs/{org}/campaigns/{id}/pause" => post(pause);
    "/orgs/{org}/campaigns/{id}/resume" => post(resume);
    "/orgs/{org}/campaigns/{id}/complete" => post(complete);
    "/orgs/{org}/campaigns/{id}/archive" => post(archive);
    "/orgs/{org}/campaigns/{id}/prospects" => get(list_prospects).post(add_prospects);
    "/orgs/{org}/campaigns/{id}/events" => get(events);
}
