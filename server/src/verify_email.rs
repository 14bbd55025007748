//! GET /auth/verify-email?token=… — the link a new account's owner gets by
//! e-mail when a mail server is configured: proves the address, signs in.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    token: String,
}

pub async fn verify(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<VerifyQuery>,
) -> Response {
    match services::auth::verify_email(&state.db, &q.token).await {
        Ok(user) => {
            if session.cycle_id().await.is_err()
                || session.insert(app::ssr::SESSION_USER, user.id).await.is_err()
            {
                return Redirect::to("/login?error=internal").into_response();
            }
            let mut res = Redirect::to("/app/orgs/new").into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&app::i18n::locale_cookie(&user.locale)) {
                res.headers_mut().append(axum::http::header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => Redirect::to(&format!("/login?error={}", e.code.as_str())).into_response(),
    }
}
