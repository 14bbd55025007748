//! REST for calls under `/api/v1/orgs/{org}/calls…` (placing one, with an
//! optional `Idempotency-Key`; reading them), and LiveKit's webhooks at
//! `POST /webhooks/livekit`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::call_views::CallParams;
use domain::copilot::outcome::OutcomeReport;
use domain::{ErrorCode, Permission};
use services::calls::{self, place, webhook};

use crate::rest::{parse_uuid, ApiJson, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::StreamGuard;

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

/// `GET …/calls?status=&outcome=&agent_id=&prospect_id=&direction=&from=&until=&sort=&order=&page=&per_page=`.
async fn list_calls(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(params): ApiQuery<CallParams>,
) -> Result<Json<calls::CallPage>, AppError> {
    let q = params.query()?;
    Ok(Json(calls::list::list(&state.db, &ctx, &q).await?))
}

/// `GET …/calls/export.csv` with the list's filters: every matching call,
/// oldest first, streamed.
async fn export_csv(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(params): ApiQuery<CallParams>,
) -> Result<Response, AppError> {
    let q = params.query()?;
    let rx = calls::list::export(&state.db, &ctx, q.filter).await?;
    Ok(crate::rest::csv_attachment("calls", rx))
}

/// `GET …/calls/events`: every change to the organisation's calls, as
/// server-sent events (`{"call": …}`), until the client leaves or its access ends.
async fn all_events(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
) -> Result<Response, AppError> {
    let live = calls::list::watch(&state.db, &state.server_ctx.bus, &ctx, None).await?;
    Ok(StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace).json_sse(live))
}

/// `GET …/calls/{id}/events`: that call's changes.
async fn call_events(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    let live = calls::list::watch(&state.db, &state.server_ctx.bus, &ctx, Some(id)).await?;
    Ok(StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace).json_sse(live))
}

/// `POST …/calls/{id}/outcome`: how the call ended (once).
async fn set_outcome(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(report): ApiJson<OutcomeReport>,
) -> Result<Json<calls::CallDetail>, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    Ok(Json(calls::outcome::set(&state.db, &state.server_ctx.bus, &ctx, id, report).await?))
}

/// `POST …/calls/{id}/turns`: what was said (the voice worker, as the call
/// goes; a turn sent again is stored once).
async fn add_turns(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<domain::call_views::AddTurns>,
) -> Result<Json<domain::call_views::TurnsAdded>, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    Ok(Json(calls::transcript::add_turns(&state.db, &ctx, id, req.turns).await?))
}

/// `PATCH …/calls/{id}/data`: values the agent collected, merged.
async fn collect_data(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<domain::call_views::CollectData>,
) -> Result<Json<domain::call_views::CollectData>, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    let data = calls::transcript::collect(&state.db, &ctx, id, req.data).await?;
    Ok(Json(domain::call_views::CollectData { data }))
}

/// `GET …/prospects/{id}/calls`: the prospect's phone calls and copilot
/// calls together, newest first.
async fn prospect_calls(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<calls::ProspectCall>>, AppError> {
    let id = parse_uuid(&id, "prospect_id")?;
    Ok(Json(calls::history::of_prospect(&state.db, &ctx, id).await?))
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

/// `POST …/calls/{id}/listen`: a hidden, subscribe-only token for the
/// call's room (Admins and Owners; audited).
async fn listen(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<domain::call_views::RoomAccess>, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    let (hub, env) = (&state.server_ctx.copilot, &state.server_ctx.telephony);
    Ok(Json(calls::listen::listen(&state.db, hub, &ctx, env, id).await?))
}

/// `POST …/calls/{id}/supervise` `{"mode": "listen"|"whisper"|"barge"}`:
/// a manager's way into a live call (audited, shown to the rep).
async fn supervise(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<domain::call_views::SuperviseRequest>,
) -> Result<Json<domain::call_views::Supervision>, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    let (hub, env) = (&state.server_ctx.copilot, &state.server_ctx.telephony);
    Ok(Json(calls::listen::supervise(&state.db, hub, &ctx, env, id, req.mode).await?))
}

/// `GET …/calls/live`: the calls in progress (the managers' board).
async fn live_board(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<domain::call_views::LiveCall>>, AppError> {
    Ok(Json(calls::live::board(&state.db, &ctx).await?))
}

/// `POST …/calls/rep`: the signed-in rep calls a prospect from the copilot.
async fn rep_call(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(req): ApiJson<domain::call_views::RepCallRequest>,
) -> Result<(StatusCode, Json<domain::call_views::RepCall>), AppError> {
    let placed = calls::rep::place(&state.db, &ctx, &state.server_ctx.telephony, req).await?;
    Ok((StatusCode::CREATED, Json(placed)))
}

/// `GET …/calls/rep/current`: the rep's live call with a fresh token, or `null`.
async fn rep_current(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Option<domain::call_views::RepCall>>, AppError> {
    Ok(Json(calls::rep::current(&state.db, &ctx, &state.server_ctx.telephony).await?))
}

/// `POST …/calls/{id}/hold` `{"hold": true|false}`: the rep's own call.
async fn hold(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<domain::call_views::HoldRequest>,
) -> Result<StatusCode, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    calls::rep::hold(&state.db, &ctx, &state.server_ctx.telephony, id, req.hold, req.music).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/calls/{id}/recording`: a short-lived address to play it.
async fn recording(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<calls::recording::RecordingLink>, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    Ok(Json(calls::recording::link(&state.db, &ctx, &state.server_ctx.telephony, id).await?))
}

/// `GET …/calls/{id}/recording/audio`: the recording itself, relayed from
/// the bucket with its range (so the page's player can seek), never cached.
async fn recording_audio(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "call_id")?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let upstream = calls::recording::open(&state.db, &ctx, &state.server_ctx.telephony, id, range).await?;
    let status = StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::OK);
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, calls::recording::CONTENT_TYPE)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, no-store");
    for h in [header::CONTENT_LENGTH, header::CONTENT_RANGE] {
        if let Some(v) = upstream.headers().get(&h) {
            resp = resp.header(h, v.clone());
        }
    }
    let body = axum::body::Body::from_stream(upstream.bytes_stream());
    Ok(resp.body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
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
    let hub = &state.server_ctx.copilot;
    match webhook::receive(&state.db, env, &state.server_ctx.bus, hub, body, auth).await {
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

/// `GET …/calls/{id}/analysis`: the call's post-call analysis and where it stands.
async fn get_analysis(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<domain::analysis::AnalysisView>, AppError> {
    let subject = services::analysis::Subject::Call(parse_uuid(&id, "call_id")?);
    Ok(Json(services::analysis::of(&state.db, &ctx, subject).await?))
}

/// `PUT …/calls/{id}/analysis`: a manager's correction (audited).
async fn edit_analysis(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<domain::analysis::AnalysisEdit>,
) -> Result<Json<domain::analysis::AnalysisView>, AppError> {
    let subject = services::analysis::Subject::Call(parse_uuid(&id, "call_id")?);
    let clock = &state.server_ctx.telephony.clock;
    Ok(Json(services::analysis::edit(&state.db, &ctx, clock, subject, body).await?))
}

api_routes! {
    "/orgs/{org}/calls" => get(list_calls).post(place_call);
    "/orgs/{org}/calls/export.csv" => get(export_csv);
    "/orgs/{org}/calls/events" => get(all_events);
    "/orgs/{org}/calls/live" => get(live_board);
    "/orgs/{org}/calls/rep" => post(rep_call);
    "/orgs/{org}/calls/rep/current" => get(rep_current);
    "/orgs/{org}/calls/{id}/hold" => post(hold);
    "/orgs/{org}/calls/{id}/supervise" => post(supervise);
    "/orgs/{org}/calls/{id}" => get(get_call);
    "/orgs/{org}/calls/{id}/events" => get(call_events);
    "/orgs/{org}/calls/{id}/outcome" => post(set_outcome);
    "/orgs/{org}/calls/{id}/turns" => post(add_turns);
    "/orgs/{org}/calls/{id}/data" => patch(collect_data);
    "/orgs/{org}/prospects/{id}/calls" => get(prospect_calls);
    "/orgs/{org}/calls/{id}/hang-up" => post(hang_up);
    "/orgs/{org}/calls/{id}/transfer" => post(transfer);
    "/orgs/{org}/calls/{id}/recording" => get(recording);
    "/orgs/{org}/calls/{id}/listen" => post(listen);
    "/orgs/{org}/calls/{id}/recording/audio" => get(recording_audio);
    "/orgs/{org}/calls/{id}/analysis" => get(get_analysis).put(edit_analysis);
}
