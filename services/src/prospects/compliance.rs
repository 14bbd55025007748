//! Calling hours, the default phone region, the organisation's do-not-call
//! list, and the `may_call` check as dialers run it (the rule itself is
//! `domain::compliance::may_call`; this adds the database lookups).

use chrono::{DateTime, Utc};
use domain::compliance::{may_call as rule, CallRefusal, CallTarget, CallingWindow};
use domain::phone::normalize_phone;
use domain::prospect::{ComplianceSettings, DncEntry, DncImportResult, DNC_REASON_OPT_OUT};
use domain::{ErrorCode, Permission};
use entity::{compliance_settings as settings_t, dnc_numbers as dnc, prospects};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{find, status_of};
use crate::{now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_DNC_IMPORT_BYTES: usize = 10 * 1024 * 1024;

pub(crate) async fn settings<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<ComplianceSettings> {
    let row = settings_t::Entity::find_by_id(ctx.org_id()).one(db).await?;
    Ok(match row {
        Some(r) => ComplianceSettings {
            window_start_minute: r.window_start.clamp(0, 1440) as u16,
            window_end_minute: r.window_end.clamp(0, 1440) as u16,
            default_region: r.default_region,
        },
        None => ComplianceSettings::default(),
    })
}

pub async fn get_settings(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<ComplianceSettings> {
    ctx.require(Permission::UseWorkspace)?;
    settings(db, ctx).await
}

pub async fn set_settings(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    s: ComplianceSettings,
) -> ServiceResult<ComplianceSettings> {
    ctx.require(Permission::ManageSettings)?;
    CallingWindow { start_minute: s.window_start_minute, end_minute: s.window_end_minute }.validate()?;
    let region = match s.default_region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => {
            let r = r.to_ascii_uppercase();
            if !domain::phone::is_region(&r) {
                return Err(ServiceError::field(ErrorCode::InvalidValue, "default_region").with_detail(r));
            }
            Some(r)
        }
    };
    let model = settings_t::ActiveModel {
        org_id: Set(ctx.org_id()),
        window_start: Set(s.window_start_minute as i32),
        window_end: Set(s.window_end_minute as i32),
        default_region: Set(region.clone()),
        updated_at: Set(now()),
    };
    settings_t::Entity::insert(model)
        .on_conflict(
            OnConflict::column(settings_t::Column::OrgId)
                .update_columns([
                    settings_t::Column::WindowStart,
                    settings_t::Column::WindowEnd,
                    settings_t::Column::DefaultRegion,
                    settings_t::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(ComplianceSettings { default_region: region, ..s })
}

pub(crate) async fn is_listed<C: ConnectionTrait>(db: &C, ctx: &OrgCtx, phone: &str) -> ServiceResult<bool> {
    Ok(dnc::Entity::find()
        .filter(dnc::Column::OrgId.eq(ctx.org_id()))
        .filter(dnc::Column::Phone.eq(phone))
        .count(db)
        .await?
        > 0)
}

/// Why calling `p` at `at` would be refused, as the refusal's reason code.
pub(crate) async fn call_block<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    p: &prospects::Model,
    at: DateTime<Utc>,
) -> ServiceResult<Option<String>> {
    Ok(check(db, ctx, p, at).await?.err().map(|r| reason_code(&r)))
}

/// Whether `p` may be called at `at` (the dialer's check at each dial, in
/// its transaction).
pub(crate) async fn verdict<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    p: &prospects::Model,
    at: DateTime<Utc>,
) -> ServiceResult<Result<(), CallRefusal>> {
    check(db, ctx, p, at).await
}

pub(crate) fn reason_code(r: &CallRefusal) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.get("reason").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_else(|| "refused".into())
}

async fn check<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    p: &prospects::Model,
    at: DateTime<Utc>,
) -> ServiceResult<Result<(), CallRefusal>> {
    let s = settings(db, ctx).await?;
    let phone = p.phone.as_deref().unwrap_or_default();
    let on_dnc_list = !phone.is_empty() && is_listed(db, ctx, phone).await?;
    let target = CallTarget {
        phone,
        timezone: &p.timezone,
        status: status_of(p),
        do_not_call: p.do_not_call,
        opted_out: p.opted_out,
        on_dnc_list,
    };
    Ok(rule(
        &target,
        CallingWindow { start_minute: s.window_start_minute, end_minute: s.window_end_minute },
        at,
    ))
}

/// The check dialers call before placing a call to a prospect.
pub async fn may_call(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    at: DateTime<Utc>,
) -> ServiceResult<Result<(), CallRefusal>> {
    ctx.require(Permission::UseWorkspace)?;
    let p = find(db, ctx, prospect_id).await?;
    check(db, ctx, &p, at).await
}

/// The same check for a number that may belong to no prospect (a call
/// placed by number): the organisation's list, any prospect of its with that
/// number who opted out or is flagged, and calling hours in the time zone
/// the number implies (as a prospect's is inferred). Returns the number in
/// E.164 too.
pub async fn may_call_number(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    number: &str,
    at: DateTime<Utc>,
) -> ServiceResult<(String, Result<(), CallRefusal>)> {
    ctx.require(Permission::UseWorkspace)?;
    let s = settings(db, ctx).await?;
    let phone = normalize_phone(number, s.default_region.as_deref())?;
    let holders = prospects::Entity::find()
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::Phone.eq(phone.e164.as_str()))
        .all(db)
        .await?;
    let on_dnc_list = is_listed(db, ctx, &phone.e164).await?;
    let timezone = domain::phone::infer_timezone(&phone).unwrap_or_default();
    let target = CallTarget {
        phone: &phone.e164,
        timezone,
        status: domain::prospect::ProspectStatus::New,
        do_not_call: holders.iter().any(|p| p.do_not_call),
        opted_out: holders.iter().any(|p| p.opted_out),
        on_dnc_list,
    };
    let window = CallingWindow { start_minute: s.window_start_minute, end_minute: s.window_end_minute };
    Ok((phone.e164.clone(), rule(&target, window, at)))
}

pub async fn list_dnc(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    search: &str,
    limit: u64,
) -> ServiceResult<(Vec<DncEntry>, u64)> {
    ctx.require(Permission::UseWorkspace)?;
    let mut q = dnc::Entity::find().filter(dnc::Column::OrgId.eq(ctx.org_id()));
    let digits: String = search.chars().filter(|c| c.is_ascii_digit()).collect();
    if !digits.is_empty() {
        q = q.filter(dnc::Column::Phone.contains(&digits));
    }
    let total = q.clone().count(db).await?;
    let rows = q.order_by_desc(dnc::Column::CreatedAt).limit(limit.clamp(1, 500)).all(db).await?;
    Ok((
        rows.into_iter()
            .map(|r| DncEntry { phone: r.phone, reason: r.reason, created_at: r.created_at })
            .collect(),
        total,
    ))
}

/// Adds a number (any member may: refusing calls is always safe).
/// Adding a number already listed is not an error.
pub async fn add_dnc(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    phone: &str,
    reason: &str,
) -> ServiceResult<DncEntry> {
    ctx.require(Permission::UseWorkspace)?;
    let s = settings(db, ctx).await?;
    let phone = normalize_phone(phone, s.default_region.as_deref())?.e164;
    let reason = domain::prospect::normalize_text("reason", reason)?;
    let at = now();
    list_numbers(db, ctx.org_id(), ctx.user_id(), std::slice::from_ref(&phone), &reason).await?;
    Ok(DncEntry { phone, reason, created_at: at })
}

/// An opt-out is a request about the number: it goes on the organisation's
/// list (where it outlives the prospect), in the caller's transaction.
pub(crate) async fn list_opted_out<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    phone: Option<&String>,
) -> ServiceResult<()> {
    if let Some(p) = phone {
        list_numbers(db, ctx.org_id(), ctx.user_id(), std::slice::from_ref(p), DNC_REASON_OPT_OUT).await?;
    }
    Ok(())
}

/// Puts E.164 `phones` on `org_id`'s list (those already there keep their
/// entry) and says how many were new.
pub(crate) async fn list_numbers<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    added_by: Option<Uuid>,
    phones: &[String],
    reason: &str,
) -> ServiceResult<u64> {
    let at = now();
    let mut added = 0;
    for chunk in phones.chunks(1000) {
        let models = chunk.iter().map(|p| dnc::ActiveModel {
            org_id: Set(org_id),
            phone: Set(p.clone()),
            reason: Set(reason.to_string()),
            added_by: Set(added_by),
            created_at: Set(at),
        });
        let res = dnc::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([dnc::Column::OrgId, dnc::Column::Phone]).do_nothing().to_owned(),
            )
            .do_nothing()
            .exec_without_returning(db)
            .await?;
        if let sea_orm::TryInsertResult::Inserted(n) = res {
            added += n;
        }
    }
    Ok(added)
}

/// Removing a number re-allows calls: admins only.
pub async fn remove_dnc(db: &DatabaseConnection, ctx: &OrgCtx, phone: &str) -> ServiceResult<()> {
    ctx.require(Permission::LiftCallRestrictions)?;
    let s = settings(db, ctx).await?;
    let phone = normalize_phone(phone, s.default_region.as_deref())?.e164;
    let res = dnc::Entity::delete_many()
        .filter(dnc::Column::OrgId.eq(ctx.org_id()))
        .filter(dnc::Column::Phone.eq(phone))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::not_found());
    }
    Ok(())
}

/// Imports a list: one number per line (or the first column of a CSV).
/// Lines that are not numbers are reported, the rest added in one transaction.
pub async fn import_dnc(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    data: &[u8],
    reason: &str,
) -> ServiceResult<DncImportResult> {
    ctx.require(Permission::UseWorkspace)?;
    if data.len() > MAX_DNC_IMPORT_BYTES {
        return Err(ServiceError::new(ErrorCode::CsvTooLarge).with_detail("10 MB"));
    }
    let (text, _) = super::import::decode(data)?;
    let s = settings(db, ctx).await?;
    let reason = domain::prospect::normalize_text("reason", reason)?;
    let mut phones: Vec<String> = Vec::new();
    let mut invalid_lines = Vec::new();
    let mut invalid = 0u64;
    for (i, line) in text.lines().enumerate() {
        let cell = line.split([',', ';', '\t']).next().unwrap_or_default().trim().trim_matches('"');
        if cell.is_empty() {
            continue;
        }
        match normalize_phone(cell, s.default_region.as_deref()) {
            Ok(p) => phones.push(p.e164),
            Err(_) => {
                // A header line ("phone", "numéro") is not an error.
                if i == 0 && !cell.chars().any(|c| c.is_ascii_digit()) {
                    continue;
                }
                invalid += 1;
                if invalid_lines.len() < 100 {
                    invalid_lines.push(i as u64 + 1);
                }
            }
        }
    }
    if phones.is_empty() && invalid == 0 {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    phones.sort();
    phones.dedup();
    let txn = crate::db::begin_write(db).await?;
    // Counted from the inserts themselves: a count before and after could be
    // skewed by a concurrent change to the list.
    let added = list_numbers(&txn, ctx.org_id(), ctx.user_id(), &phones, &reason).await?;
    txn.commit().await?;
    let already_listed = (phones.len() as u64).saturating_sub(added);
    Ok(DncImportResult { added, already_listed, invalid_lines, invalid })
}
