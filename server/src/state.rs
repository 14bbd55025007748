use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::config::Config;

/// Shared state of the axum router: a handle (one `Arc`). Axum clones the
/// state with every handler service a request passes through (a dozen per
/// page view); copied field by field (config, site options, clients) that
/// was ~4 % of a dashboard render's instructions.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What an [`AppState`] holds.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: Config,
    /// Outbound HTTP (OAuth). Redirects are not followed: OAuth token
    /// endpoints must answer directly (SSRF hardening, as oauth2 advises).
    pub http: reqwest::Client,
    pub server_ctx: app::ssr::ServerCtx,
    /// The session store, for ending a user's sessions (see `oauth`).
    pub sessions: crate::sessions::DbSessionStore,
    /// Request counters and latency histograms (`/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// This node's job runner (stopped gracefully at shutdown).
    pub runner: services::jobs::Runner,
    /// Requests per API key per minute (`HANDOO_API_KEY_RATE_PER_MINUTE`).
    pub api_key_limiter: app::ssr::RateLimiter,
    /// Silero VAD, loaded once for every voice conversation of this process
    /// (browser test calls, and the voice agent's calls); `None` without its files.
    pub vad: Option<std::sync::Arc<voice::vad::SileroModel>>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}
