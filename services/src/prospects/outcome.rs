//! The one rule that logs how a call ended on its prospect — whoever made
//! the call (a rep in the copilot, an AI agent over the phone): the status
//! moves as the outcome says (`CallOutcome::next_status`), the call goes on
//! the prospect's timeline with its callback date, and the notes become a
//! note. Runs inside the caller's transaction, so the call's own record and
//! the prospect change together or not at all.

use chrono::{DateTime, Utc};
use domain::copilot::outcome::OutcomeReport;
use entity::{prospect_notes, prospects};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::{find, status_of, timeline};
use crate::{new_id, OrgCtx, ServiceResult};

/// Which call the outcome belongs to, as the timeline names it.
#[derive(Debug, Clone, Copy)]
pub enum LoggedCall {
    /// A copilot session (a rep's call).
    Session(Uuid),
    /// A phone call placed through LiveKit (an AI agent's, or a rep's).
    Call(Uuid),
}

/// Logs `report` (already validated) on `prospect_id` at `at`.
pub async fn log<C: ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    call: LoggedCall,
    report: &OutcomeReport,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let p = find(txn, ctx, prospect_id).await?;
    let from = status_of(&p);
    let to = report.outcome.next_status(from);
    if to != from {
        prospects::Entity::update_many()
            .col_expr(prospects::Column::Status, Expr::value(to.as_str()))
            .col_expr(prospects::Column::UpdatedAt, Expr::value(at))
            .filter(prospects::Column::Id.eq(p.id))
            .filter(prospects::Column::OrgId.eq(ctx.org_id()))
            .exec(txn)
            .await?;
        timeline::record(txn, ctx, p.id, "status_changed", json!({"from": from.as_str(), "to": to.as_str()}))
            .await?;
    }
    let mut data = json!({"outcome": report.outcome.as_str(), "callback_at": report.callback_at});
    match call {
        LoggedCall::Session(id) => data["session_id"] = json!(id),
        LoggedCall::Call(id) => data["call_id"] = json!(id),
    }
    timeline::record(txn, ctx, p.id, "call_logged", data).await?;
    let notes = report.notes.trim();
    if !notes.is_empty() {
        prospect_notes::ActiveModel {
            id: Set(new_id()),
            org_id: Set(ctx.org_id()),
            prospect_id: Set(p.id),
            author_id: Set(ctx.user_id()),
            actor_api_key_id: Set(ctx.actor().api_key_id),
            actor_system: Set(ctx.actor().system.map(str::to_string)),
            body: Set(notes.chars().take(domain::prospect::MAX_NOTE_CHARS).collect()),
            created_at: Set(at),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}
