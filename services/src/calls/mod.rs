//! Phone calls placed through LiveKit: one path to place a call
//! ([`place::place`]), the dial that runs on the job runner, and the
//! lifecycle that LiveKit's webhooks drive ([`webhook`]) through the state
//! machine in `domain::call`.

pub mod control;
pub mod history;
pub mod lifecycle;
pub mod list;
pub mod listen;
pub mod live;
pub mod outcome;
pub mod place;
pub mod recording;
pub mod rep;
pub mod transcript;
pub mod voice;
pub mod webhook;

use domain::call::CallStatus;
use domain::{ErrorCode, Permission};
use entity::{call_events, calls};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::authz::OrgCtx;
use crate::{ServiceError, ServiceResult};

pub use domain::call_views::{Call, CallDetail, CallPage, CallTimelineEntry, CallUpdate, ProspectCall};
pub use place::{PlaceCall, DIAL_JOB};

/// A stored call's state (an unreadable one reads as failed).
pub(crate) fn status_of(r: &calls::Model) -> CallStatus {
    CallStatus::parse(&r.status).unwrap_or(CallStatus::Failed)
}

pub(crate) fn view(r: &calls::Model) -> Call {
    Call {
        id: r.id,
        direction: r.direction.clone(),
        status: status_of(r),
        prospect_id: r.prospect_id,
        campaign_id: r.campaign_id,
        agent_id: r.agent_id,
        trunk_id: r.trunk_id,
        to_number: r.to_number.clone(),
        from_number: r.from_number.clone(),
        sip_status: r.sip_status,
        failure_reason: r.failure_reason.clone(),
        room_name: r.room_name.clone(),
        outcome: r.outcome.as_deref().and_then(domain::copilot::outcome::CallOutcome::parse),
        callback_at: r.callback_at,
        notes: r.notes.clone(),
        prospect_name: None,
        agent_name: None,
        script_id: r.script_id,
        script_version: r.script_version,
        script_name: None,
        variables: r.variables.clone(),
        created_at: r.created_at,
        ringing_at: r.ringing_at,
        answered_at: r.answered_at,
        ended_at: r.ended_at,
        talk_ms: r.talk_ms.or_else(|| talk_ms(r)),
        recording_status: r.recording_status.clone(),
        recording_duration_ms: r.recording_duration_ms,
        rep_id: r.rep_user_id,
    }
}

pub(crate) async fn find<C: sea_orm::ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<calls::Model> {
    calls::Entity::find_by_id(id)
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::NotFound))
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<CallDetail> {
    ctx.require(Permission::UseWorkspace)?;
    let call = find(db, ctx, id).await?;
    let timeline = call_events::Entity::find()
        .filter(call_events::Column::CallId.eq(id))
        .filter(call_events::Column::OrgId.eq(ctx.org_id()))
        // In the order they were recorded (ids are time-ordered UUIDv7):
        // a webhook's own time has only seconds and may trail our requests'.
        .order_by_asc(call_events::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| CallTimelineEntry {
            at: e.at,
            source: e.source,
            kind: e.kind,
            from_status: e.from_status,
            to_status: e.to_status,
            ignored: e.ignored,
            data: e.data,
        })
        .collect();
    let mut named = list::with_names(db, vec![view(&call)]).await?;
    let other_calls = match call.prospect_id {
        Some(p) => {
            let rows = calls::Entity::find()
                .filter(calls::Column::OrgId.eq(ctx.org_id()))
                .filter(calls::Column::ProspectId.eq(p))
                .filter(calls::Column::Id.ne(id))
                .order_by_desc(calls::Column::CreatedAt)
                .limit(20)
                .all(db)
                .await?;
            rows.iter().map(view).collect()
        }
        None => Vec::new(),
    };
    let turns = transcript::turns_of(db, id).await?;
    let collected_data = transcript::stored(&call);
    // A report that no longer reads (an older shape) is left out, not an error.
    let agent_report = call.agent_report.clone().and_then(|v| serde_json::from_value(v).ok());
    Ok(CallDetail { call: named.remove(0), timeline, turns, collected_data, other_calls, agent_report })
}

/// Talk time of an ended call that was answered.
pub(crate) fn talk_ms(r: &calls::Model) -> Option<i64> {
    r.answered_at.zip(r.ended_at).map(|(a, e)| (e - a).num_milliseconds().max(0))
}
