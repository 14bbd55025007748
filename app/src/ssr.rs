//! Server-side plumbing for server functions: the shared state they receive
//! through Leptos context, and the session helpers every one of them uses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::{ErrorCode, Permission};
use leptos::prelude::*;
use sea_orm::DatabaseConnection;
use services::mailer::Mailer;
use services::OrgCtx;
use tower_sessions::Session;
use uuid::Uuid;

use crate::AppError;

pub const SESSION_USER: &str = "uid";

/// The page policy: scripts only from our origin or carrying this page's
/// nonce (no `unsafe-inline`), WebAssembly allowed to compile, no framing,
/// no plugins, forms and `<base>` kept on our origin. Inline *styles* stay
/// allowed: components set widths and colours through `style` attributes,
/// and styles cannot run code.
///
/// `connect` adds origins the page may open connections to beyond ours:
/// the LiveKit servers of the viewer's organisations (listening to a call).
pub fn content_security_policy(nonce: Option<&str>, connect: &[String]) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    let connect: String = connect.iter().map(|o| format!(" {o}")).collect();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
         connect-src 'self'{connect}; worker-src 'self' blob:; font-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// What server functions need from the server, provided as Leptos context.
/// A handle (one `Arc`): every page view and server call clones it into
/// its context several times, and the parts (provider defaults, URLs,
/// clients) are not cheap to copy.
#[derive(Clone)]
pub struct ServerCtx(Arc<ServerParts>);

impl ServerCtx {
    pub fn new(parts: ServerParts) -> Self {
        ServerCtx(Arc::new(parts))
    }
}

impl std::ops::Deref for ServerCtx {
    type Target = ServerParts;

    fn deref(&self) -> &ServerParts {
        &self.0
    }
}

/// What a [`ServerCtx`] holds.
pub struct ServerParts {
    pub db: DatabaseConnection,
    pub mailer: Mailer,
    /// Public base URL, for links in emails ("https://handoo.example.com").
    pub public_url: String,
    /// `HANDOO_DEV_LOGIN`: pick-a-user login for local development only.
    pub dev_login: bool,
    /// Whether Google sign-in is configured (shows the button).
    pub google_enabled: bool,
    /// Login attempts per client IP (any account).
    pub login_limiter: RateLimiter,
    /// Failures per (account, client) and the account-wide slowdown.
    pub login_throttle: crate::login_throttle::LoginThrottle,
    /// Sign-ups per client IP (window set by the server, an hour by default).
    pub signup_limiter: RateLimiter,
    /// Sign-ups one client IP may make per window (`HANDOO_SIGNUPS_PER_IP_PER_HOUR`,
    /// [`SIGNUP_MAX_PER_IP`] by default).
    pub signup_max_per_ip: u32,
    /// Invitations (new and resent) per organisation and per inviter: each
    /// one is an e-mail sent from the operator's server.
    pub invite_limiter: RateLimiter,
    /// Provider keys (sealed), server defaults and the outbound HTTP client.
    pub providers: services::credentials::ProviderEnv,
    /// LiveKit projects (the organisation's or the server's) and trunks.
    pub telephony: services::telephony::TelephonyEnv,
    /// Live copilot sessions served by this process.
    pub copilot: std::sync::Arc<services::copilot::CopilotHub>,
    /// Live events to watchers on any node.
    pub bus: services::events::EventBus,
    /// API-key requests counted on this node, written in batches.
    pub key_usage: std::sync::Arc<services::api_keys::usage::UsageCounter>,
    /// `HANDOO_TRUSTED_PROXIES`: whose `X-Forwarded-For` [`client_ip`] believes.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
}

/// Failed logins one client may make on one account per window (see
/// [`crate::login_throttle`]), and attempts per client IP on any account.
pub const LOGIN_MAX_PER_ACCOUNT: u32 = crate::login_throttle::MAX_FAILURES_PER_CLIENT;
pub const LOGIN_MAX_PER_IP: u32 = 50;
/// Accounts created per client IP per window by default (an office behind
/// one NAT onboarding a team stays well under it).
pub const SIGNUP_MAX_PER_IP: u32 = 20;
/// Invitation e-mails per organisation, and per inviting user, per window
/// (an hour by default): a team onboarding stays well under it, a spammer
/// using our mail server does not get far.
pub const INVITES_MAX_PER_ORG: u32 = 50;
pub const INVITES_MAX_PER_USER: u32 = 30;

/// Counts one invitation e-mail for `org` and `user`.
pub fn limit_invites(ctx: &ServerCtx, org: Uuid, user: Uuid) -> Result<(), AppError> {
    limit(&ctx.invite_limiter, &format!("org:{org}"), INVITES_MAX_PER_ORG)?;
    limit(&ctx.invite_limiter, &format!("user:{user}"), INVITES_MAX_PER_USER)
}

/// Counts one attempt against `limiter`; when the budget is spent, answers
/// 429 with `Retry-After` and the translated `rate_limited` error.
pub fn limit(limiter: &RateLimiter, key: &str, max: u32) -> Result<(), AppError> {
    match limiter.attempt(key, max) {
        Ok(()) => Ok(()),
        Err(retry_after) => Err(too_many(retry_after)),
    }
}

/// The 429 answer: status, `Retry-After`, and the `rate_limited` error.
pub fn too_many(retry_after: u64) -> AppError {
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::TOO_MANY_REQUESTS);
        if let Ok(v) = http::HeaderValue::from_str(&retry_after.to_string()) {
            resp.insert_header(http::header::RETRY_AFTER, v);
        }
    }
    AppError::new(ErrorCode::RateLimited)
}

pub fn server_ctx() -> Result<ServerCtx, AppError> {
    use_context::<ServerCtx>().ok_or_else(|| {
        tracing::error!("ServerCtx missing from context");
        AppError::new(ErrorCode::Internal)
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing");
        AppError::new(ErrorCode::Internal)
    })
}

/// The signed-in user's id, or `Unauthenticated`.
pub async fn current_user_id() -> Result<Uuid, AppError> {
    let session = session().await?;
    match session.get::<Uuid>(SESSION_USER).await {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(AppError::new(ErrorCode::Unauthenticated)),
        Err(e) => {
            tracing::error!(error = %e, "session read failed");
            Err(AppError::new(ErrorCode::Internal))
        }
    }
}

/// Authenticates, then applies the one authorization path: from this
/// request's membership snapshot when the page has already read it (see
/// [`RequestMemo`]), otherwise from the database.
async fn require_org(org_id: Uuid, permission: Permission) -> Result<(ServerCtx, OrgCtx), AppError> {
    let user_id = current_user_id().await?;
    let ctx = server_ctx()?;
    if let Some(m) = RequestMemo::current().and_then(|m| m.0.get().cloned()) {
        if m.user_id() == user_id {
            return Ok((ctx, m.require(org_id, permission)?));
        }
    }
    let org = services::require_org(&ctx.db, user_id, org_id, permission).await?;
    Ok((ctx, org))
}

/// The one way a server function enters an organisation: the signed-in
/// user must be a member of `org_id` (a non-member gets `NotFound`). The
/// service it then calls decides the permission its action needs.
pub async fn require_member(org_id: Uuid) -> Result<(ServerCtx, OrgCtx), AppError> {
    require_org(org_id, Permission::ViewOrganization).await
}

/// Per-request memo, placed in the request's extensions by the server. A
/// server-rendered page reads the signed-in user's memberships once (for the
/// organisation switcher) and every server function it then calls is
/// authorised from that snapshot, not by another query. It lives and dies
/// with the request, so it can never serve another request's answer.
#[derive(Clone, Default)]
pub struct RequestMemo(pub Arc<std::sync::OnceLock<services::Memberships>>);

impl RequestMemo {
    pub fn current() -> Option<RequestMemo> {
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<RequestMemo>().cloned())
    }

    /// Records the snapshot (the first one read in a request wins).
    pub fn remember(memberships: services::Memberships) {
        if let Some(m) = Self::current() {
            let _ = m.0.set(memberships);
        }
    }
}

/// Starts an authenticated session: a new session id (no fixation), the
/// user id, and the user's language as the locale cookie.
pub async fn start_session(user_id: Uuid, locale: &str) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(internal)?;
    session.insert(SESSION_USER, user_id).await.map_err(internal)?;
    set_locale_cookie(locale);
    Ok(())
}

/// The value of cookie `name` in a request's `Cookie` headers (the first
/// non-empty one).
pub fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get_all(http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    })
}

/// Sets the language cookie ([`crate::i18n::locale_cookie`]) on the response.
pub fn set_locale_cookie(locale: &str) {
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(v) = http::HeaderValue::from_str(&crate::i18n::locale_cookie(locale)) {
            resp.append_header(http::header::SET_COOKIE, v);
        }
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "session store failure");
    AppError::new(ErrorCode::Internal)
}

/// The caller's IP: the socket peer, or, when that is one of our trusted
/// proxies, the address it forwarded (see [`crate::client_ip`]). Never a
/// header a client could set on its own.
pub async fn client_ip() -> Option<IpAddr> {
    let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|ci| ci.0.ip())?;
    let Some(ctx) = use_context::<ServerCtx>().filter(|c| !c.trusted_proxies.is_empty()) else {
        return Some(peer);
    };
    let parts = use_context::<http::request::Parts>()?;
    let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    Some(ctx.trusted_proxies.client_ip(peer, forwarded))
}

/// Fixed-window limiter for login attempts, keyed by account and by IP.
/// In-process: one server node (the embedded default). Several nodes behind a
/// balancer would each count separately, which only loosens the limit.
/// Keys are bounded (normalised emails, IPs); past this many, stale ones are dropped.
const MAX_TRACKED_KEYS: usize = 100_000;

#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
    window: Duration,
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        Self { inner: Arc::new(Mutex::new(HashMap::new())), window }
    }

    /// Counts one attempt for `key` and refuses it (Err(seconds until
    /// retry)) when the budget is spent. Counting before the password check,
    /// under one lock, means concurrent guesses cannot all slip through.
    pub fn attempt(&self, key: &str, max: u32) -> Result<(), u64> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_TRACKED_KEYS && !map.contains_key(key) {
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
            // Still full of live keys (a flood of distinct addresses): drop
            // the oldest tenth instead of growing without bound.
            if map.len() >= MAX_TRACKED_KEYS {
                let mut starts: Vec<(Instant, String)> =
                    map.iter().map(|(k, (s, _))| (*s, k.clone())).collect();
                starts.sort_by_key(|(s, _)| *s);
                for (_, k) in starts.into_iter().take(MAX_TRACKED_KEYS / 10) {
                    map.remove(&k);
                }
            }
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= max {
            return Err((self.window - now.duration_since(entry.0)).as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    pub fn reset(&self, key: &str) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_max_attempts_and_resets_on_success() {
        let l = RateLimiter::new(Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.attempt("a", 3).is_ok());
        }
        assert!(l.attempt("a", 3).is_err());
        assert!(l.attempt("b", 3).is_ok(), "keys are independent");
        l.reset("a");
        assert!(l.attempt("a", 3).is_ok());
    }

    #[test]
    fn limiter_window_expires() {
        let l = RateLimiter::new(Duration::from_millis(20));
        assert!(l.attempt("k", 1).is_ok());
        assert!(l.attempt("k", 1).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(l.attempt("k", 1).is_ok());
    }
}
