use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::config::Config;

/// Shared state of the axum router.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: Config,
    /// Outbound HTTP (OAuth). Redirects are not followed: OAuth token
    /// endpoints must answer directly (SSRF hardening, as oauth2 advises).
    pub http: reqwest::Client,
    pub server_ctx: app::ssr::ServerCtx,
    /// The session store, for ending a user's sessions (see `oauth`).
    pub sessions: crate::sessions::DbSessionStore,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}
