//! REST API `/api/v1`: JSON in and out, errors as `{code, field?, message}`.
//! Authentication is the browser session for now (API keys come with the
//! public API); every org-scoped handler goes through [`OrgAccess`], i.e.
//! `services::require_org`, the same path as the server functions.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use domain::{ErrorCode, Permission, Role};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::state::AppState;

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    message: String,
}

/// English messages for API clients: the same texts the web UI shows in
/// English (`app/locales/en.json`), so the two never drift apart.
static MESSAGES: std::sync::LazyLock<std::collections::HashMap<String, String>> =
    std::sync::LazyLock::new(|| {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../../app/locales/en.json")).expect("en.json is valid JSON");
        all["errors"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default()
    });

fn message(code: ErrorCode, detail: Option<&str>) -> String {
    let text = MESSAGES.get(code.as_str()).cloned().unwrap_or_else(|| "request refused".into());
    text.replace("{{ detail }}", detail.unwrap_or("…"))
}

pub fn error_response(status: StatusCode, code: ErrorCode, field: Option<String>) -> Response {
    ApiError { code, field, detail: None }.with_status(status)
}

/// A typed API error: `{code, field?, detail?, message}` with the code's HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub field: Option<String>,
    pub detail: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        ApiError { code, field: None, detail: None }
    }

    pub fn field(code: ErrorCode, field: impl Into<String>) -> Self {
        ApiError { code, field: Some(field.into()), detail: None }
    }

    fn with_status(self, status: StatusCode) -> Response {
        let message = message(self.code, self.detail.as_deref());
        (
            status,
            Json(ErrorBody { code: self.code.as_str(), field: self.field, detail: self.detail, message }),
        )
            .into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.with_status(status)
    }
}

impl From<services::ServiceError> for ApiError {
    fn from(e: services::ServiceError) -> Self {
        ApiError { code: e.code, field: e.field, detail: e.detail }
    }
}

/// JSON bodies: a malformed one is a `validation` error, not axum's plain-text 400/422.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                Err(ApiError { code: ErrorCode::Validation, field: None, detail: Some(rej.body_text()) })
            }
        }
    }
}

/// The signed-in user (401 otherwise).
pub struct AuthUser(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::Internal))?;
        match session.get::<Uuid>(app::ssr::SESSION_USER).await {
            Ok(Some(id)) => Ok(AuthUser(id)),
            Ok(None) => Err(ApiError::new(ErrorCode::Unauthenticated)),
            Err(_) => Err(ApiError::new(ErrorCode::Internal)),
        }
    }
}

/// The signed-in user and the credential the request came with: what a
/// stream that stays open re-checks until access ends (see
/// [`crate::stream_guard`]). 401 like [`AuthUser`] otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub credential: Credential,
}

/// How a request authenticated. API keys will be a second kind, which the
/// stream guard checks against its own revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A browser session, by its id in the session store.
    Session(tower_sessions::session::Id),
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::Internal))?;
        let user_id = match session.get::<Uuid>(app::ssr::SESSION_USER).await {
            Ok(Some(id)) => id,
            Ok(None) => return Err(ApiError::new(ErrorCode::Unauthenticated)),
            Err(_) => return Err(ApiError::new(ErrorCode::Internal)),
        };
        // Read after the record was loaded: the id of the stored session.
        let id = session.id().ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
        Ok(Principal { user_id, credential: Credential::Session(id) })
    }
}

/// The one authorization path for REST handlers: the org id from the path,
/// the caller's membership and `permission` (see `services::require_org`).
pub async fn org(
    state: &AppState,
    uid: Uuid,
    org: &str,
    permission: Permission,
) -> Result<services::OrgCtx, ApiError> {
    let org = parse_uuid(org, "org_id")?;
    Ok(services::require_org(&state.db, uid, org, permission).await?)
}

pub fn parse_uuid(s: &str, field: &str) -> Result<Uuid, ApiError> {
    s.parse().map_err(|_| ApiError::field(ErrorCode::Validation, field))
}

#[derive(Serialize)]
struct Health {
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

#[derive(Serialize)]
struct Me {
    id: Uuid,
    email: String,
    name: String,
    locale: String,
}

async fn me(State(state): State<AppState>, AuthUser(uid): AuthUser) -> Result<Json<Me>, ApiError> {
    let u = services::users::find(&state.db, uid).await?;
    Ok(Json(Me { id: u.id, email: u.email, name: u.name, locale: u.locale }))
}

async fn list_orgs(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
) -> Result<Json<Vec<services::orgs::OrgSummary>>, ApiError> {
    Ok(Json(services::orgs::list_for_user(&state.db, uid).await?))
}

async fn get_org(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
    Path(org): Path<String>,
) -> Result<Json<services::orgs::OrgSummary>, ApiError> {
    let org = parse_uuid(&org, "org_id")?;
    let ctx = services::require_org(&state.db, uid, org, Permission::ViewOrganization).await?;
    Ok(Json(services::orgs::get(&state.db, &ctx).await?))
}

#[derive(Deserialize)]
struct RenameBody {
    name: String,
}

async fn rename_org(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
    Path(org): Path<String>,
    body: Result<Json<RenameBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<services::orgs::OrgSummary>, ApiError> {
    let Json(body) = body.map_err(|_| ApiError::new(ErrorCode::Validation))?;
    let org = parse_uuid(&org, "org_id")?;
    let ctx = services::require_org(&state.db, uid, org, Permission::RenameOrganization).await?;
    Ok(Json(services::orgs::rename(&state.db, &ctx, &body.name).await?))
}

async fn list_members(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
    Path(org): Path<String>,
) -> Result<Json<Vec<services::orgs::Member>>, ApiError> {
    let org = parse_uuid(&org, "org_id")?;
    let ctx = services::require_org(&state.db, uid, org, Permission::ViewMembers).await?;
    Ok(Json(services::orgs::members(&state.db, &ctx).await?))
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
    Path((org, user)): Path<(String, String)>,
    body: Result<Json<RoleBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<services::orgs::Member>, ApiError> {
    let Json(body) = body.map_err(|_| ApiError::new(ErrorCode::Validation))?;
    let role = Role::parse(&body.role).ok_or(ApiError::field(ErrorCode::Validation, "role"))?;
    let (org, user) = (parse_uuid(&org, "org_id")?, parse_uuid(&user, "user_id")?);
    let ctx = services::require_org(&state.db, uid, org, Permission::ManageMemberRoles).await?;
    Ok(Json(services::orgs::change_role(&state.db, &ctx, user, role).await?))
}

async fn remove_member(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
    Path((org, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (org, user) = (parse_uuid(&org, "org_id")?, parse_uuid(&user, "user_id")?);
    let ctx = services::require_org(&state.db, uid, org, Permission::ViewOrganization).await?;
    services::orgs::remove_member(&state.db, &ctx, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(
    State(state): State<AppState>,
    AuthUser(uid): AuthUser,
    Path(org): Path<String>,
) -> Result<Json<Vec<services::audit::AuditEntry>>, ApiError> {
    let org = parse_uuid(&org, "org_id")?;
    let ctx = services::require_org(&state.db, uid, org, Permission::ViewAuditLog).await?;
    Ok(Json(services::audit::list(&state.db, &ctx, 200).await?))
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(crate::agents_api::router())
        .merge(crate::prospects_api::router())
        .merge(crate::copilot_api::router())
        .route("/health", get(health))
        .route("/me", get(me))
        .route("/orgs", get(list_orgs))
        .route("/orgs/{org}", get(get_org).patch(rename_org))
        .route("/orgs/{org}/members", get(list_members))
        .route("/orgs/{org}/members/{user}", patch(change_role).delete(remove_member))
        .route("/orgs/{org}/audit", get(audit))
        .fallback(not_found)
}
