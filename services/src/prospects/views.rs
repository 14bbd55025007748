//! Saved list views: a named filter + sort + columns, per user.

use domain::prospect::{SavedView, SavedViewInput};
use domain::{ErrorCode, Permission};
use entity::saved_views as views_t;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_VIEWS: u64 = 50;

fn to_view(m: views_t::Model) -> SavedView {
    SavedView {
        id: m.id,
        name: m.name,
        query: serde_json::from_value(m.query).unwrap_or_default(),
        columns: serde_json::from_value(m.columns).unwrap_or_default(),
    }
}

pub async fn list(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<SavedView>> {
    ctx.require(Permission::UseWorkspace)?;
    let me = ctx.person()?;
    let rows = views_t::Entity::find()
        .filter(views_t::Column::OrgId.eq(ctx.org_id()))
        .filter(views_t::Column::UserId.eq(me))
        .order_by_asc(views_t::Column::Name)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_view).collect())
}

/// One of the caller's own views.
pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<SavedView> {
    ctx.require(Permission::UseWorkspace)?;
    let me = ctx.person()?;
    views_t::Entity::find_by_id(id)
        .filter(views_t::Column::OrgId.eq(ctx.org_id()))
        .filter(views_t::Column::UserId.eq(me))
        .one(db)
        .await?
        .map(to_view)
        .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "view_id"))
}

/// Saves a view; saving under an existing name replaces that view.
pub async fn save(db: &DatabaseConnection, ctx: &OrgCtx, input: SavedViewInput) -> ServiceResult<SavedView> {
    ctx.require(Permission::UseWorkspace)?;
    let me = ctx.person()?;
    let input = input.validate()?;
    let mine = views_t::Entity::find()
        .filter(views_t::Column::OrgId.eq(ctx.org_id()))
        .filter(views_t::Column::UserId.eq(me));
    let query = serde_json::to_value(&input.query).map_err(|_| ServiceError::internal())?;
    let columns = serde_json::to_value(&input.columns).map_err(|_| ServiceError::internal())?;
    if let Some(existing) = mine.clone().filter(views_t::Column::Name.eq(input.name.clone())).one(db).await? {
        let mut m: views_t::ActiveModel = existing.into();
        m.query = Set(query);
        m.columns = Set(columns);
        return Ok(to_view(m.update(db).await?));
    }
    if mine.count(db).await? >= MAX_VIEWS {
        return Err(ServiceError::new(ErrorCode::OutOfRange).with_detail(MAX_VIEWS.to_string()));
    }
    let m = views_t::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        user_id: Set(me),
        name: Set(input.name),
        query: Set(query),
        columns: Set(columns),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(to_view(m))
}

pub async fn delete(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::UseWorkspace)?;
    let me = ctx.person()?;
    let res = views_t::Entity::delete_many()
        .filter(views_t::Column::Id.eq(id))
        .filter(views_t::Column::OrgId.eq(ctx.org_id()))
        .filter(views_t::Column::UserId.eq(me))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::not_found());
    }
    Ok(())
}
