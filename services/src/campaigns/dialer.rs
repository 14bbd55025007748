//! The campaign dialer, on the job runner. A `campaigns.tick` job looks at
//! one campaign: under the campaign's lock (PostgreSQL `FOR UPDATE`,
//! SQLite's write lock) it counts the calls under way, takes the prospects
//! whose turn has come, checks each one again (`may_call`: do-not-call,
//! opt-out, the law's hours in their zone; the campaign's own hours), and
//! for each one it may call writes the call row, its dial job and the
//! attempt in one transaction — so a process killed at any point either
//! dialled nobody or left a call that the dial job (taken over when its
//! lease expires, never retried) finishes. Concurrency is counted under
//! that lock, so it holds across nodes; a prospect is `dialing` from the
//! moment its call exists, so no two ticks can take it.
//!
//! When a call ends, [`settle`] (in the call's own final transaction)
//! decides the prospect's next turn by the retry policy, trips the breaker
//! when dials keep failing, and queues a tick at once. A campaign with
//! nobody to call now sleeps until the first turn or open hour ahead
//! (`wake_at`), instead of polling.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use domain::agent_report::{AgentReport, EndReason};
use domain::call::CallStatus;
use domain::campaign::views::PausedBy;
use domain::campaign::{
    next_open_both, retry::Next, AttemptResult, BreakerRule, CampaignStatus, WeeklyWindows,
};
use domain::compliance::{CallRefusal, CallingWindow, Tz};
use entity::{calls, campaign_prospects as members_t, campaigns, prospects};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{action, changed, find_locked, is_over, settings_of, status_of, window_zone};
use crate::calls::lifecycle::locked;
use crate::calls::place::{self, Line, NewCall};
use crate::copilot::scripts::Pin;
use crate::events::{EventBus, Pending};
use crate::jobs::{self, JobFailure, NewJob};
use crate::telephony::TelephonyEnv;
use crate::{OrgCtx, ServiceError, ServiceResult};

pub const TICK_JOB: &str = "campaigns.tick";

/// Due prospects one tick looks at (beyond the free lines, those whose
/// hours are closed are moved to their next opening).
const SCAN: u64 = 200;

/// A campaign with every line busy is looked at again after this even if
/// no call ends (a call whose end never reaches us must not stall it).
const BUSY_RECHECK: Duration = Duration::minutes(5);

/// Dial failures that are no prospect's doing: every dial would fail the
/// same way, so the campaign pauses at once and the attempt is not counted.
const LINE_DOWN: &[&str] = &["provider_unavailable", "provider_auth", "trunk_missing", "not_configured"];

/// Runs `campaigns.tick` jobs.
pub struct TickHandler {
    pub env: TelephonyEnv,
    pub bus: EventBus,
}

#[derive(Deserialize)]
struct TickPayload {
    campaign_id: Uuid,
}

#[async_trait::async_trait]
impl jobs::Handler for TickHandler {
    async fn run(&self, job: &jobs::RunningJob) -> Result<(), JobFailure> {
        let p: TickPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Fatal(format!("payload: {e}")))?;
        let org = job.org_id.ok_or_else(|| JobFailure::Fatal("no organisation".into()))?;
        tick(job.db(), &self.env, &self.bus, org, p.campaign_id).await.map(|_| ()).map_err(JobFailure::from)
    }
}

fn tick_job(org_id: Uuid, campaign_id: Uuid, at: DateTime<Utc>) -> NewJob {
    let mut job = NewJob::new(TICK_JOB, Some(org_id), json!({ "campaign_id": campaign_id }));
    job.run_at = Some(at);
    // A tick is safe to run again; a failing one is retried with backoff.
    job.max_attempts = 10;
    job
}

/// Makes sure campaign `c` is looked at by `at`: a tick is queued unless
/// one is already due before then (`wake_at`, kept on the campaign).
pub(crate) async fn arm<C: ConnectionTrait>(
    txn: &C,
    env: &TelephonyEnv,
    c: &campaigns::Model,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let now = env.clock.now();
    if c.wake_at.is_some_and(|w| w > now && w <= at) {
        return Ok(());
    }
    jobs::enqueue(txn, &env.clock, tick_job(c.org_id, c.id, at)).await?;
    campaigns::Entity::update_many()
        .col_expr(campaigns::Column::WakeAt, Expr::value(at))
        .filter(campaigns::Column::Id.eq(c.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ticked {
    /// Calls placed.
    pub dialled: Vec<Uuid>,
    /// Prospects whose hours were closed, moved to their next opening.
    pub deferred: u32,
    /// Prospects found uncallable (opted out, on the list meanwhile…).
    pub skipped: u32,
    /// When the campaign is next looked at, if a time was set.
    pub wakes_at: Option<DateTime<Utc>>,
    pub status: Option<CampaignStatus>,
}

/// The prospect's next turn needs their row and their verdict.
enum Turn {
    Dial,
    Later(DateTime<Utc>),
    Skip(String),
}

/// Looks at campaign `campaign_id` once: completes it when it is over,
/// dials whom it may within its free lines, and sets its next wake-up.
pub async fn tick(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    org_id: Uuid,
    campaign_id: Uuid,
) -> ServiceResult<Ticked> {
    let ctx = OrgCtx::system(org_id, "dialer");
    let now = env.clock.now();
    // What needs no lock first (the agent, the line): a campaign that
    // cannot dial pauses and says why instead of failing every prospect.
    let Some(c) = super::find(db, &ctx, campaign_id).await.ok() else { return Ok(Ticked::default()) };
    if status_of(&c) != CampaignStatus::Active {
        return Ok(Ticked { status: Some(status_of(&c)), ..Default::default() });
    }
    let kit = match ready(db, &ctx, env, &c).await {
        Ok(kit) => Ok(kit),
        Err(e) if e.code.is_upstream() || e.code == domain::ErrorCode::Internal => return Err(e),
        Err(e) => Err(e),
    };

    let txn = crate::db::begin_write(db).await?;
    let Some(c) = find_locked(&txn, org_id, campaign_id).await? else {
        return Ok(Ticked::default());
    };
    if status_of(&c) != CampaignStatus::Active {
        return Ok(Ticked { status: Some(status_of(&c)), ..Default::default() });
    }
    campaigns::Entity::update_many()
        .col_expr(campaigns::Column::WakeAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(campaigns::Column::Id.eq(c.id))
        .exec(&txn)
        .await?;
    let c = campaigns::Model { wake_at: None, ..c };
    let mut out = Ticked::default();
    if is_over(&c, now) {
        let ev = complete(&txn, bus, &c, now, "ended").await?;
        txn.commit().await?;
        bus.deliver(ev);
        return Ok(Ticked { status: Some(CampaignStatus::Completed), ..out });
    }
    if let Some(start) = c.starts_at.filter(|s| *s > now) {
        arm(&txn, env, &c, start).await?;
        txn.commit().await?;
        return Ok(Ticked { wakes_at: Some(start), status: Some(CampaignStatus::Active), ..out });
    }
    let kit = match kit {
        Ok(kit) => kit,
        Err(e) => {
            let ev =
                pause(&txn, bus, &c, PausedBy::Unreachable { code: e.code.as_str().into() }, now).await?;
            txn.commit().await?;
            bus.deliver(ev);
            return Ok(Ticked { status: Some(CampaignStatus::Paused), ..out });
        }
    };
    let settings = settings_of(&c);
    let compliance = crate::prospects::compliance::settings(&txn, &ctx).await?;
    let law = WeeklyWindows::every_day(CallingWindow {
        start_minute: compliance.window_start_minute,
        end_minute: compliance.window_end_minute,
    });
    let dialing = members_t::Entity::find()
        .filter(members_t::Column::CampaignId.eq(c.id))
        .filter(members_t::Column::State.eq("dialing"))
        .count(&txn)
        .await?;
    let free = (i64::from(c.concurrency) - dialing as i64).max(0) as usize;
    let mut scanned = 0;
    if free > 0 {
        let due = members_t::Entity::find()
            .filter(members_t::Column::CampaignId.eq(c.id))
            .filter(members_t::Column::State.eq("queued"))
            .filter(members_t::Column::NextAttemptAt.lte(now))
            .order_by_asc(members_t::Column::NextAttemptAt)
            .order_by_asc(members_t::Column::Id)
            .limit(SCAN)
            .all(&txn)
            .await?;
        scanned = due.len();
        let people: BTreeMap<Uuid, prospects::Model> = prospects::Entity::find()
            .filter(prospects::Column::OrgId.eq(org_id))
            .filter(prospects::Column::DeletedAt.is_null())
            .filter(prospects::Column::Id.is_in(due.iter().map(|m| m.prospect_id).collect::<Vec<_>>()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for m in due {
            if out.dialled.len() == free {
                break;
            }
            let turn = match people.get(&m.prospect_id) {
                None => Turn::Skip("deleted".into()),
                Some(p) => turn(&txn, &ctx, p, &settings.windows, &settings.zone, &law, now).await?,
            };
            match turn {
                Turn::Dial => {
                    let Some(p) = people.get(&m.prospect_id) else { continue };
                    let call = dial(&txn, &ctx, env, &c, &m, p, &kit, now).await?;
                    out.dialled.push(call);
                }
                Turn::Later(at) => {
                    set_member(&txn, m.id, "queued", Some(at), None, now).await?;
                    out.deferred += 1;
                }
                Turn::Skip(reason) => {
                    set_member(&txn, m.id, "skipped", None, Some(reason), now).await?;
                    out.skipped += 1;
                }
            }
        }
    }
    // When to look again.
    let full = free == 0 || out.dialled.len() == free;
    let next_due: Option<DateTime<Utc>> = members_t::Entity::find()
        .select_only()
        .column_as(Expr::col(members_t::Column::NextAttemptAt).min(), "next")
        .filter(members_t::Column::CampaignId.eq(c.id))
        .filter(members_t::Column::State.eq("queued"))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(&txn)
        .await?
        .flatten();
    let in_flight = dialing as usize + out.dialled.len();
    let wake = if full {
        // Each call's end ticks the campaign; this is only the safety net.
        Some(now + BUSY_RECHECK)
    } else if scanned as u64 == SCAN {
        Some(now)
    } else {
        next_due.map(|t| t.max(now))
    };
    let wake = match (wake, c.ends_at) {
        (Some(w), Some(end)) => Some(w.min(end)),
        (None, Some(end)) if in_flight > 0 || next_due.is_some() => Some(end),
        (w, _) => w,
    };
    let mut events = Vec::new();
    if next_due.is_none() && in_flight == 0 {
        // Everyone's turn is over.
        events.push(complete(&txn, bus, &c, now, "done").await?);
        out.status = Some(CampaignStatus::Completed);
    } else {
        if let Some(w) = wake {
            arm(&txn, env, &c, w).await?;
            out.wakes_at = Some(w);
        }
        out.status = Some(CampaignStatus::Active);
        if !out.dialled.is_empty() || out.skipped > 0 || out.deferred > 0 {
            events.push(changed(&txn, bus, org_id, c.id).await?);
        }
    }
    txn.commit().await?;
    for ev in events {
        bus.deliver(ev);
    }
    if !out.dialled.is_empty() || out.wakes_at.is_some_and(|w| w <= now) {
        env.wake_runner();
    }
    Ok(out)
}

/// What every dial of one tick shares: the agent, the line, and the
/// campaign's script at its current version.
struct Kit {
    agent: entity::agents::Model,
    line: Line,
    script: Option<Pin>,
}

/// The agent, line and script a campaign dials with, if it can dial at all.
async fn ready(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    c: &campaigns::Model,
) -> ServiceResult<Kit> {
    let agent = crate::telephony::trunks::voice_agent(db, ctx, c.agent_id).await?;
    if !agent.active {
        return Err(ServiceError::new(domain::ErrorCode::AgentInactive));
    }
    let line = place::line(db, ctx, env, c.trunk_id, c.from_number.as_deref()).await?;
    // Over the plan's limits: the campaign pauses, saying so, until the
    // organisation upgrades and a manager resumes it.
    crate::billing::quota::allows(db, &env.billing, ctx.org_id(), domain::billing::usage::Spend::Call)
        .await?;
    // Its language was checked when the campaign was saved. A script
    // archived since is still followed: the manager chose it for this
    // campaign, and its versions are kept.
    let script = match c.script_id {
        Some(id) => match crate::copilot::scripts::find(db, ctx, id).await {
            Ok(s) => Some(Pin { id: s.id, version: s.version }),
            Err(e) if e.code == domain::ErrorCode::NotFound => {
                tracing::warn!(campaign = %c.id, script = %id, "the campaign's script is gone; dialling without");
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok(Kit { agent, line, script })
}

/// Whether prospect `p` is called now, later (when the law's hours in
/// their zone and the campaign's hours meet next), or never.
async fn turn<C: ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    p: &prospects::Model,
    windows: &WeeklyWindows,
    zone: &domain::campaign::CampaignZone,
    law: &WeeklyWindows,
    now: DateTime<Utc>,
) -> ServiceResult<Turn> {
    let verdict = crate::prospects::compliance::verdict(txn, ctx, p, now).await?;
    match &verdict {
        Ok(()) | Err(CallRefusal::OutsideWindow { .. }) => {}
        Err(refusal) => return Ok(Turn::Skip(crate::prospects::compliance::reason_code(refusal))),
    }
    let Some(local) = p.timezone.parse::<Tz>().ok() else {
        return Ok(Turn::Skip("unknown_timezone".into()));
    };
    let Some(theirs) = window_zone(zone, Some(local)) else {
        return Ok(Turn::Skip("unknown_timezone".into()));
    };
    Ok(match next_open_both((windows, &theirs), (law, &local), now) {
        None => Turn::Skip("no_shared_hours".into()),
        Some(t) if t <= now && verdict.is_ok() => Turn::Dial,
        // The law's check and the schedule disagree only at a minute's edge.
        Some(t) => Turn::Later(t.max(now + Duration::minutes(1))),
    })
}

/// Writes the call, its dial job and the attempt: one unit.
#[allow(clippy::too_many_arguments)]
async fn dial<C: ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    c: &campaigns::Model,
    m: &members_t::Model,
    p: &prospects::Model,
    kit: &Kit,
    now: DateTime<Utc>,
) -> ServiceResult<Uuid> {
    let extra = variables(p, &m.variables);
    let call = place::insert(
        txn,
        ctx,
        env,
        NewCall {
            agent: Some(&kit.agent),
            rep: None,
            prospect: Some(p),
            to_number: p.phone.clone().unwrap_or_default(),
            line: &kit.line,
            extra: &extra,
            idempotency: None,
            campaign_id: Some(c.id),
            script: kit.script,
            at: now,
        },
    )
    .await?;
    let mut a: members_t::ActiveModel = m.clone().into();
    a.state = Set("dialing".into());
    a.attempts = Set(m.attempts + 1);
    a.last_call_id = Set(Some(call.id));
    a.next_attempt_at = Set(None);
    a.updated_at = Set(now);
    a.update(txn).await?;
    Ok(call.id)
}

/// The call's template variables (`{{call.<name>}}`): the prospect's
/// custom fields, then the ones given when they were added.
fn variables(p: &prospects::Model, own: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut take = |obj: &Value| {
        for (k, v) in obj.as_object().into_iter().flatten() {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            if domain::template::is_ident(k) && (out.len() < 50 || out.contains_key(k)) {
                out.insert(
                    k.clone(),
                    text.chars().take(1000).filter(|c| !c.is_control() || *c == '\n').collect(),
                );
            }
        }
    };
    take(&p.custom);
    take(own);
    out
}

async fn set_member<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    state: &str,
    next: Option<DateTime<Utc>>,
    skip_reason: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    members_t::Entity::update_many()
        .col_expr(members_t::Column::State, Expr::value(state))
        .col_expr(members_t::Column::NextAttemptAt, Expr::value(next))
        .col_expr(members_t::Column::SkipReason, Expr::value(skip_reason))
        .col_expr(members_t::Column::UpdatedAt, Expr::value(now))
        .filter(members_t::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn complete<C: ConnectionTrait>(
    txn: &C,
    bus: &EventBus,
    c: &campaigns::Model,
    now: DateTime<Utc>,
    why: &str,
) -> ServiceResult<Pending> {
    campaigns::Entity::update_many()
        .col_expr(campaigns::Column::Status, Expr::value(CampaignStatus::Completed.as_str()))
        .col_expr(campaigns::Column::CompletedAt, Expr::value(now))
        .col_expr(campaigns::Column::WakeAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(campaigns::Column::Version, Expr::col(campaigns::Column::Version).add(1))
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(now))
        .filter(campaigns::Column::Id.eq(c.id))
        .exec(txn)
        .await?;
    crate::audit::record(
        txn,
        c.org_id,
        OrgCtx::system(c.org_id, "dialer").actor(),
        action::COMPLETED_BY_DIALER,
        None,
        json!({ "campaign_id": c.id, "why": why }),
    )
    .await?;
    changed(txn, bus, c.org_id, c.id).await
}

/// Pauses an active campaign on the dialer's word, saying why.
async fn pause<C: ConnectionTrait>(
    txn: &C,
    bus: &EventBus,
    c: &campaigns::Model,
    why: PausedBy,
    now: DateTime<Utc>,
) -> ServiceResult<Pending> {
    let n = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::Status, Expr::value(CampaignStatus::Paused.as_str()))
        .col_expr(
            campaigns::Column::PausedReason,
            Expr::value(serde_json::to_value(&why).unwrap_or_default()),
        )
        .col_expr(campaigns::Column::WakeAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(campaigns::Column::Version, Expr::col(campaigns::Column::Version).add(1))
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(now))
        .filter(campaigns::Column::Id.eq(c.id))
        .filter(campaigns::Column::Status.eq(CampaignStatus::Active.as_str()))
        .exec(txn)
        .await?;
    if n.rows_affected > 0 {
        tracing::warn!(campaign = %c.id, ?why, "campaign paused by the dialer");
        crate::audit::record(
            txn,
            c.org_id,
            OrgCtx::system(c.org_id, "dialer").actor(),
            action::PAUSED_BY_DIALER,
            None,
            json!({ "campaign_id": c.id, "paused_by": why }),
        )
        .await?;
    }
    changed(txn, bus, c.org_id, c.id).await
}

/// What settling an attempt leaves to do once its transaction commits.
pub(crate) struct Settled {
    event: Pending,
}

impl Settled {
    pub(crate) fn after_commit(self, env: &TelephonyEnv, bus: &EventBus) {
        bus.deliver(self.event);
        env.wake_runner();
    }
}

/// The call `call` (of a campaign, just ended, locked in `txn`) settles its
/// prospect's attempt: done, or queued again by the retry policy; the
/// breaker looks at the campaign's recent dials; and a tick is queued to
/// fill the line it freed. Idempotent: only an attempt still `dialing` on
/// this call is settled.
pub(crate) async fn settle<C: ConnectionTrait>(
    txn: &C,
    env: &TelephonyEnv,
    bus: &EventBus,
    call: &calls::Model,
) -> ServiceResult<Option<Settled>> {
    let Some(campaign_id) = call.campaign_id else { return Ok(None) };
    // The campaign first (the order a tick takes them in): settles of one
    // campaign queue up on PostgreSQL, so the breaker counts every failure
    // committed before its own — six dials failing at once would otherwise
    // each see only a few and never trip it.
    let Some(c) = find_locked(txn, call.org_id, campaign_id).await? else { return Ok(None) };
    let q = members_t::Entity::find()
        .filter(members_t::Column::CampaignId.eq(campaign_id))
        .filter(members_t::Column::LastCallId.eq(call.id));
    let Some(m) = locked(txn, q).one(txn).await? else { return Ok(None) };
    if m.state != "dialing" {
        return Ok(None);
    }
    let now = env.clock.now();
    let status = CallStatus::parse(&call.status).unwrap_or(CallStatus::Failed);
    let voicemail = call
        .agent_report
        .clone()
        .and_then(|r| serde_json::from_value::<AgentReport>(r).ok())
        .is_some_and(|r| matches!(r.end, EndReason::Voicemail { .. }));
    let result = AttemptResult::of_call(status, voicemail).unwrap_or(AttemptResult::Failed);
    let line_down = (result == AttemptResult::Failed)
        .then(|| call.failure_reason.clone())
        .flatten()
        .filter(|r| LINE_DOWN.contains(&r.as_str()));
    let over = !matches!(status_of(&c), CampaignStatus::Active | CampaignStatus::Paused) || is_over(&c, now);
    let (state, next, attempts) = if line_down.is_some() && !over {
        // Not the prospect's doing: their turn comes again, uncounted.
        ("queued", Some(now), (m.attempts - 1).max(0))
    } else if over {
        ("done", None, m.attempts)
    } else {
        match settings_of(&c).retry.next(result, m.attempts.max(1) as u32, now) {
            Next::Done => ("done", None, m.attempts),
            Next::RetryAt(at) => ("queued", Some(at), m.attempts),
        }
    };
    let mut a: members_t::ActiveModel = m.clone().into();
    a.state = Set(state.into());
    a.next_attempt_at = Set(next);
    a.attempts = Set(attempts);
    a.last_result = Set(Some(result.as_str().into()));
    a.updated_at = Set(now);
    a.update(txn).await?;

    let tripped = match (&line_down, result) {
        (Some(code), _) => Some(PausedBy::Unreachable { code: code.clone() }),
        (None, AttemptResult::Failed) => {
            breaker(txn, campaign_id, now).await?.map(|tripped| PausedBy::Breaker { tripped })
        }
        _ => None,
    };
    let event = match tripped {
        Some(why) if status_of(&c) == CampaignStatus::Active => pause(txn, bus, &c, why, now).await?,
        _ => {
            if status_of(&c) == CampaignStatus::Active {
                let mut job = tick_job(c.org_id, c.id, now);
                job.dedupe_key = Some(format!("campaign-tick:after:{}", call.id));
                jobs::enqueue(txn, &env.clock, job).await?;
            }
            changed(txn, bus, c.org_id, c.id).await?
        }
    };
    Ok(Some(Settled { event }))
}

/// A machine took call `call`, but the agent's report saying so arrived
/// after the call had ended and been settled as answered: its attempt is
/// settled again, as a voicemail, so the campaign's voicemail rule (call
/// back later, or stop) applies. Idempotent: only an attempt still
/// resting on this call as `answered` moves.
pub(crate) async fn resettle_voicemail(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    call: &calls::Model,
) -> ServiceResult<()> {
    let Some(campaign_id) = call.campaign_id else { return Ok(()) };
    let txn = crate::db::begin_write(db).await?;
    let q = members_t::Entity::find()
        .filter(members_t::Column::CampaignId.eq(campaign_id))
        .filter(members_t::Column::LastCallId.eq(call.id));
    let Some(m) = locked(&txn, q).one(&txn).await? else { return Ok(()) };
    if m.state == "dialing" || m.last_result.as_deref() != Some(AttemptResult::Answered.as_str()) {
        return Ok(());
    }
    let Some(c) = campaigns::Entity::find_by_id(campaign_id).one(&txn).await? else { return Ok(()) };
    let now = env.clock.now();
    let live = matches!(status_of(&c), CampaignStatus::Active | CampaignStatus::Paused) && !is_over(&c, now);
    let next = match settings_of(&c).retry.next(AttemptResult::Voicemail, m.attempts.max(1) as u32, now) {
        Next::RetryAt(at) if live => Some(at),
        _ => None,
    };
    let mut a: members_t::ActiveModel = m.into();
    a.state = Set(if next.is_some() { "queued" } else { "done" }.into());
    a.next_attempt_at = Set(next);
    a.last_result = Set(Some(AttemptResult::Voicemail.as_str().into()));
    a.updated_at = Set(now);
    a.update(&txn).await?;
    if next.is_some() && status_of(&c) == CampaignStatus::Active {
        // The campaign may be asleep until a later turn: this one wakes it.
        let mut job = tick_job(c.org_id, c.id, now);
        job.dedupe_key = Some(format!("campaign-tick:voicemail:{}", call.id));
        jobs::enqueue(&txn, &env.clock, job).await?;
    }
    let event = changed(&txn, bus, c.org_id, c.id).await?;
    txn.commit().await?;
    Settled { event }.after_commit(env, bus);
    Ok(())
}

/// Whether the campaign's dials of the breaker's window trip it.
async fn breaker<C: ConnectionTrait>(
    txn: &C,
    campaign_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<Option<domain::campaign::Tripped>> {
    let rule = BreakerRule::default();
    let since = now - Duration::seconds(i64::from(rule.window_seconds));
    let recent: Vec<(String, Option<DateTime<Utc>>)> = calls::Entity::find()
        .select_only()
        .columns([calls::Column::Status, calls::Column::EndedAt])
        .filter(calls::Column::CampaignId.eq(campaign_id))
        .filter(calls::Column::EndedAt.gt(since))
        .into_tuple()
        .all(txn)
        .await?;
    let recent: Vec<(DateTime<Utc>, AttemptResult)> = recent
        .into_iter()
        .filter_map(|(status, ended)| {
            let result = AttemptResult::of_call(CallStatus::parse(&status)?, false)?;
            // A call that ended after "now" (another clock) is still recent.
            Some((ended?.min(now), result))
        })
        .collect();
    Ok(rule.check(&recent, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prospect(custom: Value) -> prospects::Model {
        let now = crate::now();
        prospects::Model {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            first_name: "Ada".into(),
            last_name: "L".into(),
            company: String::new(),
            title: String::new(),
            phone: Some("+33612345678".into()),
            email: None,
            timezone: "Europe/Paris".into(),
            status: "new".into(),
            owner_id: None,
            tags: String::new(),
            custom,
            do_not_call: false,
            opted_out: false,
            search_text: String::new(),
            import_id: None,
            created_by: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            delete_batch: None,
        }
    }

    #[test]
    fn call_variables_are_custom_fields_overridden_by_the_campaigns_own() {
        let p =
            prospect(json!({"plan": "pro", "seats": 12, "bad key": "x", "nested": {"a": 1}, "vip": true}));
        let v = variables(&p, &json!({"plan": "enterprise", "offer": "20%"}));
        let want: BTreeMap<String, String> =
            [("offer", "20%"), ("plan", "enterprise"), ("seats", "12"), ("vip", "true")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(v, want);
    }
}
