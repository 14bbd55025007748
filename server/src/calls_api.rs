//! REST for calls under `/api/v1/orgs/{org}/calls…` (placing one, with an
//! optional `Idempotency-Key`; reading them), and LiveKit's webhooks at
//! `POST /webhooks/livekit`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::ErrorCode;
use services::calls::{self, place, webhook};

use crate::rest::{parse_uuid, ApiJson, AppError, OrgAccess};
use crate::state::AppState;

async fn place_call(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    headers: HeaderMap,
    ApiJson(req): ApiJson<place::PlaceCall>,
) -> Result<(StatusCode, Json<calls::Call>), AppError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| AppError::field(ErrorCode::Validation, "idempotency_key"))?),
    };
    let placed = place::place(&state.db, &ctx, &state.server_ctx.telephony, req, key).await?;
    let status = if placed.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(placed.call)))
}

async fn list_calls(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<calls::Call>>, AppError> {
    Ok(Json(calls::recent(&state.db, &ctx, 100).await?))
}

async fn get_call(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<calls::CallDetail>, AppError> {
    Ok(Json(calls::get(&state.db, &ctx, parse_uuid(&id, "call_id")?).await?))
}

async fn hang_up(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<calls::CallDetail>, AppError> {
    let (env, bus) = (&state.server_ctx.telephony, &state.server_ctx.bus);
    Ok(Json(calls::control::hang_up(&state.db, &ctx, env, bus, parse_uuid(&id, "call_id")?).await?))
}

async fn transfer(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<calls::CallDetail>, AppError> {
    let (env, bus) = (&state.server_ctx.telephony, &state.server_ctx.bus);
    Ok(Json(calls::control::transfer(&state.db, &ctx, env, bus, parse_uuid(&id, "call_id")?).await?))
}

/// LiveKit's webhook: 200 once applied (or about nothing of ours, or a
/// repeat), 401 when the signature does not hold — then nothing changed.
pub async fn livekit_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if body.len() > webhook::BODY_MAX {
        return crate::rest::error_response(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::Validation, None);
    }
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Ok(body) = std::str::from_utf8(&body) else {
        return crate::rest::error_response(StatusCode::BAD_REQUEST, ErrorCode::Validation, None);
    };
    let env = &state.server_ctx.telephony;
    match webhook::receive(&state.db, env, &state.server_ctx.bus, body, auth).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(Ok(webhook::Refusal::Unauthorized)) => {
            crate::rest::error_response(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, None)
        }
        Err(Ok(webhook::Refusal::Malformed)) => {
            crate::rest::error_response(StatusCode::BAD_REQUEST, ErrorCode::Validation, None)
        }
        // A database hiccup: LiveKit retries on a 5xx.
        Err(Err(e)) => AppError::from(e).into_response(),
    }
}

api_routes! {
    "/orgs/{org}/calls" => get(list_calls).post(place_call);
    "/orgs/{org}/calls/{id}" => get(get_call);
    "/orgs/{org}/calls/{id}/hang-up" => post(hang_up);
    "/orgs/{org}/calls/{id}/transfer" => post(transfer);
}
