//! Custom field definitions: typed keys an organisation adds to its
//! prospects (`industry: enum`, `seats: number`).

use domain::prospect::{CustomField, CustomFieldDef, MAX_CUSTOM_FIELDS};
use domain::{ErrorCode, Permission};
use entity::custom_field_defs as defs_t;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

fn to_field(m: defs_t::Model) -> Option<CustomField> {
    let kind = serde_json::from_value(m.kind.clone())
        .map_err(|e| tracing::error!(field = %m.id, error = %e, "stored custom field kind does not decode"))
        .ok()?;
    Some(CustomField { id: m.id, def: CustomFieldDef { key: m.key, label: m.label, kind } })
}

pub(crate) async fn defs<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Vec<CustomFieldDef>> {
    Ok(list_in(db, ctx).await?.into_iter().map(|f| f.def).collect())
}

async fn list_in<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Vec<CustomField>> {
    let rows = defs_t::Entity::find()
        .filter(defs_t::Column::OrgId.eq(ctx.org_id()))
        .order_by_asc(defs_t::Column::CreatedAt)
        .order_by_asc(defs_t::Column::Key)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(to_field).collect())
}

pub async fn list(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<CustomField>> {
    ctx.require(Permission::UseWorkspace)?;
    list_in(db, ctx).await
}

/// Adds a definition (admins, or any member through an import that creates fields).
pub(crate) async fn create_in<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    def: CustomFieldDef,
) -> ServiceResult<CustomField> {
    let def = def.validate()?;
    let existing = defs_t::Entity::find().filter(defs_t::Column::OrgId.eq(ctx.org_id())).count(db).await?;
    if existing as usize >= MAX_CUSTOM_FIELDS {
        return Err(ServiceError::new(ErrorCode::TooManyFields).with_detail(MAX_CUSTOM_FIELDS.to_string()));
    }
    let taken = defs_t::Entity::find()
        .filter(defs_t::Column::OrgId.eq(ctx.org_id()))
        .filter(defs_t::Column::Key.eq(def.key.clone()))
        .count(db)
        .await?;
    if taken > 0 {
        return Err(ServiceError::field(ErrorCode::DuplicateFieldName, "key").with_detail(def.key.clone()));
    }
    let m = defs_t::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        key: Set(def.key.clone()),
        label: Set(def.label.clone()),
        kind: Set(serde_json::to_value(&def.kind).map_err(|_| ServiceError::internal())?),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(CustomField { id: m.id, def })
}

pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    def: CustomFieldDef,
) -> ServiceResult<CustomField> {
    ctx.require(Permission::ManageSettings)?;
    create_in(db, ctx, def).await
}

/// Removes a definition. Values already stored stay in the prospects' data
/// (and in exports) until overwritten; they are no longer shown or filterable.
pub async fn delete(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::ManageSettings)?;
    let res = defs_t::Entity::delete_many()
        .filter(defs_t::Column::OrgId.eq(ctx.org_id()))
        .filter(defs_t::Column::Id.eq(id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::not_found());
    }
    Ok(())
}
