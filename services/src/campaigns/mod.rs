//! Campaigns: a manager's list of prospects an AI voice agent dials inside
//! the calling hours, retrying by each dial's result, until everyone's turn
//! is over or the end date passes. The settings and the lifecycle live
//! here; adding prospects in [`members`], the dialer in [`dialer`], the
//! figures in [`stats`] and the live page feed in [`live`].

pub mod dialer;
pub mod live;
pub mod members;
pub mod stats;

use chrono::{DateTime, Utc};
use domain::campaign::views::{Campaign, CampaignEdit, PausedBy};
use domain::campaign::{transition, CampaignAction, CampaignSettings, CampaignStatus, CampaignZone};
use domain::{ErrorCode, Permission};
use entity::{campaign_prospects as members_t, campaigns};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::calls::lifecycle::locked;
use crate::events::EventBus;
use crate::telephony::TelephonyEnv;
use crate::{new_id, OrgCtx, ServiceError, ServiceResult};

/// The bus topic telling an organisation's open campaign pages that one
/// changed (payload `{"campaign_id"}`; pages read it again).
pub const CAMPAIGNS_TOPIC: &str = "campaigns";

/// Campaigns a list shows at most (newest first).
pub const LIST_LIMIT: u64 = 200;

pub mod action {
    pub const CREATED: &str = "campaign.created";
    pub const UPDATED: &str = "campaign.updated";
    pub const PROSPECTS_ADDED: &str = "campaign.prospects_added";
    /// Started, paused, resumed, completed, archived: `campaign.<action>`.
    pub fn moved(a: domain::campaign::CampaignAction) -> String {
        format!("campaign.{}", past(a))
    }
    fn past(a: domain::campaign::CampaignAction) -> &'static str {
        use domain::campaign::CampaignAction as A;
        match a {
            A::Start => "started",
            A::Pause => "paused",
            A::Resume => "resumed",
            A::Complete => "completed",
            A::Archive => "archived",
        }
    }
    /// The dialer paused a campaign (the breaker, or a line that is down).
    pub const PAUSED_BY_DIALER: &str = "campaign.paused_by_dialer";
    /// The dialer completed a campaign (everyone done, or the end passed).
    pub const COMPLETED_BY_DIALER: &str = "campaign.completed_by_dialer";
}

/// The campaign `id` of the caller's organisation.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<campaigns::Model> {
    campaigns::Entity::find_by_id(id)
        .filter(campaigns::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

/// As [`find`], locked for the rest of the transaction on PostgreSQL.
pub(crate) async fn find_locked<C: ConnectionTrait>(
    txn: &C,
    org_id: Uuid,
    id: Uuid,
) -> ServiceResult<Option<campaigns::Model>> {
    let q = campaigns::Entity::find_by_id(id).filter(campaigns::Column::OrgId.eq(org_id));
    Ok(locked(txn, q).one(txn).await?)
}

pub(crate) fn status_of(m: &campaigns::Model) -> CampaignStatus {
    CampaignStatus::parse(&m.status).unwrap_or(CampaignStatus::Draft)
}

pub(crate) fn settings_of(m: &campaigns::Model) -> CampaignSettings {
    CampaignSettings {
        name: m.name.clone(),
        agent_id: m.agent_id,
        script_id: m.script_id,
        trunk_id: m.trunk_id,
        from_number: m.from_number.clone(),
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        windows: serde_json::from_value(m.windows.clone()).unwrap_or_default(),
        zone: serde_json::from_value(m.zone.clone()).unwrap_or_default(),
        concurrency: m.concurrency.clamp(1, 50) as u32,
        retry: serde_json::from_value(m.retry.clone()).unwrap_or_default(),
    }
}

pub(crate) async fn view<C: ConnectionTrait>(db: &C, m: &campaigns::Model) -> ServiceResult<Campaign> {
    Ok(Campaign {
        id: m.id,
        status: status_of(m),
        settings: settings_of(m),
        paused_by: m.paused_reason.clone().and_then(|v| serde_json::from_value(v).ok()),
        wakes_at: m.wake_at,
        version: m.version,
        created_at: m.created_at,
        started_at: m.started_at,
        completed_at: m.completed_at,
        counts: stats::counts(db, m.id).await?,
    })
}

/// Checks what needs the database: the agent is one of the organisation's
/// voice agents; the script is its own, in the agent's language and not
/// archived (unless it is `kept`, the one the campaign already had); the
/// trunk is its own.
async fn check_refs(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    s: CampaignSettings,
    kept: Option<Uuid>,
) -> ServiceResult<CampaignSettings> {
    let s = s.validate(domain::compliance::is_valid_timezone)?;
    let agent = crate::telephony::trunks::voice_agent(db, ctx, s.agent_id).await?;
    if let Some(script) = s.script_id {
        let language = crate::agents::settings_of(&agent)?.language;
        crate::copilot::scripts::for_call(db, ctx, script, &language, kept == Some(script)).await?;
    }
    if let Some(trunk) = s.trunk_id {
        entity::sip_trunks::Entity::find_by_id(trunk)
            .filter(entity::sip_trunks::Column::OrgId.eq(ctx.org_id()))
            .filter(entity::sip_trunks::Column::Direction.eq("outbound"))
            .one(db)
            .await?
            .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "trunk_id"))?;
    }
    Ok(s)
}

fn json_of<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// A new campaign, in `draft`: nothing dials until it is started.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    settings: CampaignSettings,
) -> ServiceResult<Campaign> {
    ctx.require(Permission::ManageCampaigns)?;
    let s = check_refs(db, ctx, settings, None).await?;
    let at = env.clock.now();
    let row = campaigns::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        name: Set(s.name.clone()),
        status: Set(CampaignStatus::Draft.as_str().into()),
        agent_id: Set(s.agent_id),
        script_id: Set(s.script_id),
        trunk_id: Set(s.trunk_id),
        from_number: Set(s.from_number.clone()),
        starts_at: Set(s.starts_at),
        ends_at: Set(s.ends_at),
        windows: Set(json_of(&s.windows)),
        zone: Set(json_of(&s.zone)),
        concurrency: Set(s.concurrency as i32),
        retry: Set(json_of(&s.retry)),
        paused_reason: Set(None),
        version: Set(1),
        wake_at: Set(None),
        created_by: Set(ctx.user_id()),
        created_at: Set(at),
        updated_at: Set(at),
        started_at: Set(None),
        completed_at: Set(None),
    };
    let txn = crate::db::begin_write(db).await?;
    let saved = row.insert(&txn).await?;
    crate::audit::record(
        &txn,
        ctx.org_id(),
        ctx.actor(),
        action::CREATED,
        None,
        json!({ "campaign_id": saved.id, "name": saved.name }),
    )
    .await?;
    txn.commit().await?;
    view(db, &saved).await
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Campaign> {
    ctx.require(Permission::UseWorkspace)?;
    view(db, &find(db, ctx, id).await?).await
}

/// The organisation's campaigns, newest first (archived ones only when asked).
pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    status: Option<CampaignStatus>,
) -> ServiceResult<Vec<Campaign>> {
    ctx.require(Permission::UseWorkspace)?;
    let mut q = campaigns::Entity::find().filter(campaigns::Column::OrgId.eq(ctx.org_id()));
    q = match status {
        Some(s) => q.filter(campaigns::Column::Status.eq(s.as_str())),
        None => q.filter(campaigns::Column::Status.ne(CampaignStatus::Archived.as_str())),
    };
    let rows = q.order_by_desc(campaigns::Column::CreatedAt).limit(LIST_LIMIT).all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(db, r).await?);
    }
    Ok(out)
}

/// Changes the settings of a campaign not yet over, at the version read.
/// An active campaign takes them at its next dial.
pub async fn edit(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    bus: &EventBus,
    id: Uuid,
    edit: CampaignEdit,
) -> ServiceResult<Campaign> {
    ctx.require(Permission::ManageCampaigns)?;
    let kept = find(db, ctx, id).await?.script_id;
    let s = check_refs(db, ctx, edit.settings, kept).await?;
    let txn = crate::db::begin_write(db).await?;
    let c = find_locked(&txn, ctx.org_id(), id).await?.ok_or_else(ServiceError::not_found)?;
    if c.version != edit.version {
        return Err(
            ServiceError::field(ErrorCode::StaleVersion, "version").with_detail(c.version.to_string())
        );
    }
    if !status_of(&c).editable() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition)
            .with_detail(format!("a {} campaign cannot change", c.status)));
    }
    let before = settings_of(&c);
    let mut m: campaigns::ActiveModel = c.clone().into();
    m.name = Set(s.name.clone());
    m.agent_id = Set(s.agent_id);
    m.script_id = Set(s.script_id);
    m.trunk_id = Set(s.trunk_id);
    m.from_number = Set(s.from_number.clone());
    m.starts_at = Set(s.starts_at);
    m.ends_at = Set(s.ends_at);
    m.windows = Set(json_of(&s.windows));
    m.zone = Set(json_of(&s.zone));
    m.concurrency = Set(s.concurrency as i32);
    m.retry = Set(json_of(&s.retry));
    m.version = Set(c.version + 1);
    m.updated_at = Set(env.clock.now());
    let saved = m.update(&txn).await?;
    crate::audit::record(
        &txn,
        ctx.org_id(),
        ctx.actor(),
        action::UPDATED,
        None,
        json!({ "campaign_id": id, "before": before, "after": s }),
    )
    .await?;
    if status_of(&saved) == CampaignStatus::Active {
        dialer::arm(&txn, env, &saved, env.clock.now()).await?;
    }
    let changed = changed(&txn, bus, ctx.org_id(), id).await?;
    txn.commit().await?;
    bus.deliver(changed);
    env.wake_runner();
    view(db, &saved).await
}

/// Tells open pages (on every node, at commit) that campaign `id` changed.
pub(crate) async fn changed<C: ConnectionTrait>(
    txn: &C,
    bus: &EventBus,
    org_id: Uuid,
    id: Uuid,
) -> ServiceResult<crate::events::Pending> {
    let ev = bus.event(org_id, CAMPAIGNS_TOPIC, &json!({ "campaign_id": id }))?;
    bus.notify_within(txn, &ev).await?;
    Ok(ev)
}

/// Starts, pauses, resumes, completes or archives a campaign. Starting and
/// resuming check that it can dial: a voice agent that is active, a line,
/// and someone to call.
pub async fn act(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    bus: &EventBus,
    id: Uuid,
    act: CampaignAction,
) -> ServiceResult<Campaign> {
    ctx.require(Permission::ManageCampaigns)?;
    let current = find(db, ctx, id).await?;
    transition(status_of(&current), act)
        .map_err(|e| ServiceError::new(ErrorCode::InvalidTransition).with_detail(e.to_string()))?;
    if matches!(act, CampaignAction::Start | CampaignAction::Resume) {
        ready_to_dial(db, ctx, env, &current).await?;
    }
    let at = env.clock.now();
    let txn = crate::db::begin_write(db).await?;
    let c = find_locked(&txn, ctx.org_id(), id).await?.ok_or_else(ServiceError::not_found)?;
    // Read again under the lock: another request may have moved it since.
    let to = transition(status_of(&c), act)
        .map_err(|e| ServiceError::new(ErrorCode::InvalidTransition).with_detail(e.to_string()))?;
    let mut m: campaigns::ActiveModel = c.clone().into();
    m.status = Set(to.as_str().into());
    m.version = Set(c.version + 1);
    m.updated_at = Set(at);
    match act {
        CampaignAction::Start => m.started_at = Set(Some(at)),
        CampaignAction::Pause => {
            m.paused_reason = Set(Some(json_of(&PausedBy::Manager { user_id: ctx.user_id() })))
        }
        CampaignAction::Resume => m.paused_reason = Set(None),
        CampaignAction::Complete => {
            m.completed_at = Set(Some(at));
            m.wake_at = Set(None);
        }
        CampaignAction::Archive => m.wake_at = Set(None),
    }
    let saved = m.update(&txn).await?;
    crate::audit::record(
        &txn,
        ctx.org_id(),
        ctx.actor(),
        &action::moved(act),
        None,
        json!({ "campaign_id": id, "from": c.status, "to": to }),
    )
    .await?;
    if to == CampaignStatus::Active {
        dialer::arm(&txn, env, &saved, at).await?;
    }
    let changed = changed(&txn, bus, ctx.org_id(), id).await?;
    txn.commit().await?;
    bus.deliver(changed);
    env.wake_runner();
    view(db, &saved).await
}

/// Whether `c` could dial now, as far as its own setup goes: its agent is
/// an active voice agent, its line resolves (a LiveKit project, a trunk, a
/// caller number), and it holds someone still to call.
async fn ready_to_dial(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    c: &campaigns::Model,
) -> ServiceResult<()> {
    crate::telephony::trunks::voice_agent(db, ctx, c.agent_id).await?;
    crate::calls::place::line(db, ctx, env, c.trunk_id, c.from_number.as_deref()).await?;
    let waiting = members_t::Entity::find()
        .filter(members_t::Column::CampaignId.eq(c.id))
        .filter(members_t::Column::State.is_in(["queued", "dialing"]))
        .count(db)
        .await?;
    if waiting == 0 {
        return Err(ServiceError::field(ErrorCode::RequiredValue, "prospects")
            .with_detail("no prospect left to call"));
    }
    Ok(())
}

/// The time zone a campaign's windows read for a prospect in `prospect_tz`.
pub(crate) fn window_zone(
    zone: &CampaignZone,
    prospect_tz: Option<domain::compliance::Tz>,
) -> Option<domain::compliance::Tz> {
    match zone {
        CampaignZone::Prospect => prospect_tz,
        CampaignZone::Fixed { zone } => zone.parse().ok(),
    }
}

/// The end of a campaign's run, if it has one and it has passed.
pub(crate) fn is_over(c: &campaigns::Model, now: DateTime<Utc>) -> bool {
    c.ends_at.is_some_and(|end| end <= now)
}
