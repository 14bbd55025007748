//! Prospects, organisation-scoped: create, read, edit (with an activity
//! timeline), search/filter/sort/paginate, tags, custom fields, notes and
//! consent. Bulk actions, CSV import/export and the do-not-call list live in
//! the submodules.
//!
//! Every function takes an [`OrgCtx`] and filters by its organisation; soft-
//! deleted rows (undo window) are invisible everywhere except `bulk::undo`.

pub mod bulk;
pub mod compliance;
pub mod custom_fields;
pub mod export;
pub mod import;
pub mod outcome;
mod pg_trigrams;
mod query;
pub mod timeline;
pub mod variables;
pub mod views;

use std::collections::{BTreeMap, HashMap};

use domain::phone::{infer_timezone, normalize_phone};
use domain::prospect::{
    fold, Prospect, ProspectInput, ProspectPage, ProspectPatch, ProspectRow, ProspectStatus,
};
use domain::{ErrorCode, Permission};
use entity::{memberships, prospects, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QuerySelect,
};
use serde_json::{json, Value};
use uuid::Uuid;

pub use domain::prospect::ListQuery;
use domain::prospect::{decode_tags, encode_tags};
pub(crate) use query::like_pattern;
pub use query::{filter_condition, status_in};

use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

/// The text search matches against: folded names, company, email, and the
/// phone as `+33612345678`, `33612345678` and `0612345678`.
pub(crate) fn search_text(
    first: &str,
    last: &str,
    company: &str,
    email: Option<&str>,
    phone: Option<&str>,
    national: Option<&str>,
) -> String {
    let mut s = format!("{} {} {}", fold(first), fold(last), fold(company));
    if let Some(e) = email {
        s.push(' ');
        s.push_str(e);
    }
    if let Some(p) = phone {
        s.push(' ');
        s.push_str(p);
        s.push(' ');
        s.push_str(p.trim_start_matches('+'));
    }
    if let Some(n) = national {
        s.push_str(" 0");
        s.push_str(n);
    }
    s
}

/// National digits of a stored E.164 number (for search text).
pub(crate) fn national_of(e164: &str) -> Option<String> {
    normalize_phone(e164, None).ok().map(|p| p.national)
}

pub(crate) fn status_of(m: &prospects::Model) -> ProspectStatus {
    ProspectStatus::parse(&m.status).unwrap_or_default()
}

pub(crate) fn custom_of(m: &prospects::Model) -> BTreeMap<String, Value> {
    serde_json::from_value(m.custom.clone()).unwrap_or_default()
}

/// A prospect in the caller's organisation (not soft-deleted), or `NotFound`.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<prospects::Model> {
    prospects::Entity::find_by_id(id)
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

/// Display names of users, by id.
pub(crate) async fn user_names<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, String>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = users::Entity::find().filter(users::Column::Id.is_in(ids)).all(db).await?;
    Ok(rows.into_iter().map(|u| (u.id, u.name)).collect())
}

/// The owner must be a member of the organisation.
pub(crate) async fn check_owner<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    owner: Option<Uuid>,
) -> ServiceResult<()> {
    let Some(owner) = owner else { return Ok(()) };
    let found = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(ctx.org_id()))
        .filter(memberships::Column::UserId.eq(owner))
        .one(db)
        .await?;
    if found.is_none() {
        return Err(ServiceError::field(ErrorCode::NotFound, "owner_id"));
    }
    Ok(())
}

/// Phone → E.164 (with the organisation's default region) and the time zone
/// (given, or inferred from the number).
pub(crate) struct Reach {
    pub phone: Option<String>,
    pub national: Option<String>,
    pub timezone: String,
}

pub(crate) fn reach(phone: &str, timezone: &str, default_region: Option<&str>) -> ServiceResult<Reach> {
    let parsed = if phone.trim().is_empty() { None } else { Some(normalize_phone(phone, default_region)?) };
    let timezone = if timezone.trim().is_empty() {
        parsed.as_ref().and_then(infer_timezone).unwrap_or_default().to_string()
    } else if domain::compliance::is_valid_timezone(timezone.trim()) {
        timezone.trim().to_string()
    } else {
        return Err(ServiceError::field(ErrorCode::InvalidTimezone, "timezone").with_detail(timezone.trim()));
    };
    Ok(Reach {
        national: parsed.as_ref().map(|p| p.national.clone()),
        phone: parsed.map(|p| p.e164),
        timezone,
    })
}

/// Another live prospect with this phone or email, if any.
pub(crate) async fn find_duplicate<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    phone: Option<&str>,
    email: Option<&str>,
    except: Option<Uuid>,
) -> ServiceResult<Option<(Uuid, &'static str)>> {
    for (col, value, by) in
        [(prospects::Column::Phone, phone, "phone"), (prospects::Column::Email, email, "email")]
    {
        let Some(value) = value else { continue };
        let mut q = prospects::Entity::find()
            .select_only()
            .column(prospects::Column::Id)
            .filter(prospects::Column::OrgId.eq(ctx.org_id()))
            .filter(prospects::Column::DeletedAt.is_null())
            .filter(col.eq(value));
        if let Some(id) = except {
            q = q.filter(prospects::Column::Id.ne(id));
        }
        if let Some(id) = q.into_tuple::<Uuid>().one(db).await? {
            return Ok(Some((id, by)));
        }
    }
    Ok(None)
}

fn duplicate_error(id: Uuid, by: &str) -> ServiceError {
    ServiceError::field(ErrorCode::DuplicateProspect, by).with_detail(id.to_string())
}

pub async fn create(db: &DatabaseConnection, ctx: &OrgCtx, input: ProspectInput) -> ServiceResult<Prospect> {
    ctx.require(Permission::UseWorkspace)?;
    let input = input.validate_basic()?;
    let settings = compliance::settings(db, ctx).await?;
    let reach = reach(&input.phone, &input.timezone, settings.default_region.as_deref())?;
    let email = (!input.email.is_empty()).then(|| input.email.clone());
    let txn = crate::db::begin_org_write(db, ctx.org_id()).await?;
    let defs = custom_fields::defs(&txn, ctx).await?;
    let custom = domain::prospect::check_custom(&defs, &input.custom)?;
    check_owner(&txn, ctx, input.owner_id).await?;
    if let Some((id, by)) = find_duplicate(&txn, ctx, reach.phone.as_deref(), email.as_deref(), None).await? {
        return Err(duplicate_error(id, by));
    }
    let id = new_id();
    let at = now();
    prospects::ActiveModel {
        id: Set(id),
        org_id: Set(ctx.org_id()),
        search_text: Set(search_text(
            &input.first_name,
            &input.last_name,
            &input.company,
            email.as_deref(),
            reach.phone.as_deref(),
            reach.national.as_deref(),
        )),
        first_name: Set(input.first_name),
        last_name: Set(input.last_name),
        company: Set(input.company),
        title: Set(input.title),
        phone: Set(reach.phone.clone()),
        email: Set(email),
        timezone: Set(reach.timezone),
        status: Set(input.status.as_str().to_string()),
        owner_id: Set(input.owner_id),
        tags: Set(encode_tags(&input.tags)),
        custom: Set(json!(custom)),
        do_not_call: Set(input.do_not_call),
        opted_out: Set(input.opted_out),
        import_id: Set(None),
        created_by: Set(ctx.user_id()),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        delete_batch: Set(None),
    }
    .insert(&txn)
    .await?;
    if input.opted_out {
        compliance::list_opted_out(&txn, ctx, reach.phone.as_ref()).await?;
    }
    txn.commit().await?;
    get(db, ctx, id).await
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Prospect> {
    ctx.require(Permission::UseWorkspace)?;
    let m = find(db, ctx, id).await?;
    let names = user_names(db, &m.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let block = compliance::call_block(db, ctx, &m, now()).await?;
    Ok(Prospect {
        custom: custom_of(&m),
        created_at: m.created_at,
        call_block: block,
        row: row_of(m, &names),
    })
}

pub(crate) fn row_of(m: prospects::Model, names: &HashMap<Uuid, String>) -> ProspectRow {
    ProspectRow {
        tags: decode_tags(&m.tags),
        status: status_of(&m),
        owner_name: m.owner_id.and_then(|o| names.get(&o).cloned()),
        id: m.id,
        first_name: m.first_name,
        last_name: m.last_name,
        company: m.company,
        title: m.title,
        phone: m.phone,
        email: m.email,
        timezone: m.timezone,
        owner_id: m.owner_id,
        do_not_call: m.do_not_call,
        opted_out: m.opted_out,
        updated_at: m.updated_at,
    }
}

/// Applies the fields present in `patch`, recording each change in the
/// activity timeline, in one transaction.
pub async fn update(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    patch: ProspectPatch,
) -> ServiceResult<Prospect> {
    ctx.require(Permission::UseWorkspace)?;
    let settings = compliance::settings(db, ctx).await?;
    let txn = crate::db::begin_org_write(db, ctx.org_id()).await?;
    let old = find(&txn, ctx, id).await?;
    let mut changes: Vec<(String, Value)> = Vec::new();
    let mut m: prospects::ActiveModel = old.clone().into();

    let texts = [
        ("first_name", &patch.first_name, &old.first_name),
        ("last_name", &patch.last_name, &old.last_name),
        ("company", &patch.company, &old.company),
        ("title", &patch.title, &old.title),
    ];
    let mut next = (old.first_name.clone(), old.last_name.clone(), old.company.clone(), old.title.clone());
    for (field, new, current) in texts {
        let Some(new) = new else { continue };
        let new = domain::prospect::normalize_text(field, new)?;
        if &new == current {
            continue;
        }
        changes.push(("field_changed".into(), json!({"field": field, "from": current, "to": new})));
        match field {
            "first_name" => next.0 = new,
            "last_name" => next.1 = new,
            "company" => next.2 = new,
            _ => next.3 = new,
        }
    }
    if next.0.is_empty() && next.1.is_empty() && next.2.is_empty() {
        return Err(ServiceError::field(ErrorCode::NameRequired, "first_name"));
    }

    let mut email = old.email.clone();
    if let Some(e) = &patch.email {
        email = if e.trim().is_empty() { None } else { Some(domain::validation::normalize_email(e)?) };
    }
    let mut phone = old.phone.clone();
    let mut national = old.phone.as_deref().and_then(national_of);
    let mut timezone = old.timezone.clone();
    if let Some(p) = &patch.phone {
        let r = reach(p, "", settings.default_region.as_deref())?;
        if r.phone != old.phone {
            phone = r.phone;
            national = r.national;
            // A new number moves the zone to its own, unless one is given.
            // When the new number's zone cannot be known the old one goes
            // too: calling hours must never be checked in the wrong zone.
            if patch.timezone.is_none() {
                timezone = r.timezone;
            }
        }
    }
    if let Some(tz) = &patch.timezone {
        timezone = if tz.trim().is_empty() {
            phone.as_deref().map(|p| reach(p, "", None)).transpose()?.map(|r| r.timezone).unwrap_or_default()
        } else {
            reach("", tz, None)?.timezone
        };
    }
    if phone.is_none() && email.is_none() {
        return Err(ServiceError::field(ErrorCode::RequiredValue, "phone"));
    }
    if let Some((dup, by)) = find_duplicate(&txn, ctx, phone.as_deref(), email.as_deref(), Some(id)).await? {
        if phone != old.phone || email != old.email {
            return Err(duplicate_error(dup, by));
        }
    }
    for (field, from, to) in [
        ("phone", &old.phone, &phone),
        ("email", &old.email, &email),
        ("timezone", &Some(old.timezone.clone()), &Some(timezone.clone())),
    ] {
        if from != to {
            changes.push(("field_changed".into(), json!({"field": field, "from": from, "to": to})));
        }
    }

    if let Some(status) = patch.status {
        if status != status_of(&old) {
            changes.push(("status_changed".into(), json!({"from": old.status, "to": status.as_str()})));
            m.status = Set(status.as_str().to_string());
        }
    }
    if let Some(owner) = patch.owner_id {
        if owner != old.owner_id {
            check_owner(&txn, ctx, owner).await?;
            changes.push(("owner_changed".into(), json!({"from": old.owner_id, "to": owner})));
            m.owner_id = Set(owner);
        }
    }
    for (field, new, current, col) in [
        ("do_not_call", patch.do_not_call, old.do_not_call, 0),
        ("opted_out", patch.opted_out, old.opted_out, 1),
    ] {
        if let Some(v) = new.filter(|v| *v != current) {
            if !v {
                ctx.require(Permission::LiftCallRestrictions)?;
            }
            changes.push(("field_changed".into(), json!({"field": field, "from": current, "to": v})));
            if col == 0 {
                m.do_not_call = Set(v);
            } else {
                m.opted_out = Set(v);
            }
        }
    }
    if let Some(custom_patch) = &patch.custom {
        let defs = custom_fields::defs(&txn, ctx).await?;
        let mut custom = custom_of(&old);
        for (k, v) in custom_patch {
            let def = defs.iter().find(|d| &d.key == k).ok_or_else(|| {
                ServiceError::field(ErrorCode::InvalidFieldName, format!("custom.{k}")).with_detail(k.clone())
            })?;
            let new = def.check(v)?;
            let before = custom.get(k).cloned();
            if new != before {
                changes.push((
                    "field_changed".into(),
                    json!({"field": format!("custom.{k}"), "from": before, "to": new}),
                ));
                match new {
                    Some(v) => custom.insert(k.clone(), v),
                    None => custom.remove(k),
                };
            }
        }
        m.custom = Set(json!(custom));
    }
    if let Some(tag_list) = &patch.tags {
        let new_tags = domain::prospect::normalize_tags(tag_list)?;
        let current = decode_tags(&old.tags);
        if new_tags != current {
            let added: Vec<&String> = new_tags.iter().filter(|t| !current.contains(t)).collect();
            let removed: Vec<&String> = current.iter().filter(|t| !new_tags.contains(t)).collect();
            changes.push(("tags_changed".into(), json!({"added": added, "removed": removed})));
            m.tags = Set(encode_tags(&new_tags));
        }
    }

    if patch.opted_out == Some(true) {
        compliance::list_opted_out(&txn, ctx, phone.as_ref()).await?;
    }
    if !changes.is_empty() {
        m.search_text = Set(search_text(
            &next.0,
            &next.1,
            &next.2,
            email.as_deref(),
            phone.as_deref(),
            national.as_deref(),
        ));
        m.first_name = Set(next.0);
        m.last_name = Set(next.1);
        m.company = Set(next.2);
        m.title = Set(next.3);
        m.phone = Set(phone);
        m.email = Set(email);
        m.timezone = Set(timezone);
        m.updated_at = Set(now());
        m.update(&txn).await?;
        for (kind, data) in changes {
            timeline::record(&txn, ctx, id, &kind, data).await?;
        }
    }
    txn.commit().await?;
    get(db, ctx, id).await
}

/// One page of the list.
pub async fn list(db: &DatabaseConnection, ctx: &OrgCtx, q: &ListQuery) -> ServiceResult<ProspectPage> {
    ctx.require(Permission::UseWorkspace)?;
    let txn = crate::db::begin_planned_read(db).await?;
    let plan = query::filter_plan(&txn, ctx, &q.filter).await?;
    let (models, total, total_capped) = query::page(&txn, plan, q).await?;
    let owners: Vec<Uuid> = models.iter().filter_map(|m| m.owner_id).collect();
    let names = user_names(&txn, &owners).await?;
    txn.commit().await?;
    let rows = models.into_iter().map(|m| row_of(m, &names)).collect();
    Ok(ProspectPage { rows, total, total_capped, page: q.page(), per_page: q.per_page() })
}

/// Every tag in use in the organisation, with how many prospects carry it
/// (most used first).
pub async fn tag_counts(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<(String, u64)>> {
    ctx.require(Permission::UseWorkspace)?;
    let rows: Vec<String> = prospects::Entity::find()
        .select_only()
        .column(prospects::Column::Tags)
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::DeletedAt.is_null())
        .filter(prospects::Column::Tags.ne(""))
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for stored in &rows {
        for t in stored.split('|').filter(|t| !t.is_empty()) {
            *counts.entry(t.to_string()).or_default() += 1;
        }
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}
