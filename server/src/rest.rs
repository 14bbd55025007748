//! REST API `/api/v1`: JSON in and out, errors as `{code, field?, message}`.
//! Every org-scoped handler takes [`OrgAccess`]: a browser session that is a
//! member of `{org}`, or `Authorization: Bearer <API key>` of that
//! organisation. The service it calls decides the permission.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use domain::{ErrorCode, Permission, Role};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::state::AppState;

/// The one wire error type, shared with the server functions.
pub use app::AppError;

pub fn error_response(status: StatusCode, code: ErrorCode, field: Option<String>) -> Response {
    AppError { code, field, detail: None }.with_status(status)
}

/// JSON bodies: a malformed one is a `validation` error, not axum's plain-text 400/422.
/// A string holding U+0000 is refused the same way: no text of ours has
/// one, and PostgreSQL cannot store it (it would come back as a 500).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        // As axum's `Json` would: the body must say it is JSON.
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            let detail = Some("Expected request with `Content-Type: application/json`".to_string());
            return Err(AppError { code: ErrorCode::Validation, field: None, detail });
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(rej) => {
                return Err(AppError {
                    code: ErrorCode::Validation,
                    field: None,
                    detail: Some(rej.body_text()),
                })
            }
        };
        if has_nul_escape(&bytes) {
            let detail = Some("text may not contain U+0000".to_string());
            return Err(AppError { code: ErrorCode::Validation, field: None, detail });
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                Err(AppError { code: ErrorCode::Validation, field: None, detail: Some(rej.body_text()) })
            }
        }
    }
}

/// Whether JSON text spells U+0000 (`\u0000`: JSON has no other way; a
/// raw NUL byte is not JSON at all). An escaped backslash before `u0000` is
/// text, not the escape.
fn has_nul_escape(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in json.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && b == b'u' && json.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// Query strings: a malformed one is a `validation` error naming the
/// problem, in JSON like every other answer (axum's own rejection is a
/// plain-text 400).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No text column takes a NUL character (PostgreSQL refuses it
        // outright, a 500 deep inside a search otherwise).
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(AppError {
                code: ErrorCode::Validation,
                field: None,
                detail: Some("query strings cannot contain NUL characters".into()),
            });
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => {
                Err(AppError { code: ErrorCode::Validation, field: None, detail: Some(rej.body_text()) })
            }
        }
    }
}

/// The signed-in user (401 otherwise).
pub struct AuthUser(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::new(ErrorCode::Internal))?;
        match session.get::<Uuid>(app::ssr::SESSION_USER).await {
            Ok(Some(id)) => Ok(AuthUser(id)),
            Ok(None) => Err(AppError::new(ErrorCode::Unauthenticated)),
            Err(_) => Err(AppError::new(ErrorCode::Internal)),
        }
    }
}

/// Who is calling, and the credential that stays valid as long as access
/// does: what a stream that stays open re-checks (see [`crate::stream_guard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A browser session, by its id in the session store.
    Session { user_id: Uuid, session_id: tower_sessions::session::Id },
    /// An integration, by its API key's id.
    ApiKey { key_id: Uuid },
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Session { user_id, .. } => write!(f, "user:{user_id}"),
            Caller::ApiKey { key_id } => write!(f, "api_key:{key_id}"),
        }
    }
}

/// The one way into an organisation for REST handlers: `{org}` from the
/// path, and either the session's membership or an API key of that
/// organisation (`Authorization: Bearer`). It establishes access only; the
/// service called decides the permission its action needs. A non-member
/// and a key of another organisation both get `404`; an unknown or revoked
/// key `401`; a key over its rate `429` with `Retry-After`.
pub struct OrgAccess {
    pub ctx: services::OrgCtx,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for OrgAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::new(ErrorCode::NotFound).into_response())?;
        let org = params
            .iter()
            .find(|(k, _)| *k == "org")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| AppError::new(ErrorCode::NotFound).into_response())?;
        let org = parse_uuid(&org, "org_id").map_err(IntoResponse::into_response)?;
        if let Some(key) = crate::bearer::bearer_token(&parts.headers) {
            let ctx = services::api_keys::authenticate(&state.db, key, org)
                .await
                .map_err(|e| AppError::from(e).into_response())?;
            let services::Principal::ApiKey { key_id, .. } = ctx.principal() else {
                return Err(AppError::new(ErrorCode::Internal).into_response());
            };
            if let Err(retry_after) =
                state.api_key_limiter.attempt(&key_id.to_string(), state.config.api_key_rate_per_minute)
            {
                return Err(too_many(retry_after));
            }
            state.server_ctx.key_usage.record(key_id);
            return Ok(OrgAccess { ctx, caller: Caller::ApiKey { key_id } });
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::new(ErrorCode::Internal).into_response())?;
        let user_id = match session.get::<Uuid>(app::ssr::SESSION_USER).await {
            Ok(Some(id)) => id,
            Ok(None) => return Err(AppError::new(ErrorCode::Unauthenticated).into_response()),
            Err(_) => return Err(AppError::new(ErrorCode::Internal).into_response()),
        };
        // Read after the record was loaded: the id of the stored session.
        let session_id =
            session.id().ok_or_else(|| AppError::new(ErrorCode::Unauthenticated).into_response())?;
        let ctx = services::require_org(&state.db, user_id, org, Permission::ViewOrganization)
            .await
            .map_err(|e| AppError::from(e).into_response())?;
        Ok(OrgAccess { ctx, caller: Caller::Session { user_id, session_id } })
    }
}

/// `429` with `Retry-After` and the `rate_limited` error.
pub fn too_many(retry_after: u64) -> Response {
    let mut res = AppError::new(ErrorCode::RateLimited).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.max(1).to_string()) {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res
}

/// A CSV download named `{stem}-{YYYYmmdd-HHMM}.csv`, streamed from the
/// chunks a service's export sends; an error after the first chunk cuts
/// the body (the headers are gone), so the client sees a failed download
/// rather than a short file.
pub fn csv_attachment(
    stem: &str,
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, services::ServiceError>>,
) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await? {
            Ok(chunk) => Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)), rx)),
            Err(e) => Some((Err(std::io::Error::other(e.code.as_str())), rx)),
        }
    });
    let name = format!("{stem}-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M"));
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        // Fused: the compression layer polls once more after the end, and
        // `unfold` panics when polled past it.
        axum::body::Body::from_stream(futures::StreamExt::fuse(stream)),
    )
        .into_response()
}

pub fn parse_uuid(s: &str, field: &str) -> Result<Uuid, AppError> {
    s.parse().map_err(|_| AppError::field(ErrorCode::Validation, field))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    status: &'static str,
    database: &'static str,
}

async fn health(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(Health { status: "ok", database: "ok" }).into_response(),
        Err(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "degraded", database: "unreachable" }))
                .into_response()
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Me {
    id: Uuid,
    email: String,
    name: String,
    locale: String,
}

async fn me(State(state): State<AppState>, AuthUser(uid): AuthUser) -> Result<Json<Me>, AppError> {
    let u = services::users::find(&state.db, uid).await?;
    Ok(Json(Me { id: u.id, email: u.email, name: u.name, locale: u.locale }))
}

async fn list_orgs(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
) -> Result<Json<Vec<services::orgs::OrgSummary>>, AppError> {
    Ok(Json(services::orgs::list_for_user(&state.db, uid).await?))
}

async fn get_org(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<services::orgs::OrgSummary>, AppError> {
    Ok(Json(services::orgs::get(&state.db, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RenameBody {
    name: String,
}

async fn rename_org(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Json<services::orgs::OrgSummary>, AppError> {
    Ok(Json(services::orgs::rename(&state.db, &ctx, &body.name).await?))
}

async fn list_members(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<services::orgs::Member>>, AppError> {
    Ok(Json(services::orgs::members(&state.db, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RoleBody {
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<services::orgs::Member>, AppError> {
    let role = Role::parse(&body.role).ok_or(AppError::field(ErrorCode::Validation, "role"))?;
    let user = parse_uuid(&user, "user_id")?;
    Ok(Json(services::orgs::change_role(&state.db, &ctx, user, role).await?))
}

async fn remove_member(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, user)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let user = parse_uuid(&user, "user_id")?;
    services::orgs::remove_member(&state.db, &ctx, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<services::audit::AuditEntry>>, AppError> {
    Ok(Json(services::audit::list(&state.db, &ctx, 200).await?))
}

async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound)
}

api_routes! {
    "/health" => get(health);
    "/me" => get(me);
    "/orgs" => get(list_orgs);
    "/orgs/{org}" => get(get_org).patch(rename_org);
    "/orgs/{org}/members" => get(list_members);
    "/orgs/{org}/members/{user}" => patch(change_role).delete(remove_member);
    "/orgs/{org}/audit" => get(audit);
}

/// The whole `/api/v1` router.
pub fn api_router() -> Router<AppState> {
    router()
        // Public, like the API's description on any developer site; not
        // in `ROUTES` (nothing to authorise).
        .route("/openapi.json", axum::routing::get(crate::openapi::serve))
        .route("/docs", axum::routing::get(crate::openapi::reference))
        .merge(crate::agents_api::router())
        .merge(crate::prospects_api::router())
        .merge(crate::copilot_api::router())
        .merge(crate::telephony_api::router())
        .merge(crate::calls_api::router())
        .merge(crate::campaigns_api::router())
        .merge(crate::analytics_api::router())
        .merge(crate::billing_api::router())
        .fallback(not_found)
}

/// Every `/api/v1` route as (method, path): what the authorization test
/// walks, so a route added anywhere is a route it checks.
pub fn all_routes() -> Vec<(&'static str, &'static str)> {
    [
        ROUTES,
        crate::agents_api::ROUTES,
        crate::prospects_api::ROUTES,
        crate::copilot_api::ROUTES,
        crate::telephony_api::ROUTES,
        crate::calls_api::ROUTES,
        crate::campaigns_api::ROUTES,
        crate::analytics_api::ROUTES,
        crate::billing_api::ROUTES,
    ]
    .concat()
}

#[cfg(test)]
mod nul_tests {
    use super::has_nul_escape;

    #[test]
    fn a_nul_escape_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(has_nul_escape(br#"{"body": "\u0000"}"#));
        assert!(has_nul_escape(br#"{"body": "ok\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"body": "\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"body": "\u0001 and u0000"}"#));
        assert!(!has_nul_escape(br#"{"body": "plain"}"#));
    }
}
