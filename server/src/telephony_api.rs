//! REST for the organisation's telephony under `/api/v1/orgs/{org}/telephony…`:
//! its LiveKit project (the secret is write-only), the connection test, and
//! SIP trunks created through LiveKit's SIP API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use services::telephony::{recording_settings as recordings, settings, trunks};

use crate::rest::{parse_uuid, ApiJson, AppError, OrgAccess};
use crate::state::AppState;

async fn get_settings(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<settings::TelephonySettings>, AppError> {
    Ok(Json(settings::get(&state.db, &ctx, &state.server_ctx.telephony).await?))
}

async fn save_settings(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(change): ApiJson<settings::TelephonyChange>,
) -> Result<Json<settings::TelephonySettings>, AppError> {
    Ok(Json(settings::save(&state.db, &ctx, &state.server_ctx.telephony, change).await?))
}

async fn test_connection(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<settings::ConnectionTest>, AppError> {
    Ok(Json(settings::test_connection(&state.db, &ctx, &state.server_ctx.telephony).await?))
}

async fn get_recordings(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<recordings::RecordingSettings>, AppError> {
    Ok(Json(recordings::get(&state.db, &ctx).await?))
}

async fn save_recordings(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(change): ApiJson<recordings::RecordingChange>,
) -> Result<Json<recordings::RecordingSettings>, AppError> {
    Ok(Json(recordings::save(&state.db, &ctx, &state.server_ctx.telephony, change).await?))
}

async fn test_recordings(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<recordings::ConnectionTest>, AppError> {
    Ok(Json(recordings::test(&state.db, &ctx, &state.server_ctx.telephony).await?))
}

async fn list_trunks(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<trunks::Trunk>>, AppError> {
    Ok(Json(trunks::list(&state.db, &ctx).await?))
}

async fn create_trunk(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(new): ApiJson<trunks::NewTrunk>,
) -> Result<(StatusCode, Json<trunks::Trunk>), AppError> {
    Ok((StatusCode::CREATED, Json(trunks::create(&state.db, &ctx, &state.server_ctx.telephony, new).await?)))
}

async fn delete_trunk(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    trunks::delete(&state.db, &ctx, &state.server_ctx.telephony, parse_uuid(&id, "trunk_id")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

api_routes! {
    "/orgs/{org}/telephony" => get(get_settings).put(save_settings);
    "/orgs/{org}/telephony/test" => post(test_connection);
    "/orgs/{org}/telephony/recordings" => get(get_recordings).put(save_recordings);
    "/orgs/{org}/telephony/recordings/test" => post(test_recordings);
    "/orgs/{org}/telephony/trunks" => get(list_trunks).post(create_trunk);
    "/orgs/{org}/telephony/trunks/{id}" => delete(delete_trunk);
}
