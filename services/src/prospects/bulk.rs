//! Bulk actions on a selection or on every row matching a filter: set
//! status, add/remove a tag, assign an owner, delete (soft, undoable for
//! [`UNDO_SECONDS`], then purged).

use chrono::Duration;
use domain::prospect::{
    BulkAction, BulkResult, Selection, DNC_REASON_DELETED_DNC, DNC_REASON_OPT_OUT, MAX_BULK_IDS, UNDO_SECONDS,
};
use domain::{ErrorCode, Permission};
use entity::{prospect_activities as activities, prospects};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Value,
};
use serde_json::json;
use uuid::Uuid;

use super::{check_owner, filter_condition};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

/// Ids (and current status) of the live prospects a selection designates.
pub(crate) async fn resolve<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    sel: &Selection,
) -> ServiceResult<Vec<(Uuid, String)>> {
    let cond = match sel {
        Selection::Ids { ids } => {
            if ids.len() > MAX_BULK_IDS {
                return Err(
                    ServiceError::field(ErrorCode::OutOfRange, "ids").with_detail(MAX_BULK_IDS.to_string())
                );
            }
            Condition::all()
                .add(prospects::Column::OrgId.eq(ctx.org_id()))
                .add(prospects::Column::DeletedAt.is_null())
                .add(prospects::Column::Id.is_in(ids.clone()))
        }
        Selection::Filter { filter } => filter_condition(db, ctx, filter).await?,
    };
    Ok(prospects::Entity::find()
        .select_only()
        .columns([prospects::Column::Id, prospects::Column::Status])
        .filter(cond)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn apply(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    sel: &Selection,
    action: &BulkAction,
) -> ServiceResult<BulkResult> {
    ctx.require(Permission::UseWorkspace)?;
    if matches!(action, BulkAction::Delete) {
        ctx.require(Permission::DeleteProspects)?;
    }
    let txn = crate::db::begin_write(db).await?;
    crate::db::plan_for_parameters(&txn).await?;
    let targets = resolve(&txn, ctx, sel).await?;
    let at = now();
    let backend = txn.get_database_backend();
    let pg = backend == sea_orm::DbBackend::Postgres;
    let mut undo_token = None;
    let mut affected = 0u64;
    for chunk in targets.chunks(500) {
        let ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
        let in_chunk = || prospects::Column::Id.is_in(ids.clone());
        let mut activity: Vec<(Uuid, &str, serde_json::Value)> = Vec::new();
        match action {
            BulkAction::SetStatus { status } => {
                let changing: Vec<&(Uuid, String)> =
                    chunk.iter().filter(|(_, s)| s.as_str() != status.as_str()).collect();
                if changing.is_empty() {
                    continue;
                }
                let changing_ids: Vec<Uuid> = changing.iter().map(|(id, _)| *id).collect();
                prospects::Entity::update_many()
                    .col_expr(prospects::Column::Status, Expr::value(status.as_str()))
                    .col_expr(prospects::Column::UpdatedAt, Expr::value(at))
                    .filter(prospects::Column::Id.is_in(changing_ids))
                    .exec(&txn)
                    .await?;
                for (id, from) in changing {
                    activity.push((
                        *id,
                        "status_changed",
                        json!({"from": from, "to": status.as_str(), "bulk": true}),
                    ));
                }
                affected += activity.len() as u64;
            }
            BulkAction::AddTag { tag } | BulkAction::RemoveTag { tag } => {
                let tag = domain::prospect::normalize_tag(tag)?;
                let needle = format!("|{tag}|");
                let adding = matches!(action, BulkAction::AddTag { .. });
                let v = |s: &str| Value::String(Some(Box::new(s.to_string())));
                // Tags live in one `|a|b|` column: adding appends, removing
                // cuts the `|t|` out; rows already in the wanted state are left alone.
                let (has, set) = match (pg, adding) {
                    (true, true) => (
                        Expr::cust_with_values("strpos(tags, $1) = 0", [v(&needle)]),
                        Expr::cust_with_values(
                            "CASE WHEN tags = '' THEN $1 ELSE tags || $2 END",
                            [v(&needle), v(&format!("{tag}|"))],
                        ),
                    ),
                    (false, true) => (
                        Expr::cust_with_values("instr(tags, ?) = 0", [v(&needle)]),
                        Expr::cust_with_values(
                            "CASE WHEN tags = '' THEN ? ELSE tags || ? END",
                            [v(&needle), v(&format!("{tag}|"))],
                        ),
                    ),
                    (true, false) => (
                        Expr::cust_with_values("strpos(tags, $1) > 0", [v(&needle)]),
                        Expr::cust_with_values(
                            "CASE WHEN replace(tags, $1, '|') = '|' THEN '' ELSE replace(tags, $1, '|') END",
                            [v(&needle)],
                        ),
                    ),
                    (false, false) => (
                        Expr::cust_with_values("instr(tags, ?) > 0", [v(&needle)]),
                        Expr::cust_with_values(
                            "CASE WHEN replace(tags, ?, '|') = '|' THEN '' ELSE replace(tags, ?, '|') END",
                            [v(&needle), v(&needle)],
                        ),
                    ),
                };
                let res = prospects::Entity::update_many()
                    .col_expr(prospects::Column::Tags, set)
                    .col_expr(prospects::Column::UpdatedAt, Expr::value(at))
                    .filter(in_chunk())
                    .filter(has)
                    .exec(&txn)
                    .await?;
                affected += res.rows_affected;
            }
            BulkAction::AssignOwner { owner_id } => {
                if affected == 0 {
                    check_owner(&txn, ctx, *owner_id).await?;
                }
                let res = prospects::Entity::update_many()
                    .col_expr(prospects::Column::OwnerId, Expr::value(*owner_id))
                    .col_expr(prospects::Column::UpdatedAt, Expr::value(at))
                    .filter(in_chunk())
                    .exec(&txn)
                    .await?;
                for id in &ids {
                    activity.push((*id, "owner_changed", json!({"to": owner_id, "bulk": true})));
                }
                affected += res.rows_affected;
            }
            BulkAction::Delete => {
                let token = *undo_token.get_or_insert_with(new_id);
                let res = prospects::Entity::update_many()
                    .col_expr(prospects::Column::DeletedAt, Expr::value(at))
                    .col_expr(prospects::Column::DeleteBatch, Expr::value(token))
                    .filter(in_chunk())
                    .exec(&txn)
                    .await?;
                affected += res.rows_affected;
            }
        }
        if !activity.is_empty() {
            let mut stmt = Query::insert()
                .into_table(activities::Entity)
                .columns([
                    activities::Column::Id,
                    activities::Column::OrgId,
                    activities::Column::ProspectId,
                    activities::Column::ActorId,
                    activities::Column::ActorApiKeyId,
                    activities::Column::ActorSystem,
                    activities::Column::Kind,
                    activities::Column::Data,
                    activities::Column::CreatedAt,
                ])
                .to_owned();
            for (id, kind, data) in activity {
                stmt.values_panic([
                    new_id().into(),
                    ctx.org_id().into(),
                    id.into(),
                    ctx.user_id().into(),
                    ctx.actor().api_key_id.into(),
                    ctx.actor().system.map(str::to_string).into(),
                    kind.into(),
                    data.into(),
                    at.into(),
                ]);
            }
            txn.execute(backend.build(&stmt)).await?;
        }
    }
    txn.commit().await?;
    Ok(BulkResult { affected, undo_token })
}

/// Restores a bulk delete, within [`UNDO_SECONDS`] of it.
pub async fn undo_delete(db: &DatabaseConnection, ctx: &OrgCtx, token: Uuid) -> ServiceResult<u64> {
    ctx.require(Permission::DeleteProspects)?;
    let cutoff = now() - Duration::seconds(UNDO_SECONDS);
    let res = prospects::Entity::update_many()
        .col_expr(prospects::Column::DeletedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
        .col_expr(prospects::Column::DeleteBatch, Expr::value(Option::<Uuid>::None))
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::DeleteBatch.eq(token))
        .filter(prospects::Column::DeletedAt.gt(cutoff))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::new(ErrorCode::UndoExpired));
    }
    Ok(res.rows_affected)
}

/// Deletes for good what was soft-deleted more than the undo window ago
/// (with a small grace so an undo racing the purge wins). Run periodically.
pub async fn purge_deleted(db: &DatabaseConnection) -> ServiceResult<u64> {
    let cutoff = now() - Duration::seconds(UNDO_SECONDS + 5);
    let due = || prospects::Column::DeletedAt.is_not_null().and(prospects::Column::DeletedAt.lt(cutoff));
    let txn = crate::db::begin_write(db).await?;
    // A restriction outlives the prospect: the number of a deleted prospect
    // flagged do-not-call or opted out goes on the organisation's list, so
    // re-importing it later does not make it callable again.
    let restricted: Vec<(Uuid, String, bool)> = prospects::Entity::find()
        .select_only()
        .columns([prospects::Column::OrgId, prospects::Column::Phone, prospects::Column::OptedOut])
        .filter(due())
        .filter(prospects::Column::Phone.is_not_null())
        .filter(prospects::Column::DoNotCall.eq(true).or(prospects::Column::OptedOut.eq(true)))
        .into_tuple()
        .all(&txn)
        .await?;
    for (org_id, phone, opted_out) in restricted {
        let reason = if opted_out { DNC_REASON_OPT_OUT } else { DNC_REASON_DELETED_DNC };
        super::compliance::list_numbers(&txn, org_id, None, &[phone], reason).await?;
    }
    let res = prospects::Entity::delete_many().filter(due()).exec(&txn).await?;
    txn.commit().await?;
    Ok(res.rows_affected)
}
