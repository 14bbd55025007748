//! The managers' live board: every call still under way — who is on it (a
//! rep, or an AI agent), the prospect, how long it has lasted, and, when a
//! copilot session follows it, the script phase it is in and the last
//! objection raised. The page refreshes it on each call update (the calls
//! event stream) and ticks durations itself.

use std::collections::HashMap;

use domain::call::CallStatus;
use domain::call_views::LiveCall;
use domain::copilot::objection::ObjectionKind;
use domain::copilot::script::Phase;
use domain::copilot::views::CopilotEvent;
use domain::Permission;
use entity::{calls, copilot_events, copilot_sessions, users};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::authz::OrgCtx;
use crate::ServiceResult;

/// The most calls the board shows (oldest first: the longest calls on top).
pub const BOARD_MAX: u64 = 500;

pub async fn board(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<LiveCall>> {
    ctx.require(Permission::ListenToCalls)?;
    let rows = calls::Entity::find()
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::Status.is_in(CallStatus::LIVE.iter().map(|s| s.as_str())))
        .order_by_asc(calls::Column::CreatedAt)
        .limit(BOARD_MAX)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut reps: Vec<Uuid> = rows.iter().filter_map(|c| c.rep_user_id).collect();
    reps.sort();
    reps.dedup();
    let names: HashMap<Uuid, String> = if reps.is_empty() {
        HashMap::new()
    } else {
        users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Name)
            .filter(users::Column::Id.is_in(reps))
            .into_tuple::<(Uuid, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let sessions: Vec<copilot_sessions::Model> = if ids.is_empty() {
        Vec::new()
    } else {
        copilot_sessions::Entity::find()
            .filter(copilot_sessions::Column::OrgId.eq(ctx.org_id()))
            .filter(copilot_sessions::Column::CallId.is_in(ids.clone()))
            .all(db)
            .await?
    };
    let last = last_objections(db, sessions.iter().map(|s| s.id).collect()).await?;
    let by_call: HashMap<Uuid, &copilot_sessions::Model> =
        sessions.iter().filter_map(|s| s.call_id.map(|c| (c, s))).collect();
    let named = super::list::with_names(db, rows.iter().map(super::view).collect()).await?;
    Ok(rows
        .iter()
        .zip(named)
        .map(|(row, call)| {
            let session = by_call.get(&row.id);
            LiveCall {
                call,
                rep_id: row.rep_user_id,
                rep_name: row.rep_user_id.and_then(|u| names.get(&u).cloned()),
                session_id: session.map(|s| s.id),
                phase: session.and_then(|s| Phase::parse(&s.phase).ok()),
                last_objection: session.and_then(|s| last.get(&s.id).copied()),
            }
        })
        .collect())
}

/// The latest objection raised in each of `sessions`.
async fn last_objections(
    db: &DatabaseConnection,
    sessions: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, ObjectionKind>> {
    let mut out = HashMap::new();
    if sessions.is_empty() {
        return Ok(out);
    }
    // Newest first; the first seen per session is its last.
    let rows = copilot_events::Entity::find()
        .filter(copilot_events::Column::SessionId.is_in(sessions))
        .filter(copilot_events::Column::Kind.eq("objection"))
        .order_by_desc(copilot_events::Column::Seq)
        .all(db)
        .await?;
    for r in rows {
        if out.contains_key(&r.session_id) {
            continue;
        }
        if let Ok(CopilotEvent::Objection { detection, .. }) = serde_json::from_value(r.data) {
            out.insert(r.session_id, detection.kind);
        }
    }
    Ok(out)
}
