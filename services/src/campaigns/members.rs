//! A campaign's prospects: adding them by selection, saved view, filter or
//! CSV import — each one added or reported with the reason it was not —
//! and listing them with where each stands.

use std::collections::{BTreeMap, HashMap, HashSet};

use domain::campaign::views::{
    AddProspects, AddReport, CampaignProspect, CampaignProspectPage, NotAdded, ProspectSource,
    SkippedProspect, SKIPPED_LISTED,
};
use domain::campaign::CampaignStatus;
use domain::prospect::Selection;
use domain::{ErrorCode, Permission};
use entity::{campaign_prospects as members_t, campaigns, dnc_numbers as dnc, prospects};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::{action, find, status_of};
use crate::events::EventBus;
use crate::telephony::TelephonyEnv;
use crate::{new_id, OrgCtx, ServiceError, ServiceResult};

/// Prospects one request may add (a saved view of the whole base included).
pub const MAX_ADD: usize = 100_000;

/// Rows read and written per statement.
const CHUNK: usize = 500;

pub(crate) fn name_of(p: &prospects::Model) -> String {
    let name = format!("{} {}", p.first_name, p.last_name).trim().to_string();
    if name.is_empty() {
        p.phone.clone().unwrap_or_default()
    } else {
        name
    }
}

/// The ids `source` names, within the organisation and not deleted.
async fn resolve(db: &DatabaseConnection, ctx: &OrgCtx, source: &ProspectSource) -> ServiceResult<Vec<Uuid>> {
    let selection = match source {
        ProspectSource::Ids { ids } => Selection::Ids { ids: ids.clone() },
        ProspectSource::Filter { filter } => Selection::Filter { filter: filter.clone() },
        ProspectSource::View { view_id } => {
            let view = crate::prospects::views::get(db, ctx, *view_id).await?;
            Selection::Filter { filter: view.query.filter }
        }
        ProspectSource::Import { import_id } => {
            let rows: Vec<Uuid> = prospects::Entity::find()
                .select_only()
                .column(prospects::Column::Id)
                .filter(prospects::Column::OrgId.eq(ctx.org_id()))
                .filter(prospects::Column::DeletedAt.is_null())
                .filter(prospects::Column::ImportId.eq(*import_id))
                .order_by_asc(prospects::Column::Id)
                .limit(MAX_ADD as u64 + 1)
                .into_tuple()
                .all(db)
                .await?;
            if rows.is_empty() {
                // Another organisation's import is not found, not empty.
                crate::prospects::import::job(db, ctx, *import_id).await?;
            }
            return Ok(rows);
        }
    };
    Ok(crate::prospects::bulk::resolve(db, ctx, &selection).await?.into_iter().map(|(id, _)| id).collect())
}

/// Adds prospects to a campaign not yet over. A prospect already in it,
/// waiting in another campaign that is not over, on the do-not-call list,
/// flagged, opted out or without a number is left out and named in the
/// report; the rest are queued (an active campaign dials them at once
/// when their hours are open).
pub async fn add(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    bus: &EventBus,
    campaign_id: Uuid,
    req: AddProspects,
) -> ServiceResult<AddReport> {
    ctx.require(Permission::ManageCampaigns)?;
    let c = find(db, ctx, campaign_id).await?;
    if !status_of(&c).editable() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition)
            .with_detail(format!("a {} campaign takes no more prospects", c.status)));
    }
    for (id, vars) in &req.variables {
        crate::calls::place::check_variables(vars).map_err(|e| {
            ServiceError::field(e.code, format!("variables.{id}")).with_detail(e.detail.unwrap_or_default())
        })?;
    }
    let mut ids = resolve(db, ctx, &req.source).await?;
    if ids.len() > MAX_ADD {
        return Err(ServiceError::field(ErrorCode::OutOfRange, "source").with_detail(MAX_ADD.to_string()));
    }
    ids.sort();
    ids.dedup();
    let at = env.clock.now();
    let mut report = AddReport::default();
    // One writer per organisation at a time: two campaigns taking the
    // same prospect at once would each see it free.
    let txn = crate::db::begin_org_write(db, ctx.org_id()).await?;
    crate::db::plan_for_parameters(&txn).await?;
    for chunk in ids.chunks(CHUNK) {
        let rows = prospects::Entity::find()
            .filter(prospects::Column::OrgId.eq(ctx.org_id()))
            .filter(prospects::Column::Id.is_in(chunk.to_vec()))
            .all(&txn)
            .await?;
        let phones: Vec<String> = rows.iter().filter_map(|p| p.phone.clone()).collect();
        let listed: HashSet<String> = dnc::Entity::find()
            .select_only()
            .column(dnc::Column::Phone)
            .filter(dnc::Column::OrgId.eq(ctx.org_id()))
            .filter(dnc::Column::Phone.is_in(phones))
            .into_tuple()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let taken = memberships(&txn, ctx.org_id(), campaign_id, chunk).await?;
        let mut fresh = Vec::new();
        for p in &rows {
            let why = if let Some(t) = taken.get(&p.id) {
                Some(t.clone())
            } else if p.opted_out {
                Some(NotAdded::OptedOut)
            } else if p.do_not_call {
                Some(NotAdded::FlaggedDoNotCall)
            } else if p.phone.as_deref().is_none_or(str::is_empty) {
                Some(NotAdded::NoPhone)
            } else if p.phone.as_ref().is_some_and(|n| listed.contains(n)) {
                Some(NotAdded::OnDncList)
            } else {
                None
            };
            match why {
                Some(why) => {
                    *report.skipped_by_reason.entry(why.key().to_string()).or_default() += 1;
                    if report.skipped.len() < SKIPPED_LISTED {
                        report.skipped.push(SkippedProspect { prospect_id: p.id, name: name_of(p), why });
                    }
                }
                None => fresh.push(members_t::ActiveModel {
                    id: Set(new_id()),
                    campaign_id: Set(campaign_id),
                    org_id: Set(ctx.org_id()),
                    prospect_id: Set(p.id),
                    state: Set("queued".into()),
                    attempts: Set(0),
                    next_attempt_at: Set(Some(c.starts_at.map_or(at, |s| s.max(at)))),
                    last_result: Set(None),
                    last_call_id: Set(None),
                    skip_reason: Set(None),
                    variables: Set(json!(req.variables.get(&p.id).cloned().unwrap_or_default())),
                    added_at: Set(at),
                    updated_at: Set(at),
                }),
            }
        }
        report.added += fresh.len() as u64;
        if !fresh.is_empty() {
            members_t::Entity::insert_many(fresh).exec_without_returning(&txn).await?;
        }
    }
    crate::audit::record(
        &txn,
        ctx.org_id(),
        ctx.actor(),
        action::PROSPECTS_ADDED,
        None,
        json!({ "campaign_id": campaign_id, "added": report.added, "skipped": report.skipped_by_reason }),
    )
    .await?;
    let fresh_c =
        campaigns::Entity::find_by_id(campaign_id).one(&txn).await?.ok_or_else(ServiceError::not_found)?;
    if report.added > 0 && status_of(&fresh_c) == CampaignStatus::Active {
        super::dialer::arm(&txn, env, &fresh_c, at).await?;
    }
    let changed = super::changed(&txn, bus, ctx.org_id(), campaign_id).await?;
    txn.commit().await?;
    bus.deliver(changed);
    env.wake_runner();
    Ok(report)
}

/// Of `ids`, those already in `campaign_id`, or waiting (queued or being
/// dialled) in another campaign of the organisation that is not over.
async fn memberships<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    campaign_id: Uuid,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, NotAdded>> {
    let rows: Vec<(Uuid, Uuid, String)> = members_t::Entity::find()
        .select_only()
        .columns([members_t::Column::ProspectId, members_t::Column::CampaignId, members_t::Column::State])
        .filter(members_t::Column::OrgId.eq(org_id))
        .filter(members_t::Column::ProspectId.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    let others: Vec<Uuid> = rows.iter().filter(|r| r.1 != campaign_id).map(|r| r.1).collect();
    let live: HashMap<Uuid, String> = if others.is_empty() {
        HashMap::new()
    } else {
        campaigns::Entity::find()
            .select_only()
            .columns([campaigns::Column::Id, campaigns::Column::Name])
            .filter(campaigns::Column::OrgId.eq(org_id))
            .filter(campaigns::Column::Id.is_in(others))
            .filter(campaigns::Column::Status.is_in([
                CampaignStatus::Draft.as_str(),
                CampaignStatus::Active.as_str(),
                CampaignStatus::Paused.as_str(),
            ]))
            .into_tuple()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut out = HashMap::new();
    for (prospect, campaign, state) in rows {
        if campaign == campaign_id {
            out.insert(prospect, NotAdded::AlreadyInCampaign);
        } else if let Some(name) = live.get(&campaign).filter(|_| state == "queued" || state == "dialing") {
            out.entry(prospect)
                .or_insert(NotAdded::InOtherCampaign { campaign_id: campaign, campaign_name: name.clone() });
        }
    }
    Ok(out)
}

/// Which of a campaign's prospects a page shows.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// `queued`, `dialing`, `done` or `skipped`.
    pub state: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    campaign_id: Uuid,
    q: &MemberQuery,
) -> ServiceResult<CampaignProspectPage> {
    ctx.require(Permission::UseWorkspace)?;
    find(db, ctx, campaign_id).await?;
    let mut cond = Condition::all()
        .add(members_t::Column::CampaignId.eq(campaign_id))
        .add(members_t::Column::OrgId.eq(ctx.org_id()));
    if let Some(state) = q.state.as_deref() {
        if !["queued", "dialing", "done", "skipped"].contains(&state) {
            return Err(ServiceError::field(ErrorCode::InvalidValue, "state").with_detail(state.to_string()));
        }
        cond = cond.add(members_t::Column::State.eq(state));
    }
    let per_page = q.per_page.unwrap_or(50).clamp(1, 200);
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let total = members_t::Entity::find().filter(cond.clone()).count(db).await?;
    let rows = members_t::Entity::find()
        .filter(cond)
        .order_by_asc(members_t::Column::AddedAt)
        .order_by_asc(members_t::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    let people: BTreeMap<Uuid, prospects::Model> = prospects::Entity::find()
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::Id.is_in(rows.iter().map(|r| r.prospect_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let items = rows
        .into_iter()
        .map(|r| {
            let p = people.get(&r.prospect_id);
            CampaignProspect {
                prospect_id: r.prospect_id,
                name: p.map(name_of).unwrap_or_default(),
                phone: p.and_then(|p| p.phone.clone()),
                state: r.state,
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at,
                last_result: r.last_result.as_deref().and_then(domain::campaign::AttemptResult::parse),
                last_call_id: r.last_call_id,
                skip_reason: r.skip_reason,
            }
        })
        .collect();
    Ok(CampaignProspectPage { items, total, page, per_page })
}
