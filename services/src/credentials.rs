//! Per-organisation provider credentials: API keys sealed at rest, shown
//! masked, tested on demand, and resolved into an [`Endpoint`] for the
//! provider clients (organisation key first, then the server-wide default
//! from the environment).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use domain::catalogue::{self, Capability, Provider};
use domain::{ErrorCode, Permission};
use entity::provider_credentials as creds;
use providers::{EgressPolicy, Endpoint};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

pub use domain::views::{CredentialView, KeySource, TestOutcome};

use crate::secrets::{self, SecretBox};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_KEY_BYTES: usize = 512;

/// A server-wide default for one provider (from `<ID>_API_KEY` / `<ID>_BASE_URL`).
#[derive(Clone, Default)]
pub struct ServerDefault {
    pub base_url: Option<String>,
    pub api_key: Option<String>,
}

impl std::fmt::Debug for ServerDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerDefault")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What credential resolution needs, built once at start-up.
#[derive(Debug, Clone)]
pub struct ProviderEnv {
    pub secrets: SecretBox,
    /// By catalogue provider id.
    pub defaults: BTreeMap<String, ServerDefault>,
    /// For the operator's own base URLs. Tenants' URLs use `egress`'s client.
    pub http: reqwest::Client,
    /// Where a tenant-supplied base URL may lead (`HANDOO_EGRESS_ALLOW`).
    pub egress: EgressPolicy,
    /// Longest a non-interactive LLM call (brief, script generation) may take.
    pub llm_timeout: Duration,
    /// Plans, quotas and usage (off unless the server configures Polar).
    pub billing: crate::billing::BillingEnv,
}

impl ProviderEnv {
    /// Public destinations only for tenants' URLs; see [`ProviderEnv::egress`].
    pub fn new(secrets: SecretBox, defaults: BTreeMap<String, ServerDefault>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A redirect would replay the vendor key header to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client with default TLS");
        ProviderEnv {
            secrets,
            defaults,
            http,
            egress: EgressPolicy::new(Vec::new()),
            llm_timeout: Duration::from_secs(45),
            billing: crate::billing::BillingEnv::off(crate::clock::system()),
        }
    }
}

fn aad(org_id: Uuid, provider: &str) -> Vec<u8> {
    format!("provider_credentials/{org_id}/{provider}").into_bytes()
}

fn known(provider: &str) -> ServiceResult<&'static Provider> {
    catalogue::provider(provider)
        .ok_or_else(|| ServiceError::field(ErrorCode::UnknownProvider, "provider").with_detail(provider))
}

async fn row(db: &DatabaseConnection, ctx: &OrgCtx, provider: &str) -> ServiceResult<Option<creds::Model>> {
    Ok(creds::Entity::find()
        .filter(creds::Column::OrgId.eq(ctx.org_id()))
        .filter(creds::Column::Provider.eq(provider))
        .one(db)
        .await?)
}

fn view(p: &Provider, row: Option<&creds::Model>, env: &ProviderEnv) -> CredentialView {
    let org_key = row.is_some_and(|r| r.key_ciphertext.is_some());
    let server_key = env.defaults.get(p.id).is_some_and(|d| d.api_key.is_some());
    CredentialView {
        provider: p.id.to_string(),
        name: p.name.to_string(),
        capabilities: Capability::ALL.into_iter().filter(|c| p.supports(*c)).collect(),
        key_optional: p.key_optional,
        default_base_url: p.default_base_url.to_string(),
        base_url: row.and_then(|r| r.base_url.clone()),
        key_hint: row.and_then(|r| r.key_hint.clone()),
        source: if org_key {
            KeySource::Organization
        } else if server_key {
            KeySource::Server
        } else {
            KeySource::None
        },
        last_tested_at: row.and_then(|r| r.last_tested_at),
        last_test_ok: row.and_then(|r| r.last_test_ok),
    }
}

/// Every catalogue provider with this organisation's settings.
pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
) -> ServiceResult<Vec<CredentialView>> {
    ctx.require(Permission::ViewOrganization)?;
    let rows = creds::Entity::find().filter(creds::Column::OrgId.eq(ctx.org_id())).all(db).await?;
    Ok(catalogue::PROVIDERS.iter().map(|p| view(p, rows.iter().find(|r| r.provider == p.id), env)).collect())
}

/// The catalogue providers offering `cap` that this organisation can use
/// (its own key first, then the server's), for features that pick "the
/// organisation's" model by themselves (copilot briefs, live transcription).
pub async fn configured(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    cap: Capability,
) -> ServiceResult<Vec<&'static Provider>> {
    let mut usable: Vec<_> = list(db, ctx, env)
        .await?
        .into_iter()
        .filter(|c| c.capabilities.contains(&cap) && c.source != KeySource::None)
        .collect();
    usable.sort_by_key(|c| c.source != KeySource::Organization);
    Ok(usable.iter().filter_map(|c| catalogue::provider(&c.provider)).collect())
}

/// Checks an override base URL: http(s) or ws(s), a host, no embedded
/// credentials, no query or fragment (a `#` would turn the vendor path we
/// append into a fragment, leaving the tenant's own path). Whether the host
/// may be reached is the egress policy's decision, made when it is used.
pub fn normalize_base_url(input: &str) -> ServiceResult<Option<String>> {
    let t = input.trim().trim_end_matches('/');
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || ServiceError::field(ErrorCode::Validation, "base_url");
    if t.len() > 500 || t.contains(['#', '?']) || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    let url = url::Url::parse(t).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https" | "ws" | "wss")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    Ok(Some(url.as_str().trim_end_matches('/').to_string()))
}

/// Saving a URL the policy refuses outright (an address literal such as
/// `127.0.0.1` or `169.254.169.254`) fails at once with a clear error;
/// names are checked each time they are resolved.
fn check_egress(env: &ProviderEnv, base_url: Option<&str>) -> ServiceResult<()> {
    let Some(u) = base_url.and_then(|b| url::Url::parse(b).ok()) else { return Ok(()) };
    env.egress.check_url(&u).map_err(|_| ServiceError::field(ErrorCode::ProviderAddressRefused, "base_url"))
}

/// Saves the key and/or base URL. `api_key: None` keeps the stored key;
/// `Some("")` removes it.
pub async fn save(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    provider: &str,
    api_key: Option<&str>,
    base_url: &str,
) -> ServiceResult<CredentialView> {
    ctx.require(Permission::ManageProviderKeys)?;
    let p = known(provider)?;
    let base_url = normalize_base_url(base_url)?;
    check_egress(env, base_url.as_deref())?;
    let key = api_key.map(str::trim);
    if let Some(k) = key {
        if k.len() > MAX_KEY_BYTES || k.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ServiceError::field(ErrorCode::Validation, "api_key"));
        }
    }
    let at = now();
    let sealed =
        |k: &str| (!k.is_empty()).then(|| (env.secrets.seal(k, &aad(ctx.org_id(), p.id)), secrets::hint(k)));
    let saved = match row(db, ctx, p.id).await? {
        Some(existing) => {
            let mut m: creds::ActiveModel = existing.into();
            m.base_url = Set(base_url);
            if let Some(k) = key {
                let s = sealed(k);
                m.key_ciphertext = Set(s.as_ref().map(|(c, _)| c.clone()));
                m.key_hint = Set(s.map(|(_, h)| h));
                // A new key has not been tested yet.
                m.last_tested_at = Set(None);
                m.last_test_ok = Set(None);
            }
            m.updated_at = Set(at);
            m.update(db).await?
        }
        None => {
            let s = key.and_then(sealed);
            creds::ActiveModel {
                id: Set(new_id()),
                org_id: Set(ctx.org_id()),
                provider: Set(p.id.to_string()),
                base_url: Set(base_url),
                key_ciphertext: Set(s.as_ref().map(|(c, _)| c.clone())),
                key_hint: Set(s.map(|(_, h)| h)),
                created_by: Set(ctx.user_id()),
                created_at: Set(at),
                updated_at: Set(at),
                last_tested_at: Set(None),
                last_test_ok: Set(None),
            }
            .insert(db)
            .await?
        }
    };
    tracing::info!(org = %ctx.org_id(), provider = p.id, "provider settings saved");
    Ok(view(p, Some(&saved), env))
}

pub async fn remove(db: &DatabaseConnection, ctx: &OrgCtx, provider: &str) -> ServiceResult<()> {
    ctx.require(Permission::ManageProviderKeys)?;
    let p = known(provider)?;
    creds::Entity::delete_many()
        .filter(creds::Column::OrgId.eq(ctx.org_id()))
        .filter(creds::Column::Provider.eq(p.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Where and with which key this organisation reaches `provider`.
pub async fn endpoint(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    provider: &str,
) -> ServiceResult<Endpoint> {
    let p = known(provider)?;
    let row = row(db, ctx, p.id).await?;
    let default = env.defaults.get(p.id).cloned().unwrap_or_default();
    let org_key = match row.as_ref().and_then(|r| r.key_ciphertext.as_deref()) {
        Some(sealed) => Some(env.secrets.open(sealed, &aad(ctx.org_id(), p.id))?),
        None => None,
    };
    let org_base = row.as_ref().and_then(|r| r.base_url.clone());
    // The operator's key goes only where the operator sends it: an
    // organisation that points the provider elsewhere brings its own key.
    let key = if org_base.is_some() { org_key } else { org_key.or(default.api_key) };
    if key.is_none() && !p.key_optional {
        return Err(ServiceError::field(ErrorCode::ProviderNotConfigured, "provider").with_detail(p.name));
    }
    let guarded = |base: String| {
        Endpoint::guarded(base, key.clone(), env.egress.clone()).map_err(|e| ServiceError::new(e.code()))
    };
    match (org_base, default.base_url) {
        // The tenant's URL: every request passes the egress policy.
        (Some(base), _) => guarded(base),
        // The operator's own URL (`<ID>_BASE_URL`): trusted as configured.
        (None, Some(base)) => Ok(Endpoint::new(base, key)),
        // The catalogue's vendor URL: public by design, but a local default
        // (Ollama on loopback) is only reachable when the operator says so.
        (None, None) => guarded(p.default_base_url.to_string()),
    }
}

/// Makes one small real request with the organisation's settings and
/// records the outcome. Chat providers answer a 1-token completion.
pub async fn test_connection(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    provider: &str,
) -> ServiceResult<TestOutcome> {
    ctx.require(Permission::ManageProviderKeys)?;
    let p = known(provider)?;
    let started = Instant::now();
    let result = match endpoint(db, ctx, env, p.id).await {
        Err(e) if e.code == ErrorCode::ProviderNotConfigured => {
            Err(providers::ProviderError::NotConfigured(p.name.into()))
        }
        Err(e) if e.code == ErrorCode::ProviderAddressRefused => {
            Err(providers::ProviderError::AddressRefused)
        }
        Err(e) => return Err(e),
        Ok(mut ep) => {
            ep.retry = providers::http::RetryPolicy::none();
            ep.request_timeout = Duration::from_secs(15);
            probe(env, p, ep).await
        }
    };
    let outcome = TestOutcome {
        ok: result.is_ok(),
        error: result.as_ref().err().map(|e| e.code()),
        message: result.err().map(|e| e.to_string()),
        latency_ms: started.elapsed().as_millis() as u64,
    };
    if let Some(existing) = row(db, ctx, p.id).await? {
        let mut m: creds::ActiveModel = existing.into();
        m.last_tested_at = Set(Some(now()));
        m.last_test_ok = Set(Some(outcome.ok));
        m.update(db).await?;
    }
    Ok(outcome)
}

async fn probe(env: &ProviderEnv, p: &Provider, ep: Endpoint) -> Result<(), providers::ProviderError> {
    if p.supports(Capability::Llm) {
        let model = p.llm_models.first().copied().unwrap_or("llama3.1");
        let chat = providers::chat_model(env.http.clone(), p.id, ep)?;
        let req = providers::ChatRequest {
            model: model.to_string(),
            messages: vec![providers::ChatMessage::User { content: "ping".into() }],
            tools: vec![],
            temperature: None,
            max_tokens: Some(16),
        };
        providers::llm::complete(chat.as_ref(), req).await.map(|_| ())
    } else if p.supports(Capability::Tts) {
        // Listing voices is authenticated and costs nothing.
        providers::text_to_speech(env.http.clone(), p.id, ep)?.voices().await.map(|_| ())
    } else {
        // Half a second of silence through a real streaming session.
        let stt = providers::speech_to_text(env.http.clone(), p.id, ep)?;
        let config = providers::stt::SttConfig {
            model: p.stt_models.first().copied().unwrap_or_default().to_string(),
            language: "en".into(),
            sample_rate: 16_000,
            interim: false,
        };
        providers::stt::transcribe(stt.as_ref(), config, &[0u8; 16_000]).await.map(|_| ())
    }
}

/// The voices `provider` offers this organisation: the vendor's live list
/// when a key is configured, the catalogue's defaults otherwise (or when the
/// vendor cannot be reached — the form must still work).
pub async fn voices(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    provider: &str,
) -> ServiceResult<Vec<providers::tts::VoiceInfo>> {
    ctx.require(Permission::UseWorkspace)?;
    let p = known(provider)?;
    let shipped = || {
        p.voices
            .iter()
            .map(|v| providers::tts::VoiceInfo {
                id: v.id.into(),
                name: v.name.into(),
                language: Some(v.language.into()),
            })
            .collect::<Vec<_>>()
    };
    if !p.supports(Capability::Tts) {
        return Err(ServiceError::field(ErrorCode::UnknownProvider, "provider").with_detail(provider));
    }
    let ep = match endpoint(db, ctx, env, p.id).await {
        Ok(ep) => ep,
        Err(e) if e.code == ErrorCode::ProviderNotConfigured => return Ok(shipped()),
        Err(e) => return Err(e),
    };
    let client =
        providers::text_to_speech(env.http.clone(), p.id, ep).map_err(|e| ServiceError::new(e.code()))?;
    match client.voices().await {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Ok(shipped()),
        Err(e) => {
            tracing::warn!(provider = p.id, error = %e, "voice list unavailable; using the shipped defaults");
            Ok(shipped())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(normalize_base_url("  ").unwrap(), None);
        assert_eq!(
            normalize_base_url("http://127.0.0.1:11434/v1/").unwrap().as_deref(),
            Some("http://127.0.0.1:11434/v1")
        );
        assert_eq!(
            normalize_base_url("wss://api.deepgram.com/v1").unwrap().as_deref(),
            Some("wss://api.deepgram.com/v1")
        );
        for bad in [
            "ftp://x",
            "not a url",
            "https://user:pw@host/v1",
            "file:///etc/passwd",
            "http://",
            "http://internal/admin#",
            "http://internal/admin?x=",
            "http://host/a b",
        ] {
            assert!(normalize_base_url(bad).is_err(), "{bad}");
        }
    }
}
