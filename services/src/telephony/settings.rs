//! An organisation's telephony settings: its LiveKit project (else the
//! server's `LIVEKIT_*` one), default trunk and caller number, and the last
//! connection test.

use std::time::Duration;

use domain::{ErrorCode, Permission};
use entity::{sip_trunks, telephony_settings as row};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use super::livekit::{LiveKit, LiveKitError, Project, ProjectError};
use super::TelephonyEnv;
use crate::authz::OrgCtx;
use crate::{now, secrets, ServiceError, ServiceResult};
pub use domain::telephony::{ConnectionTest, TelephonyChange, TelephonySettings};

pub(crate) fn aad(org_id: Uuid) -> Vec<u8> {
    format!("telephony:{org_id}:livekit").into_bytes()
}

pub(crate) async fn row(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Option<row::Model>> {
    Ok(row::Entity::find_by_id(ctx.org_id()).one(db).await?)
}

fn view(r: Option<&row::Model>, env: &TelephonyEnv) -> TelephonySettings {
    TelephonySettings {
        livekit_url: r.and_then(|r| r.livekit_url.clone()),
        livekit_api_key: r.and_then(|r| r.livekit_api_key.clone()),
        livekit_secret_hint: r.and_then(|r| r.livekit_secret_hint.clone()),
        server_default: env.default.is_some(),
        default_trunk_id: r.and_then(|r| r.default_trunk_id),
        default_caller_number: r.and_then(|r| r.default_caller_number.clone()),
        last_test: r.and_then(|r| {
            super::stored_test(
                r.last_tested_at,
                r.last_test_ok,
                r.last_test_latency_ms,
                r.last_test_error.as_ref(),
            )
        }),
    }
}

pub async fn get(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
) -> ServiceResult<TelephonySettings> {
    ctx.require(Permission::ManageSettings)?;
    Ok(view(row(db, ctx).await?.as_ref(), env))
}

fn project_error(e: ProjectError) -> ServiceError {
    match e {
        ProjectError::Url => ServiceError::field(ErrorCode::Validation, "livekit_url"),
        ProjectError::ApiKey => ServiceError::field(ErrorCode::Validation, "livekit_api_key"),
        ProjectError::ApiSecret => ServiceError::field(ErrorCode::Validation, "livekit_api_secret"),
    }
}

/// Saves a change. The project must be whole (URL, key and secret) or
/// absent; a new project has not been tested yet.
pub async fn save(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    change: TelephonyChange,
) -> ServiceResult<TelephonySettings> {
    ctx.require(Permission::ManageSettings)?;
    let existing = row(db, ctx).await?;
    let keep = super::keep;
    let url = keep(change.livekit_url, existing.as_ref().and_then(|r| r.livekit_url.as_ref()));
    let key = keep(change.livekit_api_key, existing.as_ref().and_then(|r| r.livekit_api_key.as_ref()));
    let old_secret = match existing.as_ref().and_then(|r| r.livekit_secret_ciphertext.as_deref()) {
        Some(sealed) => Some(env.secrets.open(sealed, &aad(ctx.org_id()))?),
        None => None,
    };
    let secret = keep(change.livekit_api_secret.clone(), old_secret.as_ref());
    let project = match (&url, &key, &secret) {
        (None, None, None) => None,
        (Some(u), Some(k), Some(s)) => Some(Project::parse(u, k, s).map_err(project_error)?),
        (None, _, _) => return Err(ServiceError::field(ErrorCode::Validation, "livekit_url")),
        (_, None, _) => return Err(ServiceError::field(ErrorCode::Validation, "livekit_api_key")),
        (_, _, None) => return Err(ServiceError::field(ErrorCode::Validation, "livekit_api_secret")),
    };
    if let Some(p) = &project {
        // Refused now rather than at the first call: a literal address
        // inside our network (names are checked at each connection).
        env.egress
            .check_url(&p.url)
            .map_err(|_| ServiceError::field(ErrorCode::ProviderAddressRefused, "livekit_url"))?;
    }
    let trunk = match change.default_trunk_id.as_deref().map(str::trim) {
        Some("") => None,
        Some(id) => {
            let id = Uuid::parse_str(id)
                .map_err(|_| ServiceError::field(ErrorCode::Validation, "default_trunk_id"))?;
            let found = sip_trunks::Entity::find_by_id(id)
                .filter(sip_trunks::Column::OrgId.eq(ctx.org_id()))
                .filter(sip_trunks::Column::Direction.eq("outbound"))
                .one(db)
                .await?;
            if found.is_none() {
                return Err(ServiceError::field(ErrorCode::NotFound, "default_trunk_id"));
            }
            Some(id)
        }
        None => existing.as_ref().and_then(|r| r.default_trunk_id),
    };
    let caller = match change.default_caller_number {
        Some(n) if n.trim().is_empty() => None,
        Some(n) => Some(super::e164(&n, "default_caller_number")?),
        None => existing.as_ref().and_then(|r| r.default_caller_number.clone()),
    };
    let changed_project =
        project.as_ref().map(|p| (p.url.to_string(), p.api_key.clone(), p.api_secret.clone()))
            != match (&existing, &old_secret) {
                (Some(r), Some(s)) => {
                    r.livekit_url.clone().zip(r.livekit_api_key.clone()).map(|(u, k)| (u, k, s.clone()))
                }
                _ => None,
            };
    let sealed = project
        .as_ref()
        .map(|p| (env.secrets.seal(&p.api_secret, &aad(ctx.org_id())), secrets::hint(&p.api_secret)));
    let mut m = match existing.clone() {
        Some(r) => r.into(),
        None => row::ActiveModel { org_id: Set(ctx.org_id()), ..Default::default() },
    };
    m.livekit_url = Set(project.as_ref().map(|p| p.url.to_string()));
    m.livekit_api_key = Set(project.as_ref().map(|p| p.api_key.clone()));
    m.livekit_secret_ciphertext = Set(sealed.as_ref().map(|s| s.0.clone()));
    m.livekit_secret_hint = Set(sealed.map(|s| s.1));
    m.default_trunk_id = Set(trunk);
    m.default_caller_number = Set(caller);
    if changed_project || existing.is_none() {
        m.last_tested_at = Set(None);
        m.last_test_ok = Set(None);
        m.last_test_latency_ms = Set(None);
        m.last_test_error = Set(None);
    }
    m.updated_by = Set(ctx.user_id());
    m.updated_at = Set(now());
    let saved = if existing.is_some() { m.update(db).await? } else { m.insert(db).await? };
    crate::audit::record(
        db,
        ctx.org_id(),
        ctx,
        crate::audit::action::TELEPHONY_CHANGED,
        None,
        serde_json::json!({ "livekit_url": saved.livekit_url, "project_changed": changed_project }),
    )
    .await?;
    Ok(view(Some(&saved), env))
}

/// The client for this organisation's project: its own, else the server's.
pub async fn client(db: &DatabaseConnection, ctx: &OrgCtx, env: &TelephonyEnv) -> ServiceResult<LiveKit> {
    let r = row(db, ctx).await?;
    let own = r.as_ref().and_then(|r| {
        Some((r.livekit_url.clone()?, r.livekit_api_key.clone()?, r.livekit_secret_ciphertext.clone()?))
    });
    match own {
        Some((url, key, sealed)) => {
            let secret = env.secrets.open(&sealed, &aad(ctx.org_id()))?;
            let project = Project::parse(&url, &key, &secret).map_err(project_error)?;
            Ok(LiveKit::tenant(project, &env.egress))
        }
        None => match &env.default {
            Some(p) => Ok(LiveKit::operator(p.clone(), env.http.clone())),
            None => Err(ServiceError::new(ErrorCode::TelephonyNotConfigured)),
        },
    }
}

/// The error code a failed LiveKit request reads as.
pub fn error_code(e: &LiveKitError) -> ErrorCode {
    match e {
        LiveKitError::Refused => ErrorCode::ProviderAddressRefused,
        LiveKitError::Unreachable(_) => ErrorCode::ProviderUnavailable,
        LiveKitError::Timeout => ErrorCode::ProviderTimeout,
        LiveKitError::Unauthorized => ErrorCode::ProviderAuth,
        LiveKitError::Twirp { status, .. } if *status >= 500 => ErrorCode::ProviderUnavailable,
        LiveKitError::Twirp { .. } => ErrorCode::ProviderBadRequest,
        LiveKitError::Protocol(_) => ErrorCode::ProviderMalformed,
    }
}

/// Lists the project's rooms and stores how that went.
pub async fn test_connection(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
) -> ServiceResult<ConnectionTest> {
    ctx.require(Permission::ManageSettings)?;
    let lk = client(db, ctx, env).await?;
    let started = std::time::Instant::now();
    let outcome = lk.ping().await;
    let latency = started.elapsed().min(Duration::from_secs(3600)).as_millis() as i32;
    let (ok, error) = match &outcome {
        Ok(_) => (true, None),
        Err(e) => {
            // The upstream's words stay in our log; the tenant sees a code.
            tracing::warn!(org = %ctx.org_id(), error = %e, "LiveKit connection test failed");
            (false, Some(error_code(e).as_str().to_string()))
        }
    };
    let at = now();
    let existing = row(db, ctx).await?;
    let mut m: row::ActiveModel = match existing.clone() {
        Some(r) => r.into(),
        None => row::ActiveModel { org_id: Set(ctx.org_id()), ..Default::default() },
    };
    m.last_tested_at = Set(Some(at));
    m.last_test_ok = Set(Some(ok));
    m.last_test_latency_ms = Set(ok.then_some(latency));
    m.last_test_error = Set(error.clone());
    if existing.is_some() {
        m.update(db).await?;
    } else {
        m.updated_at = Set(at);
        m.insert(db).await?;
    }
    Ok(ConnectionTest {
        at,
        ok,
        latency_ms: ok.then_some(latency),
        code: error.as_deref().and_then(ErrorCode::parse),
        error,
    })
}

/// Where a signed-in person's browser may open LiveKit connections (the
/// page's `connect-src`): the server's project and the projects of the
/// organisations they belong to — nobody else's. Both forms of each origin:
/// the SDK signals over `ws(s)://` and checks over `http(s)://`.
pub async fn client_origins(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    user_id: Uuid,
) -> ServiceResult<Vec<String>> {
    use entity::memberships;
    use sea_orm::QuerySelect;
    let orgs: Vec<Uuid> = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::OrgId)
        .filter(memberships::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut urls: Vec<String> = env.default.iter().map(|p| p.url.to_string()).collect();
    if !orgs.is_empty() {
        let own: Vec<Option<String>> = row::Entity::find()
            .select_only()
            .column(row::Column::LivekitUrl)
            .filter(row::Column::OrgId.is_in(orgs))
            .into_tuple()
            .all(db)
            .await?;
        urls.extend(own.into_iter().flatten());
    }
    let mut origins = Vec::new();
    for u in urls {
        let Ok(url) = url::Url::parse(&u) else { continue };
        let Some(host) = url.host_str() else { continue };
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let (http, ws) =
            if matches!(url.scheme(), "https" | "wss") { ("https", "wss") } else { ("http", "ws") };
        for scheme in [ws, http] {
            let o = format!("{scheme}://{host}{port}");
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
    }
    Ok(origins)
}

/// A LiveKit project the voice agent serves, and whether it is a tenant's
/// (reached only through the egress policy) or the operator's own.
#[derive(Debug, Clone)]
pub struct ServedProject {
    pub project: Project,
    pub tenant: bool,
}

/// Every project calls may go through: the operator's (when set) and each
/// organisation's own, once each. A project whose secret no longer opens
/// (a rotated server key) is left out and logged.
pub async fn served_projects(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
) -> ServiceResult<Vec<ServedProject>> {
    let mut out: Vec<ServedProject> =
        env.default.iter().map(|p| ServedProject { project: p.clone(), tenant: false }).collect();
    let rows = row::Entity::find()
        .filter(row::Column::LivekitUrl.is_not_null())
        .filter(row::Column::LivekitSecretCiphertext.is_not_null())
        .all(db)
        .await?;
    for r in rows {
        let (Some(url), Some(key), Some(sealed)) =
            (&r.livekit_url, &r.livekit_api_key, &r.livekit_secret_ciphertext)
        else {
            continue;
        };
        let project = env
            .secrets
            .open(sealed, &aad(r.org_id))
            .ok()
            .and_then(|secret| Project::parse(url, key, &secret).ok());
        let Some(project) = project else {
            tracing::warn!(org = %r.org_id, "an organisation's LiveKit project does not open; its calls get no agent");
            continue;
        };
        let same = |s: &ServedProject| {
            s.project.url == project.url
                && s.project.api_key == project.api_key
                && s.project.api_secret == project.api_secret
        };
        if !out.iter().any(same) {
            out.push(ServedProject { project, tenant: true });
        }
    }
    Ok(out)
}
