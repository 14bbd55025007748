//! Phone calls placed through LiveKit: one path to place a call
//! ([`place::place`]), the dial that runs on the job runner, and the
//! lifecycle that LiveKit's webhooks drive ([`webhook`]) through the state
//! machine in `domain::call`.

pub mod control;
pub mod lifecycle;
pub mod place;
pub mod webhook;

use domain::call::CallStatus;
use domain::{ErrorCode, Permission};
use entity::{call_events, calls};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::OrgCtx;
use crate::{ServiceError, ServiceResult};

pub use lifecycle::CallUpdate;
pub use place::{PlaceCall, DIAL_JOB};

/// A call as the API and the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Call {
    pub id: Uuid,
    /// `outbound` or `inbound`.
    pub direction: String,
    #[schema(value_type = String)]
    pub status: CallStatus,
    pub prospect_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub trunk_id: Option<Uuid>,
    pub to_number: String,
    pub from_number: Option<String>,
    /// The final SIP status of a call that was not answered.
    pub sip_status: Option<i32>,
    /// Why it failed, as an error code (never upstream text).
    pub failure_reason: Option<String>,
    pub room_name: String,
    pub outcome: Option<String>,
    /// Template variables the agent speaks with.
    pub variables: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub ringing_at: Option<chrono::DateTime<chrono::Utc>>,
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// From the answer to the end.
    pub talk_ms: Option<i64>,
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallTimelineEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `request` (ours), `webhook` (LiveKit's) or `user`.
    pub source: String,
    pub kind: String,
    pub from_status: String,
    pub to_status: String,
    /// Why the event changed nothing (`already_ended`, `behind`).
    pub ignored: Option<String>,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallDetail {
    pub call: Call,
    pub timeline: Vec<CallTimelineEntry>,
}

pub(crate) fn view(r: &calls::Model) -> Call {
    Call {
        id: r.id,
        direction: r.direction.clone(),
        status: CallStatus::parse(&r.status).unwrap_or(CallStatus::Failed),
        prospect_id: r.prospect_id,
        agent_id: r.agent_id,
        trunk_id: r.trunk_id,
        to_number: r.to_number.clone(),
        from_number: r.from_number.clone(),
        sip_status: r.sip_status,
        failure_reason: r.failure_reason.clone(),
        room_name: r.room_name.clone(),
        outcome: r.outcome.clone(),
        variables: r.variables.clone(),
        created_at: r.created_at,
        ringing_at: r.ringing_at,
        answered_at: r.answered_at,
        ended_at: r.ended_at,
        talk_ms: r.answered_at.zip(r.ended_at).map(|(a, e)| (e - a).num_milliseconds().max(0)),
    }
}

pub(crate) async fn find(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<calls::Model> {
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
    Ok(CallDetail { call: view(&call), timeline })
}

/// The newest calls first (the full list with filters comes with the calls page).
pub async fn recent(db: &DatabaseConnection, ctx: &OrgCtx, limit: u64) -> ServiceResult<Vec<Call>> {
    use sea_orm::QuerySelect;
    ctx.require(Permission::UseWorkspace)?;
    let rows = calls::Entity::find()
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .order_by_desc(calls::Column::CreatedAt)
        .limit(limit.clamp(1, 200))
        .all(db)
        .await?;
    Ok(rows.iter().map(view).collect())
}
