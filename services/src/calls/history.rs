//! A prospect's calls, whoever made them: phone calls placed through
//! LiveKit (AI agents) and reps' copilot calls, newest first, in one list.

use domain::call_views::ProspectCall;
use domain::copilot::outcome::CallOutcome;
use domain::Permission;
use entity::copilot_sessions as sessions;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::{OrgCtx, ServiceResult};

/// How many of each kind are read (the page shows the latest).
const EACH: u64 = 100;

pub async fn of_prospect(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
) -> ServiceResult<Vec<ProspectCall>> {
    ctx.require(Permission::UseWorkspace)?;
    // Another organisation's prospect (or none) is not found, not empty.
    crate::prospects::find(db, ctx, prospect_id).await?;
    let phone = super::list::of_prospect(db, ctx, prospect_id, EACH).await?;
    let rep_calls = sessions::Entity::find()
        .filter(sessions::Column::OrgId.eq(ctx.org_id()))
        .filter(sessions::Column::ProspectId.eq(prospect_id))
        .order_by_desc(sessions::Column::StartedAt)
        .limit(EACH)
        .all(db)
        .await?;
    let users: Vec<Uuid> = rep_calls.iter().filter_map(|s| s.user_id).collect();
    let names = crate::prospects::user_names(db, &users).await?;
    let mut all: Vec<ProspectCall> = phone
        .into_iter()
        .map(|c| ProspectCall {
            kind: "phone".into(),
            id: c.id,
            at: c.created_at,
            status: Some(c.status),
            outcome: c.outcome,
            callback_at: c.callback_at,
            by: c.agent_name,
            talk_ms: c.talk_ms,
            notes: c.notes,
        })
        .collect();
    all.extend(rep_calls.into_iter().map(|s| ProspectCall {
        kind: "copilot".into(),
        id: s.id,
        at: s.started_at,
        status: None,
        outcome: s.outcome.as_deref().and_then(CallOutcome::parse),
        callback_at: s.callback_at,
        by: s.user_id.and_then(|u| names.get(&u).cloned()),
        talk_ms: s.ended_at.map(|e| (e - s.started_at).num_milliseconds().max(0)),
        notes: s.notes,
    }));
    all.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    Ok(all)
}
