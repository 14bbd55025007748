//! An organisation's recording settings (Admins and Owners): whether calls
//! are recorded when their agent leaves it to the organisation, and the
//! S3-compatible bucket LiveKit's egress writes recordings to — the secret
//! key sealed and bound to the organisation, the endpoint kept out of our
//! own network, the last bucket check stored.

use std::time::{Duration, Instant};

use domain::{ErrorCode, Permission};
use entity::recording_settings as row;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use uuid::Uuid;

use super::bucket::{Bucket, BucketField};
use super::TelephonyEnv;
use crate::authz::OrgCtx;
use crate::{now, secrets, ServiceError, ServiceResult};
pub use domain::telephony::{ConnectionTest, RecordingChange, RecordingSettings};

fn aad(org_id: Uuid) -> Vec<u8> {
    format!("telephony:{org_id}:recordings").into_bytes()
}

pub(crate) async fn row(db: &DatabaseConnection, org_id: Uuid) -> ServiceResult<Option<row::Model>> {
    Ok(row::Entity::find_by_id(org_id).one(db).await?)
}

fn view(r: Option<&row::Model>) -> RecordingSettings {
    RecordingSettings {
        record_calls: r.is_some_and(|r| r.record_calls),
        endpoint: r.and_then(|r| r.endpoint.clone()),
        region: r.and_then(|r| r.region.clone()),
        bucket: r.and_then(|r| r.bucket.clone()),
        path_style: r.is_none_or(|r| r.path_style),
        access_key: r.and_then(|r| r.access_key.clone()),
        secret_hint: r.and_then(|r| r.secret_hint.clone()),
        configured: r.is_some_and(|r| {
            r.endpoint.is_some()
                && r.region.is_some()
                && r.bucket.is_some()
                && r.access_key.is_some()
                && r.secret_ciphertext.is_some()
        }),
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

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<RecordingSettings> {
    ctx.require(Permission::ManageSettings)?;
    Ok(view(row(db, ctx.org_id()).await?.as_ref()))
}

fn field(f: BucketField) -> ServiceError {
    ServiceError::field(ErrorCode::Validation, f.name())
}

/// The organisation's bucket, if set whole (the secret opened).
pub(crate) fn bucket_of(r: &row::Model, env: &TelephonyEnv) -> ServiceResult<Option<Bucket>> {
    let (Some(endpoint), Some(region), Some(name), Some(key), Some(sealed)) =
        (&r.endpoint, &r.region, &r.bucket, &r.access_key, &r.secret_ciphertext)
    else {
        return Ok(None);
    };
    let secret = env.secrets.open(sealed, &aad(r.org_id))?;
    Ok(Bucket::new(endpoint, region, name, r.path_style, key, &secret).ok())
}

/// The endpoint may not lead into our own network: LiveKit's egress (the
/// operator's, often) writes there and this server checks it.
pub(crate) async fn check_reachable(env: &TelephonyEnv, b: &Bucket) -> ServiceResult<()> {
    let refused = || ServiceError::field(ErrorCode::ProviderAddressRefused, "endpoint");
    env.egress.check_url(&b.endpoint).map_err(|_| refused())?;
    let host = b.endpoint.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
    let port = b.endpoint.port_or_known_default().unwrap_or(443);
    env.egress.resolve(&host, port).await.map_err(|e| match e {
        providers::ProviderError::AddressRefused => refused(),
        _ => ServiceError::field(ErrorCode::ProviderUnavailable, "endpoint"),
    })?;
    Ok(())
}

/// Saves a change. The bucket is whole or absent; recording by default
/// needs a whole bucket; a changed bucket has not been checked yet.
pub async fn save(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    change: RecordingChange,
) -> ServiceResult<RecordingSettings> {
    ctx.require(Permission::ManageSettings)?;
    let existing = row(db, ctx.org_id()).await?;
    let keep = super::keep;
    let old = existing.as_ref();
    let endpoint = keep(change.endpoint, old.and_then(|r| r.endpoint.as_ref()));
    let region = keep(change.region, old.and_then(|r| r.region.as_ref()));
    let name = keep(change.bucket, old.and_then(|r| r.bucket.as_ref()));
    let access_key = keep(change.access_key, old.and_then(|r| r.access_key.as_ref()));
    let old_secret = match old.and_then(|r| r.secret_ciphertext.as_deref()) {
        Some(sealed) => Some(env.secrets.open(sealed, &aad(ctx.org_id()))?),
        None => None,
    };
    let secret = keep(change.secret_key, old_secret.as_ref());
    let path_style = change.path_style.unwrap_or(old.is_none_or(|r| r.path_style));
    let record_calls = change.record_calls.unwrap_or(old.is_some_and(|r| r.record_calls));
    let bucket = match (&endpoint, &region, &name, &access_key, &secret) {
        (None, None, None, None, None) => None,
        (Some(e), Some(r), Some(b), Some(k), Some(s)) => {
            Some(Bucket::new(e, r, b, path_style, k, s).map_err(field)?)
        }
        _ => {
            let missing = [
                (endpoint.is_none(), BucketField::Endpoint),
                (region.is_none(), BucketField::Region),
                (name.is_none(), BucketField::Bucket),
                (access_key.is_none(), BucketField::AccessKey),
                (secret.is_none(), BucketField::SecretKey),
            ];
            let f = missing.iter().find(|(m, _)| *m).map_or(BucketField::Endpoint, |(_, f)| *f);
            return Err(ServiceError::field(ErrorCode::RequiredValue, f.name()));
        }
    };
    if let Some(b) = &bucket {
        check_reachable(env, b).await?;
    }
    if record_calls && bucket.is_none() {
        return Err(ServiceError::field(ErrorCode::RecordingStorageNotConfigured, "record_calls"));
    }
    let same_bucket = match (old, &old_secret) {
        (Some(r), Some(s)) => {
            (
                r.endpoint.as_ref(),
                r.region.as_ref(),
                r.bucket.as_ref(),
                r.access_key.as_ref(),
                Some(s),
                r.path_style,
            ) == (
                endpoint.as_ref(),
                region.as_ref(),
                name.as_ref(),
                access_key.as_ref(),
                secret.as_ref(),
                path_style,
            )
        }
        _ => bucket.is_none(),
    };
    let mut m = match existing.clone() {
        Some(r) => r.into(),
        None => row::ActiveModel { org_id: Set(ctx.org_id()), ..Default::default() },
    };
    m.record_calls = Set(record_calls);
    m.endpoint = Set(bucket.as_ref().map(|b| b.endpoint.to_string()));
    m.region = Set(region.filter(|_| bucket.is_some()));
    m.bucket = Set(name.filter(|_| bucket.is_some()));
    m.path_style = Set(path_style);
    m.access_key = Set(access_key.filter(|_| bucket.is_some()));
    m.secret_ciphertext =
        Set(secret.as_ref().filter(|_| bucket.is_some()).map(|s| env.secrets.seal(s, &aad(ctx.org_id()))));
    m.secret_hint = Set(secret.as_ref().filter(|_| bucket.is_some()).map(|s| secrets::hint(s)));
    if !same_bucket || existing.is_none() {
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
        crate::audit::action::RECORDINGS_CHANGED,
        None,
        serde_json::json!({
            "record_calls": saved.record_calls,
            "endpoint": saved.endpoint,
            "bucket": saved.bucket,
            "bucket_changed": !same_bucket,
        }),
    )
    .await?;
    Ok(view(Some(&saved)))
}

/// Writes and deletes a small object with the stored keys, and stores how
/// that went (the bucket's own words stay in our log).
pub async fn test(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
) -> ServiceResult<ConnectionTest> {
    ctx.require(Permission::ManageSettings)?;
    let existing = row(db, ctx.org_id()).await?;
    let bucket = match &existing {
        Some(r) => bucket_of(r, env)?,
        None => None,
    };
    let (Some(r), Some(bucket)) = (existing, bucket) else {
        return Err(ServiceError::new(ErrorCode::RecordingStorageNotConfigured));
    };
    let started = Instant::now();
    let key = format!(
        "{}/.handoo-check-{}",
        super::super::calls::recording::prefix(ctx.org_id()),
        crate::new_id().simple()
    );
    let outcome = match check_reachable(env, &bucket).await {
        Err(e) => Err(e.code),
        Ok(()) => bucket.check(env.egress.client(), &key).await.map_err(|e| {
            tracing::warn!(org = %ctx.org_id(), error = ?e, "recording bucket check failed");
            e.code()
        }),
    };
    let latency = started.elapsed().min(Duration::from_secs(3600)).as_millis() as i32;
    let at = now();
    let ok = outcome.is_ok();
    let error = outcome.err().map(|c| c.as_str().to_string());
    let mut m: row::ActiveModel = r.into();
    m.last_tested_at = Set(Some(at));
    m.last_test_ok = Set(Some(ok));
    m.last_test_latency_ms = Set(ok.then_some(latency));
    m.last_test_error = Set(error.clone());
    m.update(db).await?;
    Ok(ConnectionTest {
        at,
        ok,
        latency_ms: ok.then_some(latency),
        code: error.as_deref().and_then(ErrorCode::parse),
        error,
    })
}
