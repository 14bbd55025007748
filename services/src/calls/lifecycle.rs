//! Applying what happened to a call: one transaction per event that finds a
//! redelivered webhook by its id, moves the state only as `domain::call::next`
//! allows, keeps every event on the timeline (ignored ones say why) and
//! tells open pages on any node through the event bus (its notification
//! sent inside the transaction, so at its commit). An event for a call that
//! has ended needs no transaction: it is only written down.

use chrono::{DateTime, Utc};
use domain::call::{next, CallEvent, CallStatus, Ignored};
use entity::{call_events, calls};
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::events::EventBus;
use crate::telephony::TelephonyEnv;
use crate::{new_id, ServiceResult};

/// The bus topic of an organisation's calls: every change to any of them
/// (a call page keeps the updates of its own call). One topic, so one
/// notification per change.
pub const CALLS_TOPIC: &str = "calls";

pub use domain::call_views::CallUpdate;

/// How long after a call's end its analysis waits for late transcript turns
/// when the agent's report has not asked for it already.
pub const ANALYSIS_DELAY_SECS: i64 = 20;

/// One thing that happened, and where it came from.
#[derive(Debug, Clone)]
pub struct Happened {
    pub event: CallEvent,
    /// `request`, `webhook`, `user`.
    pub source: &'static str,
    /// What to call it on the timeline (`participant_joined`, `dial_answered`…).
    pub kind: String,
    /// LiveKit's webhook id: a second delivery is found by it.
    pub event_id: Option<String>,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
    /// Why the call failed, when it did (an error code).
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Moved {
        from: CallStatus,
        to: CallStatus,
    },
    Ignored(Ignored),
    /// This webhook was already applied.
    Duplicate,
}

/// Applies `h` to call `call_id` of `org_id`.
pub async fn apply(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    org_id: Uuid,
    call_id: Uuid,
    h: Happened,
) -> ServiceResult<Applied> {
    let txn = crate::db::begin_write(db).await?;
    let q = locked(&txn, calls::Entity::find_by_id(call_id).filter(calls::Column::OrgId.eq(org_id)));
    let Some(call) = q.one(&txn).await? else {
        return Err(crate::ServiceError::new(domain::ErrorCode::NotFound));
    };
    apply_locked(txn, env, bus, call, h).await
}

/// `q`, taking the row's lock on PostgreSQL: two events for one call at
/// once, the second waits for the first (SQLite's write lock, taken by
/// [`crate::db::begin_write`], already serialises them).
pub(crate) fn locked<C: ConnectionTrait, Q: QuerySelect>(txn: &C, q: Q) -> Q {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q.lock_exclusive()
    } else {
        q
    }
}

/// Applies `h` to `call`, read (and locked) in `txn`, and commits.
pub(crate) async fn apply_locked(
    txn: sea_orm::DatabaseTransaction,
    env: &TelephonyEnv,
    bus: &EventBus,
    call: calls::Model,
    h: Happened,
) -> ServiceResult<Applied> {
    let (org_id, call_id) = (call.org_id, call.id);
    let from = super::status_of(&call);
    let mut applied = match next(from, h.event) {
        Ok(to) => Applied::Moved { from, to },
        Err(why) => Applied::Ignored(why),
    };
    // The agent was in the room before the callee answered: now that
    // someone has, the call is under way.
    if let Applied::Moved { to: CallStatus::Answered, .. } = applied {
        if agent_joined_before(&txn, call_id).await? {
            if let Ok(on) = next(CallStatus::Answered, CallEvent::AgentJoined) {
                applied = Applied::Moved { from, to: on };
            }
        }
    }
    let to = match applied {
        Applied::Moved { to, .. } => to,
        _ => from,
    };
    // The timeline entry first: a redelivered webhook is found by the unique
    // index on its id before anything else is written, and nothing is.
    if !record(&txn, &call, &h, from, to, &applied).await? {
        txn.rollback().await?;
        return Ok(Applied::Duplicate);
    }
    let Applied::Moved { .. } = applied else {
        txn.commit().await?;
        if let Applied::Ignored(why) = applied {
            tracing::info!(call = %call_id, kind = %h.kind, ?why, "call event left the state as it was");
        }
        return Ok(applied);
    };
    let updated = moved(&txn, &call, to, &h).await?;
    let update = bus.event(org_id, CALLS_TOPIC, &CallUpdate { call: super::view(&updated) })?;
    bus.notify_within(&txn, &update).await?;
    // A campaign's attempt is settled with its call's end, in the same
    // transaction: the prospect is requeued or done, and the dialer woken.
    let settled = match updated.campaign_id {
        Some(_) if to.is_final() => crate::campaigns::dialer::settle(&txn, env, bus, &updated).await?,
        _ => None,
    };
    // An answered call's minutes are billed with its end, in its transaction.
    if to.is_final() {
        record_minutes(&txn, env, &updated).await?;
    }
    // A call someone answered is analysed once its last words are in (the
    // agent's report asks sooner when it comes first).
    if to.is_final() && updated.answered_at.is_some() {
        let subject = crate::analysis::Subject::Call(call_id);
        let at = env.clock.now() + chrono::Duration::seconds(ANALYSIS_DELAY_SECS);
        crate::analysis::request(&txn, &env.clock, org_id, subject, at).await?;
    }
    txn.commit().await?;
    bus.deliver(update);
    if let Some(settled) = settled {
        settled.after_commit(env, bus);
    }
    Ok(applied)
}

/// Bills an ended call's talk time (none when nobody answered), once: a
/// redelivered end finds the row already written.
async fn record_minutes<C: ConnectionTrait>(
    db: &C,
    env: &TelephonyEnv,
    call: &calls::Model,
) -> ServiceResult<()> {
    let Some(talk_ms) = call.talk_ms.filter(|ms| *ms > 0) else { return Ok(()) };
    let usage =
        domain::billing::Usage { call_seconds: talk_ms.saturating_add(999) / 1000, ..Default::default() };
    let r = crate::billing::usage::Record {
        org_id: call.org_id,
        source: crate::billing::usage::Source::Call(call.id),
        agent_id: call.agent_id,
        // A call without an agent is a rep's (the copilot's).
        agent_kind: Some(if call.agent_id.is_some() { "voice" } else { "rep" }),
        api_key_id: call.placed_by_api_key,
        model: None,
        usage,
        at: call.ended_at.unwrap_or_else(|| env.clock.now()),
    };
    crate::billing::usage::record(db, &env.billing, r).await?;
    Ok(())
}

/// Keeps an event that came for a call already ended: it changes nothing,
/// and nothing later reads it under the call's lock (an ended call stays
/// ended), so it is written on its own — no transaction, no lock. `None`
/// when the call had not ended after all (apply it under the lock).
pub(crate) async fn record_after_end(
    db: &DatabaseConnection,
    call: &calls::Model,
    h: &Happened,
) -> ServiceResult<Option<Applied>> {
    let status = super::status_of(call);
    let Err(why @ domain::call::Ignored::AlreadyEnded) = next(status, h.event) else { return Ok(None) };
    let applied = Applied::Ignored(why);
    Ok(Some(if record(db, call, h, status, status, &applied).await? { applied } else { Applied::Duplicate }))
}

/// Writes `h` on `call`'s timeline; false when an entry with its event id
/// is there already (the same webhook, delivered again or twice at once).
async fn record<C: ConnectionTrait>(
    db: &C,
    call: &calls::Model,
    h: &Happened,
    from: CallStatus,
    to: CallStatus,
    applied: &Applied,
) -> ServiceResult<bool> {
    let ignored = match applied {
        Applied::Ignored(Ignored::AlreadyEnded) => Some("already_ended"),
        Applied::Ignored(Ignored::Behind) => Some("behind"),
        _ => None,
    };
    let entry = call_events::ActiveModel {
        id: Set(new_id()),
        call_id: Set(call.id),
        org_id: Set(call.org_id),
        source: Set(h.source.to_string()),
        kind: Set(h.kind.clone()),
        event_id: Set(h.event_id.clone()),
        from_status: Set(from.as_str().into()),
        to_status: Set(to.as_str().into()),
        ignored: Set(ignored.map(str::to_string)),
        data: Set(h.data.clone()),
        at: Set(h.at),
    };
    let rows = call_events::Entity::insert(entry)
        .on_conflict(OnConflict::column(call_events::Column::EventId).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(rows > 0)
}

/// Writes on `call`'s timeline something that changes no state (a hold,
/// a manager joining).
pub(crate) async fn note<C: ConnectionTrait>(
    db: &C,
    call: &calls::Model,
    source: &'static str,
    kind: &str,
    data: serde_json::Value,
) -> ServiceResult<()> {
    let status = super::status_of(call);
    let h = Happened {
        event: CallEvent::RoomFinished,
        source,
        kind: kind.into(),
        event_id: None,
        data,
        at: crate::now(),
        failure_reason: None,
    };
    record(db, call, &h, status, status, &Applied::Moved { from: status, to: status }).await?;
    Ok(())
}

async fn agent_joined_before<C: ConnectionTrait>(db: &C, call_id: Uuid) -> ServiceResult<bool> {
    Ok(call_events::Entity::find()
        .filter(call_events::Column::CallId.eq(call_id))
        .filter(call_events::Column::Kind.eq("agent_joined"))
        .count(db)
        .await?
        > 0)
}

async fn moved<C: ConnectionTrait>(
    db: &C,
    call: &calls::Model,
    to: CallStatus,
    h: &Happened,
) -> ServiceResult<calls::Model> {
    let mut m: calls::ActiveModel = call.clone().into();
    m.status = Set(to.as_str().into());
    match to {
        CallStatus::Ringing if call.ringing_at.is_none() => m.ringing_at = Set(Some(h.at)),
        CallStatus::Answered | CallStatus::InProgress if call.answered_at.is_none() => {
            m.answered_at = Set(Some(h.at))
        }
        _ => {}
    }
    if to.is_final() {
        m.ended_at = Set(Some(h.at));
        let answered = call.answered_at.or(if to.was_answered() { Some(h.at) } else { None });
        m.talk_ms = Set(answered.map(|a| (h.at - a).num_milliseconds().max(0)));
        if let CallEvent::Hangup { sip_status: Some(s) } | CallEvent::DialFailed { sip_status: Some(s) } =
            h.event
        {
            if !to.was_answered() {
                m.sip_status = Set(Some(s as i32));
            }
        }
        if to == CallStatus::Failed {
            m.failure_reason = Set(h.failure_reason.clone().or_else(|| call.failure_reason.clone()));
        }
    }
    m.updated_at = Set(crate::now());
    let updated = m.update(db).await?;
    // Status, answer, talk time: the dashboard's figures for its day.
    crate::analytics::rollup::touch(db, updated.org_id, updated.created_at).await?;
    Ok(updated)
}
