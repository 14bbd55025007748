//! "Sign in with Google": OAuth 2.0 authorization code flow with PKCE and a
//! `state` bound to the session, then the OpenID Connect userinfo endpoint.
//! Endpoints are configuration (real Google by default; a local mock in tests).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ErrorCode;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::config::GoogleConfig;
use crate::state::AppState;

const STATE_KEY: &str = "oauth_state";
const VERIFIER_KEY: &str = "oauth_pkce";
/// Where to go after signing in (`/auth/google?next=/invite/…`), checked again
/// when it is used.
const NEXT_KEY: &str = "oauth_next";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// oauth2's HTTP hook over our own reqwest client (its `reqwest` feature
/// would bring another reqwest version). The client follows no redirects:
/// a token endpoint that redirects is refused, as oauth2 itself advises.
struct OAuthHttp(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send + 'c>,
    >;

    fn call(&'c self, req: oauth2::HttpRequest) -> Self::Future {
        let http = self.0.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let resp = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut out = oauth2::http::Response::builder().status(resp.status());
            if let Some(headers) = out.headers_mut() {
                headers.extend(resp.headers().clone());
            }
            let body = resp.bytes().await?.to_vec();
            Ok(out.body(body).unwrap_or_default())
        })
    }
}

fn client(cfg: &GoogleConfig, public_url: &str) -> Result<Client, String> {
    Ok(BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_client_secret(ClientSecret::new(cfg.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(cfg.auth_url.clone()).map_err(|e| e.to_string())?)
        .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|e| e.to_string())?)
        .set_redirect_uri(
            RedirectUrl::new(format!("{}/auth/google/callback", public_url.trim_end_matches('/')))
                .map_err(|e| e.to_string())?,
        ))
}

fn fail(code: ErrorCode) -> Response {
    Redirect::to(&format!("/login?error={}", code.as_str())).into_response()
}

#[derive(Debug, Deserialize)]
pub struct Start {
    next: Option<String>,
}

/// GET /auth/google — redirects to the provider.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    // An unreadable query is ignored like a foreign `next`: sign-in still works.
    q: Result<Query<Start>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(cfg) = state.config.google.as_ref() else { return fail(ErrorCode::NotFound) };
    let client = match client(cfg, &state.config.public_url) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "bad Google OAuth configuration");
            return fail(ErrorCode::OauthFailed);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    if session.insert(STATE_KEY, csrf.secret()).await.is_err()
        || session.insert(VERIFIER_KEY, verifier.secret()).await.is_err()
    {
        return fail(ErrorCode::Internal);
    }
    let next =
        q.as_ref().ok().and_then(|q| q.next.as_deref()).and_then(domain::validation::local_return_path);
    let stored = match next {
        Some(n) => session.insert(NEXT_KEY, n).await,
        None => session.remove::<String>(NEXT_KEY).await.map(|_| ()),
    };
    if stored.is_err() {
        return fail(ErrorCode::Internal);
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: serde_json::Value,
    name: Option<String>,
}

/// GET /auth/google/callback — checks `state`, exchanges the code (with the
/// PKCE verifier), reads the userinfo, signs the user in.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Some(cfg) = state.config.google.as_ref() else { return fail(ErrorCode::NotFound) };
    // The state and verifier are single-use whatever happens next.
    let expected: Option<String> = session.remove(STATE_KEY).await.ok().flatten();
    let verifier: Option<String> = session.remove(VERIFIER_KEY).await.ok().flatten();
    let next: Option<String> = session.remove(NEXT_KEY).await.ok().flatten();
    if let Some(err) = q.error {
        tracing::info!(%err, "provider returned an error");
        return fail(ErrorCode::OauthFailed);
    }
    let (Some(code), Some(got), Some(expected), Some(verifier)) = (q.code, q.state, expected, verifier)
    else {
        return fail(ErrorCode::OauthFailed);
    };
    if !services::tokens::constant_time_eq(got.as_bytes(), expected.as_bytes()) {
        tracing::warn!("OAuth state mismatch");
        return fail(ErrorCode::OauthFailed);
    }
    let client = match client(cfg, &state.config.public_url) {
        Ok(c) => c,
        Err(_) => return fail(ErrorCode::OauthFailed),
    };
    let token = match client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&OAuthHttp(state.http.clone()))
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "OAuth code exchange failed");
            return fail(ErrorCode::OauthFailed);
        }
    };
    let info: UserInfo = match state
        .http
        .get(&cfg.userinfo_url)
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .and_then(|r| r.error_for_status())
    {
        Ok(r) => match r.json().await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "malformed userinfo");
                return fail(ErrorCode::OauthFailed);
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "userinfo request failed");
            return fail(ErrorCode::OauthFailed);
        }
    };
    // Google sends a boolean; some OIDC providers send "true".
    let verified = matches!(&info.email_verified, serde_json::Value::Bool(true))
        || info.email_verified.as_str() == Some("true");
    let identity = services::auth::OauthIdentity {
        provider: "google".into(),
        subject: info.sub,
        email: info.email.unwrap_or_default(),
        email_verified: verified,
        name: info.name,
    };
    // A new account gets the language the visitor was using; an existing
    // one keeps its own, and the page switches to it (as after a password login).
    let locale = app::i18n::visitor_locale(&headers).unwrap_or_default();
    match services::auth::oauth_sign_in(&state.db, identity, locale).await {
        Ok(services::auth::OauthSignIn { user, took_over }) => {
            if took_over {
                // The voided password may still be signed in elsewhere.
                let uid = serde_json::json!(user.id);
                match state.sessions.end_sessions_where(&state.db, app::ssr::SESSION_USER, &uid).await {
                    Ok(n) => {
                        tracing::info!(user = %user.id, sessions = n, "account taken over by its verified owner; its sessions ended")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not end the taken-over account's sessions");
                        return fail(ErrorCode::Internal);
                    }
                }
            }
            if session.cycle_id().await.is_err()
                || session.insert(app::ssr::SESSION_USER, user.id).await.is_err()
            {
                return fail(ErrorCode::Internal);
            }
            let to = next.as_deref().and_then(domain::validation::local_return_path).unwrap_or("/app");
            let mut res = Redirect::to(to).into_response();
            let cookie = app::i18n::locale_cookie(&user.locale);
            if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
                res.headers_mut().append(axum::http::header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => fail(e.code),
    }
}
