//! Billing over HTTP: `POST /webhooks/polar` (Polar's signed webhooks),
//! and under `/api/v1/orgs/{org}/`: `GET billing` (plans, the plan in
//! force, this period's usage), `POST billing/checkout` and `POST
//! billing/portal` (Owners: where to send the browser), `GET usage` and
//! `GET usage/export.csv` (per day, per agent, per API key).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::billing::views::{BillingOverview, CheckoutRequest, Redirect, UsageQuery, UsageReport};
use domain::ErrorCode;
use services::billing::signature::Headers;
use services::billing::webhook::Received;

use crate::rest::{ApiJson, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;

/// Webhook bodies larger than this are refused unread (Polar's are a few KB).
const BODY_MAX: usize = 512 * 1024;

pub async fn polar_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if body.len() > BODY_MAX {
        return crate::rest::error_response(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::Validation, None);
    }
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let hs =
        Headers { id: h("webhook-id"), timestamp: h("webhook-timestamp"), signature: h("webhook-signature") };
    let env = &state.server_ctx.providers.billing;
    match services::billing::webhook::receive(&state.db, env, &state.server_ctx.bus, hs, &body).await {
        // Applied, already seen, older than what we have, or not ours:
        // all are "received" for Polar, which must not send them again.
        Ok(Received::Applied(_) | Received::Duplicate | Received::Stale | Received::Ignored) => {
            StatusCode::NO_CONTENT.into_response()
        }
        // A bad signature (401), a signed body that is not a webhook (422),
        // billing off (404), a database hiccup (500: Polar retries).
        Err(e) => AppError::from(e).into_response(),
    }
}

async fn overview(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<BillingOverview>, AppError> {
    Ok(Json(services::billing::overview(&state.db, &state.server_ctx.providers.billing, &ctx).await?))
}

async fn checkout(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<Json<Redirect>, AppError> {
    Ok(Json(services::billing::checkout(&state.server_ctx.providers.billing, &ctx, &body.plan_id).await?))
}

async fn portal(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Redirect>, AppError> {
    Ok(Json(services::billing::portal(&state.server_ctx.providers.billing, &ctx).await?))
}

async fn usage(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<UsageReport>, AppError> {
    Ok(Json(
        services::billing::usage::report(&state.db, &state.server_ctx.providers.billing, &ctx, &q).await?,
    ))
}

/// One line per day of the range: the five metrics.
async fn export(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Response, AppError> {
    let r =
        services::billing::usage::report(&state.db, &state.server_ctx.providers.billing, &ctx, &q).await?;
    let mut csv =
        String::from("day,call_seconds,llm_input_tokens,llm_output_tokens,stt_seconds,tts_characters\n");
    for d in &r.days {
        let u = &d.usage;
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            d.day, u.call_seconds, u.llm_input_tokens, u.llm_output_tokens, u.stt_seconds, u.tts_characters
        ));
    }
    let name = format!("usage-{}-{}.csv", r.from, r.until);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response())
}

api_routes! {
    "/orgs/{org}/billing" => get(overview);
    "/orgs/{org}/billing/checkout" => post(checkout);
    "/orgs/{org}/billing/portal" => post(portal);
    "/orgs/{org}/usage" => get(usage);
    "/orgs/{org}/usage/export.csv" => get(export);
}
