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

/// What server functions need from the server, provided as Leptos context.
#[derive(Clone)]
pub struct ServerCtx {
    pub db: DatabaseConnection,
    pub mailer: Mailer,
    /// Public base URL, for links in emails ("https://handoo.example.com").
    pub public_url: String,
    /// `HANDOO_DEV_LOGIN`: pick-a-user login for local development only.
    pub dev_login: bool,
    /// Whether Google sign-in is configured (shows the button).
    pub google_enabled: bool,
    pub login_limiter: RateLimiter,
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

/// Authenticates, then applies the one authorization path.
pub async fn require_org(org_id: Uuid, permission: Permission) -> Result<(ServerCtx, OrgCtx), AppError> {
    let user_id = current_user_id().await?;
    let ctx = server_ctx()?;
    let org = services::require_org(&ctx.db, user_id, org_id, permission).await?;
    Ok((ctx, org))
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

pub fn set_locale_cookie(locale: &str) {
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        let value = format!("i18n_pref_locale={locale}; Path=/; Max-Age=31536000; SameSite=Lax");
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            resp.append_header(http::header::SET_COOKIE, v);
        }
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "session store failure");
    AppError::new(ErrorCode::Internal)
}

/// The caller's IP as seen by the socket (not a spoofable header).
pub async fn client_ip() -> Option<IpAddr> {
    leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await.ok().map(|ci| ci.0.ip())
}

/// Fixed-window limiter for failed logins, keyed by account and by IP.
/// In-process: one server node (the embedded default). Several nodes behind a
/// balancer would each count separately, which only loosens the limit.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
    max: u32,
    window: Duration,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self { inner: Arc::new(Mutex::new(HashMap::new())), max, window }
    }

    /// Err(seconds until retry) when `key` is over its budget.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some((start, count)) = map.get(key) {
            let elapsed = now.duration_since(*start);
            if elapsed < self.window && *count >= self.max {
                return Err((self.window - elapsed).as_secs().max(1));
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, key: &str) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn reset(&self, key: &str) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_max_failures_and_resets_on_success() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
            l.record_failure("a");
        }
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok(), "keys are independent");
        l.reset("a");
        assert!(l.check("a").is_ok());
    }

    #[test]
    fn limiter_window_expires() {
        let l = RateLimiter::new(1, Duration::from_millis(20));
        l.record_failure("k");
        assert!(l.check("k").is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(l.check("k").is_ok());
    }
}
