//! API keys: how an organisation's integrations call Handoo's API.
//!
//! A key reads `hdo_<8 chars>_<43 chars>`. The first 12 characters (the
//! *prefix*) are stored in clear, shown in the settings and used to find the
//! row; the whole key is compared, in constant time, by its SHA-256 (a key
//! carries 256 random bits, so a slow password hash would buy nothing).
//! A key belongs to one organisation and holds the permissions it was
//! granted, chosen from its creator's role (never more, and never those that
//! stay with people, see [`Permission::grantable_to_keys`]).
//!
//! Every request re-reads the key, so a revocation takes effect on the next
//! request on every node. Usage (requests per day, last use) is counted in
//! memory and written in batches by [`usage::UsageCounter::flush`] — not one
//! database write per request.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{ErrorCode, Permission, PermissionSet, Role};
use entity::{api_key_usage, api_keys, users};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::tokens::{constant_time_eq, hash_token, random_token};
use crate::{audit, new_id, now, OrgCtx, ServiceError, ServiceResult};

/// What every key starts with, so secret scanners and people recognise one.
pub const KEY_PREFIX: &str = "hdo_";
/// `hdo_` and 8 characters: the part shown and looked up.
const PREFIX_LEN: usize = 12;
/// Prefix, `_`, and the 43-character secret.
const KEY_LEN: usize = PREFIX_LEN + 1 + 43;
pub const MAX_NAME_CHARS: usize = 80;
/// Keys an organisation may hold at once (revoked ones do not count).
pub const MAX_ACTIVE_KEYS: u64 = 50;
/// Days of per-day usage [`list`] returns.
pub const USAGE_DAYS: i64 = 14;

pub mod action {
    pub const KEY_CREATED: &str = "api_key.created";
    pub const KEY_REVOKED: &str = "api_key.revoked";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub requests: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, e.g. `hdo_k3x9q2ab`.
    pub prefix: String,
    /// The role the grant was chosen from.
    pub role: Role,
    /// Granted permissions by their stable names.
    pub permissions: Vec<String>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub request_count: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Requests per day over the last [`USAGE_DAYS`] days that saw any.
    pub daily: Vec<DayCount>,
}

/// A key just created: the secret is in `key` and is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedKey {
    pub info: ApiKeyInfo,
    pub key: String,
}

/// Creates a key for `ctx`'s organisation. Only a person creates keys (a key
/// cannot mint another), and only with permissions their own role holds.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    name: &str,
    permissions: &[String],
) -> ServiceResult<IssuedKey> {
    ctx.require(Permission::ManageApiKeys)?;
    let creator = ctx.person()?;
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::field(ErrorCode::NameRequired, "name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::field(ErrorCode::NameTooLong, "name"));
    }
    let grant = PermissionSet::parse_names(permissions.iter().map(String::as_str)).map_err(|unknown| {
        ServiceError::field(ErrorCode::InvalidValue, "permissions").with_detail(unknown)
    })?;
    if grant.is_empty() {
        return Err(ServiceError::field(ErrorCode::RequiredValue, "permissions"));
    }
    if let Some(p) = grant.iter().find(|p| !p.grantable_to_keys() || !ctx.allows(*p)) {
        return Err(ServiceError::field(ErrorCode::Forbidden, "permissions").with_detail(p.as_str()));
    }
    // The ceiling: the creator's role, but never Owner (nothing Owner-only
    // is grantable, and the domain rules then treat the key as an Admin).
    let role = match ctx.role() {
        Role::Owner => Role::Admin,
        r => r,
    };
    let txn = crate::db::begin_write(db).await?;
    let active = api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(ctx.org_id()))
        .filter(api_keys::Column::RevokedAt.is_null())
        .count(&txn)
        .await?;
    if active >= MAX_ACTIVE_KEYS {
        return Err(ServiceError::new(ErrorCode::OutOfRange).with_detail(MAX_ACTIVE_KEYS.to_string()));
    }
    let (key, prefix) = new_key();
    let at = now();
    let row = api_keys::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        name: Set(name.to_string()),
        prefix: Set(prefix.clone()),
        secret_hash: Set(hash_token(&key)),
        role: Set(role.as_str().to_string()),
        permissions: Set(json!(grant.names())),
        created_by: Set(Some(creator)),
        created_at: Set(at),
        last_used_at: Set(None),
        request_count: Set(0),
        revoked_at: Set(None),
        revoked_by: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        ctx.org_id(),
        ctx,
        action::KEY_CREATED,
        None,
        json!({"key_id": row.id, "name": name, "prefix": prefix, "permissions": grant.names()}),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(org = %ctx.org_id(), key = %row.id, prefix = %prefix, "API key created");
    let names = creator_names(db, std::slice::from_ref(&row)).await?;
    Ok(IssuedKey { info: to_info(row, &names, Vec::new())?, key })
}

/// Every key of the organisation, newest first, revoked ones included (so
/// the audit trail in the UI stays readable), with recent daily usage.
pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    usage: &usage::UsageCounter,
) -> ServiceResult<Vec<ApiKeyInfo>> {
    ctx.require(Permission::ManageApiKeys)?;
    // What this node counted but has not written yet belongs in the answer.
    usage.flush(db).await?;
    let rows = api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(ctx.org_id()))
        .order_by_desc(api_keys::Column::CreatedAt)
        .order_by_desc(api_keys::Column::Id)
        .all(db)
        .await?;
    let since = (now() - chrono::Duration::days(USAGE_DAYS - 1)).format("%Y-%m-%d").to_string();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut daily: HashMap<Uuid, Vec<DayCount>> = HashMap::new();
    for u in api_key_usage::Entity::find()
        .filter(api_key_usage::Column::KeyId.is_in(ids))
        .filter(api_key_usage::Column::Day.gte(since))
        .order_by_asc(api_key_usage::Column::Day)
        .all(db)
        .await?
    {
        daily.entry(u.key_id).or_default().push(DayCount { day: u.day, requests: u.requests });
    }
    let names = creator_names(db, &rows).await?;
    rows.into_iter()
        .map(|r| {
            let d = daily.remove(&r.id).unwrap_or_default();
            to_info(r, &names, d)
        })
        .collect()
}

/// Revokes a key; idempotent. Open streams held by the key close at once on
/// this node ([`crate::authz::access_changed`]) and at their next check elsewhere.
pub async fn revoke(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::ManageApiKeys)?;
    let txn = crate::db::begin_write(db).await?;
    let row = api_keys::Entity::find_by_id(id)
        .filter(api_keys::Column::OrgId.eq(ctx.org_id()))
        .one(&txn)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let mut m: api_keys::ActiveModel = row.clone().into();
    m.revoked_at = Set(Some(now()));
    m.revoked_by = Set(ctx.user_id());
    m.update(&txn).await?;
    audit::record(
        &txn,
        ctx.org_id(),
        ctx,
        action::KEY_REVOKED,
        None,
        json!({"key_id": row.id, "name": row.name, "prefix": row.prefix}),
    )
    .await?;
    txn.commit().await?;
    crate::authz::access_changed();
    Ok(())
}

/// The context a request presenting `key` acts in for organisation
/// `org_id`. An unknown, malformed or revoked key is `ApiKeyInvalid` (401);
/// a valid key of another organisation is `NotFound`, exactly what a
/// non-member gets, so a key discloses nothing about other tenants.
pub async fn authenticate<C: ConnectionTrait>(db: &C, key: &str, org_id: Uuid) -> ServiceResult<OrgCtx> {
    let row = find_presented(db, key).await?;
    if row.org_id != org_id {
        return Err(ServiceError::not_found());
    }
    context_of(&row)
}

/// The key behind `key` whatever organisation it is for (for routes outside
/// `/orgs/{org}` that a key may call); `ApiKeyInvalid` as in [`authenticate`].
pub async fn identify<C: ConnectionTrait>(db: &C, key: &str) -> ServiceResult<OrgCtx> {
    context_of(&find_presented(db, key).await?)
}

/// Re-checks a key for a stream that stays open: still there, not revoked,
/// and still granting `permission` in `org_id`.
pub async fn still_allows<C: ConnectionTrait>(
    db: &C,
    key_id: Uuid,
    org_id: Uuid,
    permission: Permission,
) -> ServiceResult<bool> {
    match context_by_id(db, key_id, org_id).await {
        Ok(ctx) => Ok(ctx.allows(permission)),
        Err(e) if matches!(e.code, ErrorCode::ApiKeyInvalid | ErrorCode::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The context of key `key_id` in `org_id` for work it started earlier:
/// `ApiKeyInvalid` once revoked, `NotFound` for another organisation's key.
pub async fn context_by_id<C: ConnectionTrait>(db: &C, key_id: Uuid, org_id: Uuid) -> ServiceResult<OrgCtx> {
    let row = api_keys::Entity::find_by_id(key_id)
        .one(db)
        .await?
        .filter(|r| r.revoked_at.is_none())
        .ok_or_else(|| ServiceError::new(ErrorCode::ApiKeyInvalid))?;
    if row.org_id != org_id {
        return Err(ServiceError::not_found());
    }
    context_of(&row)
}

async fn find_presented<C: ConnectionTrait>(db: &C, key: &str) -> ServiceResult<api_keys::Model> {
    let invalid = || ServiceError::new(ErrorCode::ApiKeyInvalid);
    if key.len() != KEY_LEN || !key.starts_with(KEY_PREFIX) || !key.is_ascii() {
        return Err(invalid());
    }
    let row = api_keys::Entity::find()
        .filter(api_keys::Column::Prefix.eq(&key[..PREFIX_LEN]))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if !constant_time_eq(hash_token(key).as_bytes(), row.secret_hash.as_bytes()) || row.revoked_at.is_some() {
        return Err(invalid());
    }
    Ok(row)
}

fn context_of(row: &api_keys::Model) -> ServiceResult<OrgCtx> {
    let role = Role::parse(&row.role).ok_or_else(|| {
        tracing::error!(key = %row.id, role = %row.role, "unknown role on API key");
        ServiceError::internal()
    })?;
    // A name a later version no longer knows grants nothing (rather than failing the key).
    let grant: PermissionSet =
        stored_names(&row.permissions).iter().filter_map(|n| Permission::parse(n)).collect();
    Ok(OrgCtx::api_key(row.org_id, row.id, role, grant))
}

fn stored_names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn new_key() -> (String, String) {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let id: String = (0..PREFIX_LEN - KEY_PREFIX.len())
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let prefix = format!("{KEY_PREFIX}{id}");
    (format!("{prefix}_{}", random_token()), prefix)
}

async fn creator_names(
    db: &DatabaseConnection,
    rows: &[api_keys::Model],
) -> ServiceResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.created_by).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

fn to_info(
    r: api_keys::Model,
    names: &HashMap<Uuid, String>,
    daily: Vec<DayCount>,
) -> ServiceResult<ApiKeyInfo> {
    Ok(ApiKeyInfo {
        role: Role::parse(&r.role).ok_or_else(ServiceError::internal)?,
        permissions: stored_names(&r.permissions),
        created_by_name: r.created_by.and_then(|u| names.get(&u).cloned()),
        id: r.id,
        name: r.name,
        prefix: r.prefix,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        request_count: r.request_count,
        revoked_at: r.revoked_at,
        daily,
    })
}

/// Per-key request counters, kept in memory and written in batches.
pub mod usage {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};
    use entity::{api_key_usage, api_keys};
    use sea_orm::sea_query::{Expr, OnConflict};
    use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
    use uuid::Uuid;

    use crate::ServiceResult;

    #[derive(Default, Clone, Copy)]
    struct Pending {
        requests: i64,
        last_used: Option<DateTime<Utc>>,
    }

    /// One per server (per database). Keyed by key and UTC day; bounded by
    /// the number of valid keys used since the last flush, since only
    /// authenticated keys are counted.
    #[derive(Default)]
    pub struct UsageCounter {
        pending: Mutex<HashMap<(Uuid, String), Pending>>,
        /// Serialises flushes, so two never write the same counts.
        flushing: tokio::sync::Mutex<()>,
    }

    impl UsageCounter {
        /// Counts one request made with `key_id` now.
        pub fn record(&self, key_id: Uuid) {
            let at = crate::now();
            let day = at.format("%Y-%m-%d").to_string();
            let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let e = map.entry((key_id, day)).or_default();
            e.requests += 1;
            e.last_used = Some(at);
        }

        /// Writes the counted requests in one transaction: per key one
        /// update, per key and day one upsert. On failure the counts go back
        /// so the next flush retries them.
        pub async fn flush(&self, db: &DatabaseConnection) -> ServiceResult<()> {
            let _one = self.flushing.lock().await;
            let batch: Vec<((Uuid, String), Pending)> = {
                let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                map.drain().collect()
            };
            if batch.is_empty() {
                return Ok(());
            }
            let result = write(db, &batch).await;
            if result.is_err() {
                let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (k, p) in batch {
                    let e = map.entry(k).or_default();
                    e.requests += p.requests;
                    e.last_used = e.last_used.max(p.last_used);
                }
            }
            result
        }
    }

    /// Per key: the total, and the requests of each day.
    type PerKey<'a> = HashMap<Uuid, (Pending, Vec<(&'a str, i64)>)>;

    async fn write(db: &DatabaseConnection, batch: &[((Uuid, String), Pending)]) -> ServiceResult<()> {
        let mut per_key: PerKey = HashMap::new();
        for ((key_id, day), p) in batch {
            let (total, days) = per_key.entry(*key_id).or_default();
            total.requests += p.requests;
            total.last_used = total.last_used.max(p.last_used);
            days.push((day, p.requests));
        }
        let txn = crate::db::begin_write(db).await?;
        for (key_id, (total, days)) in per_key {
            let updated = api_keys::Entity::update_many()
                .col_expr(
                    api_keys::Column::RequestCount,
                    Expr::col(api_keys::Column::RequestCount).add(total.requests),
                )
                .col_expr(api_keys::Column::LastUsedAt, Expr::value(total.last_used))
                .filter(api_keys::Column::Id.eq(key_id))
                .exec(&txn)
                .await?;
            if updated.rows_affected == 0 {
                // The key went with its organisation: nothing to count against.
                continue;
            }
            for (day, requests) in days {
                api_key_usage::Entity::insert(api_key_usage::ActiveModel {
                    key_id: Set(key_id),
                    day: Set(day.to_string()),
                    requests: Set(requests),
                })
                .on_conflict(
                    OnConflict::columns([api_key_usage::Column::KeyId, api_key_usage::Column::Day])
                        .value(
                            api_key_usage::Column::Requests,
                            Expr::col((api_key_usage::Entity, api_key_usage::Column::Requests))
                                .add(Expr::cust("excluded.requests")),
                        )
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_are_unique() {
        let (a, pa) = new_key();
        let (b, _) = new_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_LEN);
        assert!(a.starts_with(&pa) && pa.len() == PREFIX_LEN && pa.starts_with(KEY_PREFIX));
        assert_eq!(&a[PREFIX_LEN..PREFIX_LEN + 1], "_");
    }

    #[test]
    fn stored_permission_names_survive_unknown_entries() {
        let names = stored_names(&json!(["use_workspace", 3, "view_members"]));
        assert_eq!(names, ["use_workspace", "view_members"]);
        assert!(stored_names(&json!({"not": "a list"})).is_empty());
    }
}
