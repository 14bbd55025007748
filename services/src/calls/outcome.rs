//! How a phone call ended, logged once — by the voice agent when it hangs
//! up, or by a person on the call page — on the call and, through the rule
//! the copilot uses too (`prospects::outcome`), on its prospect: status,
//! timeline, notes, and a callback date that puts the prospect in the reps'
//! queue.

use domain::call_views::CallDetail;
use domain::copilot::outcome::OutcomeReport;
use domain::{ErrorCode, Permission};
use entity::calls;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::lifecycle::CALLS_TOPIC;
use crate::events::EventBus;
use crate::prospects::outcome::{log, LoggedCall};
use crate::{now, OrgCtx, ServiceError, ServiceResult};

/// Logs `report` on call `id`. Only once the callee was reached or the call
/// ended (an outcome for a call still ringing means nothing yet); a second
/// outcome is refused (`conflict`) and changes nothing.
pub async fn set(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    id: Uuid,
    report: OutcomeReport,
) -> ServiceResult<CallDetail> {
    ctx.require(Permission::UseWorkspace)?;
    let at = now();
    report.validate(at)?;
    let call = super::find(db, ctx, id).await?;
    let status = super::status_of(&call);
    if !(status.is_final() || status.was_answered()) {
        return Err(ServiceError::field(ErrorCode::InvalidTransition, "outcome"));
    }
    let notes = report.notes.trim().to_string();
    let txn = crate::db::begin_write(db).await?;
    // The claim: only one outcome can move it from NULL.
    let claimed = calls::Entity::update_many()
        .col_expr(calls::Column::Outcome, Expr::value(Some(report.outcome.as_str())))
        .col_expr(calls::Column::CallbackAt, Expr::value(report.callback_at))
        .col_expr(calls::Column::Notes, Expr::value(notes))
        .col_expr(calls::Column::UpdatedAt, Expr::value(at))
        .filter(calls::Column::Id.eq(id))
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::Outcome.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Err(ServiceError::field(ErrorCode::Conflict, "outcome"));
    }
    crate::analytics::rollup::touch(&txn, call.org_id, call.created_at).await?;
    if let Some(p) = call.prospect_id {
        match log(&txn, ctx, p, LoggedCall::Call(id), &report, at).await {
            // The prospect was deleted since: the call keeps its outcome.
            Err(e) if e.code == ErrorCode::NotFound => {}
            r => r?,
        }
    }
    txn.commit().await?;
    let detail = super::get(db, ctx, id).await?;
    let update = domain::call_views::CallUpdate { call: detail.call.clone() };
    if let Err(e) = bus.publish(ctx.org_id(), CALLS_TOPIC, &update).await {
        tracing::warn!(call = %id, error = %e, "call update not published");
    }
    Ok(detail)
}
