#![recursion_limit = "512"]

//! The Handoo server: configuration, router, layers and start-up.
//! `main.rs` only parses arguments and calls [`run`]; tests call [`build`]
//! to boot the real router on a random port.

/// Declares a module's `/api/v1` routes once, giving both its `router()` and
/// `ROUTES`, the (method, path) list the authorization test walks — so the
/// list cannot drift from what is served:
///
/// ```ignore
/// api_routes! {
///     "/orgs/{org}/things" => get(list).post(create);
///     "/orgs/{org}/things/upload" => post(upload) [limit = 10 * 1024 * 1024];
/// }
/// ```
macro_rules! api_routes {
    ($($path:literal => $first:ident($fh:path) $(. $m:ident($h:path))* $([limit = $lim:expr])? ;)*) => {
        pub fn router() -> axum::Router<crate::state::AppState> {
            axum::Router::new()$(.route($path, {
                let r = axum::routing::$first($fh)$(.$m($h))*;
                $(let r = r.layer(axum::extract::DefaultBodyLimit::max($lim));)?
                r
            }))*
        }

        pub const ROUTES: &[(&str, &str)] = &[$((api_routes!(@method $first), $path), $((api_routes!(@method $m), $path),)*)*];
    };
    (@method get) => { "GET" };
    (@method post) => { "POST" };
    (@method put) => { "PUT" };
    (@method patch) => { "PATCH" };
    (@method delete) => { "DELETE" };
}

pub mod agents_api;
pub mod analytics_api;
pub mod bearer;
pub mod billing_api;
pub mod calls_api;
pub mod campaigns_api;
pub mod compression;
pub mod config;
pub mod copilot_api;
pub mod copilot_audio;
pub mod csrf;
pub mod env_vars;
pub mod metrics;
pub mod oauth;
pub mod openapi;
mod openapi_page;
pub mod prospects_api;
pub mod rest;
pub mod security_headers;
pub mod sentry;
pub mod sessions;
pub mod site;
pub mod state;
pub mod stream_guard;
pub mod telephony_api;
pub mod test_call;
pub mod verify_email;
pub mod voice_host;

use std::time::Duration;

use app::ssr::{RateLimiter, ServerCtx, ServerParts};
use app::{shell, App};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};

pub use config::Config;
pub use state::{AppState, Shared};

/// Failed logins allowed per (account, client) in the window below (per IP: 50 attempts).
pub const LOGIN_MAX_FAILURES: u32 = app::ssr::LOGIN_MAX_PER_ACCOUNT;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Sign-ups allowed per client IP in the window below.
pub const SIGNUP_MAX_PER_IP: u32 = app::ssr::SIGNUP_MAX_PER_IP;
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Invitation e-mails allowed per organisation in the window below.
pub const INVITES_MAX_PER_ORG: u32 = app::ssr::INVITES_MAX_PER_ORG;
pub const INVITE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// What reaches the outside world for an organisation: its provider keys
/// (sealed with the server key), LiveKit projects, and the event bus.
pub struct Envs {
    pub providers: services::credentials::ProviderEnv,
    pub telephony: services::telephony::TelephonyEnv,
    pub bus: services::events::EventBus,
}

pub async fn envs(config: &Config, db: &sea_orm::DatabaseConnection) -> anyhow::Result<Envs> {
    let secrets = config.secret_key.open().map_err(|e| anyhow::anyhow!("secret key: {e}"))?;
    let mut providers = services::credentials::ProviderEnv::new(secrets, config.provider_defaults.clone());
    providers.llm_timeout = config.llm_timeout;
    providers.egress = ::providers::EgressPolicy::new(config.egress_allow.clone());
    providers.billing = services::billing::BillingEnv::new(
        config.polar.clone(),
        config.plans.clone(),
        config.public_url.clone(),
        config.clock.clone(),
    );
    // PostgreSQL's LISTEN/NOTIFY when the database is PostgreSQL (events
    // reach watchers on every node), in-process on SQLite.
    let bus =
        services::events::EventBus::for_database(db).await.map_err(|e| anyhow::anyhow!("event bus: {e}"))?;
    let mut telephony = services::telephony::TelephonyEnv::new(&providers, config.livekit.clone());
    telephony.clock = config.clock.clone();
    telephony.rep_rejoin_grace = config.rep_rejoin_grace;
    Ok(Envs { providers, telephony, bus })
}

/// Connects to the database (running migrations), seeds the demo data when
/// asked, and assembles the full router with every layer.
pub async fn build(config: Config, leptos_options: LeptosOptions) -> anyhow::Result<(Router, AppState)> {
    let db = services::db::connect_and_migrate(&config.database_url).await?;
    if config.seed_demo {
        services::seed::seed_demo(&db).await.map_err(|e| anyhow::anyhow!("seeding failed: {e}"))?;
    }
    // Soft-deleted prospects are purged once their undo window has passed,
    // and uploaded files nobody imported are dropped after a day.
    tokio::spawn({
        let db = db.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(15));
            loop {
                tick.tick().await;
                if let Err(e) = services::prospects::bulk::purge_deleted(&db).await {
                    tracing::warn!(error = %e, "purging deleted prospects failed");
                }
                if let Err(e) = services::prospects::import::forget_stale_uploads(&db).await {
                    tracing::warn!(error = %e, "dropping stale import files failed");
                }
            }
        }
    });
    let mailer = services::mailer::Mailer::from_config(config.smtp.as_ref()).map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()?;
    let Envs { providers, telephony, bus } = envs(&config, &db).await?;
    // Durable background work; a job whose node died is taken over here
    // once its lease expires.
    let runner = services::jobs::Runner::new(
        db.clone(),
        config.clock.clone(),
        config.jobs,
        job_handlers(&bus, &telephony, &providers),
    )
    .with_lane(services::calls::DIAL_JOB, config.dial_concurrency);
    telephony.set_runner(runner.clone());
    runner.start();
    // The nightly billing reconciliation (once per night across nodes).
    if let Err(e) = services::billing::reconcile::schedule(&db, &providers.billing).await {
        tracing::warn!(error = %e, "the billing reconciliation was not scheduled");
    }
    let server_ctx = ServerCtx::new(ServerParts {
        trusted_proxies: config.trusted_proxies.clone(),
        db: db.clone(),
        mailer,
        public_url: config.public_url.clone(),
        dev_login: config.dev_login,
        google_enabled: config.google.is_some(),
        login_limiter: RateLimiter::new(LOGIN_WINDOW),
        login_throttle: app::login_throttle::LoginThrottle::new(LOGIN_WINDOW),
        signup_limiter: RateLimiter::new(SIGNUP_WINDOW),
        signup_max_per_ip: config.signups_per_ip_per_hour,
        invite_limiter: RateLimiter::new(INVITE_WINDOW),
        providers: providers.clone(),
        telephony,
        copilot: {
            let hub = match &config.embedding_model {
                Some(dir) => services::copilot::CopilotHub::with_semantic(
                    services::copilot::Semantic::shared(dir),
                    bus.clone(),
                ),
                None => services::copilot::CopilotHub::new(bus.clone()),
            };
            hub.ask_second_opinions(providers.clone());
            hub
        },
        bus,
        key_usage: Default::default(),
    });
    let store = sessions::DbSessionStore::new(&db).map_err(anyhow::Error::msg)?;
    let state = AppState::new(Shared {
        leptos_options: leptos_options.clone(),
        db: db.clone(),
        config: config.clone(),
        http,
        server_ctx,
        sessions: store.clone(),
        runner,
        metrics: Default::default(),
        api_key_limiter: RateLimiter::new(std::time::Duration::from_secs(60)),
        vad: voice_host::load_vad(config.vad.as_ref())?,
    });
    spawn_usage_flush(db.clone(), state.server_ctx.key_usage.clone(), config.usage_flush);

    tokio::spawn(store.clone().continuously_delete_expired(tokio::time::Duration::from_secs(3600)));
    let session_layer = SessionManagerLayer::new(store)
        // `__Host-` over https: only this exact origin can set it.
        .with_name(if config.cookie_secure { "__Host-handoo_session" } else { "handoo_session" })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.cookie_secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)));

    let routes = route_list();
    let ctx_for_pages = state.server_ctx.clone();
    let router = Router::new()
        .leptos_routes_with_context(&state, routes, move || provide_context(ctx_for_pages.clone()), {
            let opts = leptos_options.clone();
            move || shell(opts.clone())
        })
        .route("/api/{*fn_name}", get(server_fn_handler).post(server_fn_handler))
        .nest("/api/v1", rest::api_router())
        .route("/auth/google", get(oauth::start))
        .route("/auth/google/callback", get(oauth::callback))
        .route("/auth/verify-email", get(verify_email::verify))
        .route("/webhooks/livekit", axum::routing::post(calls_api::livekit_webhook))
        .route("/webhooks/polar", axum::routing::post(billing_api::polar_webhook))
        .route("/metrics", get(metrics::render))
        .route("/live", get(metrics::live))
        .route("/ready", get(metrics::ready))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(server_fn_status))
        .layer(axum::middleware::from_fn(request_memo))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security_headers::connect_sources))
        .layer(axum::middleware::from_fn_with_state(config.component_gallery, gallery_gate))
        .layer(axum::middleware::from_fn_with_state(
            csrf::CsrfConfig { secure: config.cookie_secure },
            csrf::layer,
        ))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(bearer::layer))
        .layer(axum::middleware::from_fn_with_state(
            security_headers::HeaderConfig {
                https: config.public_url.starts_with("https://"),
                hashed_assets: leptos_options.hash_files,
            },
            security_headers::layer,
        ))
        // Outside the header layer, which reads the page's first chunk for
        // its nonce; assets arrive already compressed (`--precompress`) and
        // are passed through.
        .layer(compression::layer())
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::layer))
        // One span per request (method + URI) so failures in the log say which request failed.
        // Paths are redacted: invitation tokens and OAuth codes never reach the log.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            tracing::info_span!("request", method = %req.method(), path = %redact_path(req.uri()))
        }));
    Ok((router, state))
}

/// The app's routes, generated once per process. Leptos generates them by
/// rendering the app with resource loading suppressed through a
/// process-global flag (`SuppressResourceLoad`): while that runs, every page
/// being rendered anywhere in the process waits forever for its data. A
/// server builds its router once, before serving, so this only bit when
/// one process builds several (the integration tests: about one run in
/// three hung a page for the 20 s client timeout).
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The largest body a server function accepts (10,000 ids for a bulk action
/// are ~400 KB). Server functions read their whole body into memory, so it
/// is capped here: by the declared length with a clear error, and by a
/// limit on the stream itself for bodies sent without one.
pub const SERVER_FN_MAX_BODY: usize = 4 * 1024 * 1024;

async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> axum::response::Response {
    // `/api/{*fn_name}` also catches unknown `/api/v1/...` paths: answer
    // those like the REST API does, not as a missing server function.
    if req.uri().path().starts_with("/api/v1/") {
        return rest::AppError::new(domain::ErrorCode::NotFound).into_response();
    }
    let ctx = state.server_ctx.clone();
    handle_server_fns_with_context(move || provide_context(ctx.clone()), req).await.into_response()
}

/// Gives each request its own [`app::ssr::RequestMemo`].
async fn request_memo(mut req: Request<Body>, next: axum::middleware::Next) -> axum::response::Response {
    req.extensions_mut().insert(app::ssr::RequestMemo::default());
    next.run(req).await
}

/// The component gallery is a development tool: unless switched on, its
/// route answers like any unknown page.
async fn gallery_gate(
    State(enabled): State<bool>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !enabled && req.uri().path().trim_end_matches('/') == app::features::gallery::PATH {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

/// Applied to the whole router: leptos_axum registers each server function
/// itself, so the body cap and the status fix-up must sit outside those routes.
async fn server_fn_status(req: Request<Body>, next: axum::middleware::Next) -> axum::response::Response {
    let is_server_fn = req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1/");
    let req = if is_server_fn {
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > SERVER_FN_MAX_BODY as u64) {
            return rest::AppError::new(domain::ErrorCode::RequestTooLarge).into_response();
        }
        req.map(|body| Body::new(http_body_util::Limited::new(body, SERVER_FN_MAX_BODY)))
    } else {
        req
    };
    let res = next.run(req).await;
    if is_server_fn {
        with_error_status(res).await
    } else {
        res
    }
}

/// server_fn answers every `Err` with 500. Give typed errors their real
/// status (401, 403, 404, 409, 422…) so clients, proxies and monitoring see
/// what happened; the JSON body (`AppError`) is unchanged.
async fn with_error_status(res: axum::response::Response) -> axum::response::Response {
    if res.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return axum::response::Response::from_parts(parts, Body::empty());
    };
    if let Ok(err) = serde_json::from_slice::<app::AppError>(&bytes) {
        if let Ok(status) = axum::http::StatusCode::from_u16(err.code.http_status()) {
            parts.status = status;
        }
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}

/// Logs to stderr (text, or JSON with `HANDOO_LOG_FORMAT=json`) and, with
/// `SENTRY_DSN` set, reports errors and panics. Call once, inside the runtime.
pub fn init_logging(config: &Config) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into());
    let (text, json) = if config.log_json {
        (None, Some(tracing_subscriber::fmt::layer().json().with_current_span(true)))
    } else {
        (Some(tracing_subscriber::fmt::layer()), None)
    };
    let reporter = config.sentry_dsn.clone().map(|dsn| {
        let r = sentry::Reporter::start(dsn, reqwest::Client::new());
        r.install_global();
        r
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(reporter.map(sentry::ErrorLayer))
        .init();
}

/// Runs the server until Ctrl-C / SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let leptos_options = site::leptos_options(&config)?;
    let addr = config.bind.unwrap_or(leptos_options.site_addr);
    config::check_dev_tools(&config, addr).map_err(anyhow::Error::msg)?;
    let (router, state) = build(config.clone(), leptos_options).await?;
    // TCP_NODELAY: SSR streams the page in several chunks; with Nagle's
    // algorithm each later chunk waits for the client's delayed ACK (~40 ms).
    let listener = axum::serve::ListenerExt::tap_io(tokio::net::TcpListener::bind(addr).await?, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tracing::info!("Handoo listening on http://{addr} ({})", config::redact_url(&config.database_url));
    let voice = voice_host::start(&config, &state)?;
    // On SIGTERM the voice agent drains first (no new call; live ones
    // finish) while this node still serves their webhooks and pages.
    let stopping = async move {
        shutdown_signal().await;
        if let Some(v) = voice {
            tracing::info!("draining the voice agent: no new call, waiting for live ones");
            v.drain().await;
        }
    };
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(stopping)
        .await?;
    // Running jobs get a moment to finish; the rest are taken over by
    // another node (or this one after a restart) when their leases expire.
    state.runner.stop(std::time::Duration::from_secs(10)).await;
    // What was counted since the last periodic write.
    if let Err(e) = state.server_ctx.key_usage.flush(&state.db).await {
        tracing::warn!(error = %e, "API key usage not written at shutdown");
    }
    Ok(())
}

/// Every kind of job this server runs.
fn job_handlers(
    bus: &services::events::EventBus,
    telephony: &services::telephony::TelephonyEnv,
    providers: &services::credentials::ProviderEnv,
) -> std::collections::HashMap<&'static str, std::sync::Arc<dyn services::jobs::Handler>> {
    let mut h: std::collections::HashMap<&'static str, std::sync::Arc<dyn services::jobs::Handler>> =
        Default::default();
    h.insert(
        services::prospects::import::IMPORT_JOB,
        std::sync::Arc::new(services::prospects::import::ImportHandler { bus: bus.clone() }),
    );
    h.insert(
        services::calls::DIAL_JOB,
        std::sync::Arc::new(services::calls::place::DialHandler { env: telephony.clone(), bus: bus.clone() }),
    );
    h.insert(
        services::calls::rep::REP_GONE_JOB,
        std::sync::Arc::new(services::calls::rep::RepGoneHandler {
            env: telephony.clone(),
            bus: bus.clone(),
        }),
    );
    h.insert(
        services::campaigns::dialer::TICK_JOB,
        std::sync::Arc::new(services::campaigns::dialer::TickHandler {
            env: telephony.clone(),
            bus: bus.clone(),
        }),
    );
    h.insert(
        services::analysis::ANALYSIS_JOB,
        std::sync::Arc::new(services::analysis::AnalysisHandler {
            providers: providers.clone(),
            clock: telephony.clock.clone(),
        }),
    );
    h.insert(
        services::billing::usage::REPORT_JOB,
        std::sync::Arc::new(services::billing::usage::ReportHandler { env: providers.billing.clone() }),
    );
    h.insert(
        services::billing::reconcile::RECONCILE_JOB,
        std::sync::Arc::new(services::billing::reconcile::ReconcileHandler {
            env: providers.billing.clone(),
        }),
    );
    h
}

/// Writes counted API-key usage every `every` (see `services::api_keys::usage`).
fn spawn_usage_flush(
    db: sea_orm::DatabaseConnection,
    usage: std::sync::Arc<services::api_keys::usage::UsageCounter>,
    every: std::time::Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = usage.flush(&db).await {
                tracing::warn!(error = %e, "API key usage not written; retrying at the next tick");
            }
        }
    });
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// A request path fit for the log: no query string (OAuth codes, states,
/// search terms), and no secret path segments (invitation tokens).
pub fn redact_path(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    let mut out = String::with_capacity(path.len());
    let mut secret_next = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if secret_next && !segment.is_empty() {
            out.push_str("<redacted>");
        } else {
            out.push_str(segment);
        }
        secret_next = matches!(segment, "invite" | "invites" | "reset" | "verify");
    }
    if uri.query().is_some() {
        out.push_str("?<redacted>");
    }
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_path;

    #[test]
    fn tokens_and_codes_stay_out_of_the_log() {
        let r = |s: &str| redact_path(&s.parse().unwrap());
        assert_eq!(r("/invite/Zm9vYmFyYmF6"), "/invite/<redacted>");
        assert_eq!(r("/api/invite_preview"), "/api/invite_preview");
        assert_eq!(r("/auth/google/callback?code=4/0Ab&state=xyz"), "/auth/google/callback?<redacted>");
        assert_eq!(r("/prospects"), "/prospects");
        assert_eq!(r("/"), "/");
    }
}
