//! Organisations and their members.

use domain::permissions::{check_removal, check_role_change};
use domain::{validation, ErrorCode, Permission, Role};
use entity::{memberships, organizations, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, action};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgSummary {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: chrono::DateTime<chrono::Utc>,
}

fn parse_role(s: &str) -> ServiceResult<Role> {
    Role::parse(s).ok_or_else(|| {
        tracing::error!(role = s, "unknown role in database");
        ServiceError::internal()
    })
}

/// Creates an organisation with the caller as its first Owner.
pub async fn create(db: &DatabaseConnection, user_id: Uuid, name: &str) -> ServiceResult<OrgSummary> {
    let name = validation::normalize_name("name", name)?;
    let txn = crate::db::begin_write(db).await?;
    let slug = unique_slug(&txn, &validation::slugify(&name)).await?;
    let at = now();
    let org = organizations::ActiveModel {
        id: Set(new_id()),
        name: Set(name.clone()),
        slug: Set(slug.clone()),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    insert_membership(&txn, org.id, user_id, Role::Owner).await?;
    audit::record(&txn, org.id, Some(user_id), action::ORG_CREATED, None, json!({ "name": name })).await?;
    crate::users::set_last_org(&txn, user_id, Some(org.id)).await?;
    txn.commit().await?;
    tracing::info!(org = %org.id, "organisation created");
    Ok(OrgSummary { id: org.id, name, slug, role: Role::Owner })
}

async fn unique_slug<C: ConnectionTrait>(db: &C, base: &str) -> ServiceResult<String> {
    let mut candidate = base.to_string();
    for _ in 0..8 {
        let taken = organizations::Entity::find()
            .filter(organizations::Column::Slug.eq(&candidate))
            .count(db)
            .await?
            > 0;
        if !taken {
            return Ok(candidate);
        }
        let suffix = &crate::tokens::random_token()[..6].to_ascii_lowercase();
        candidate = format!("{base}-{suffix}");
    }
    Err(ServiceError::new(ErrorCode::Conflict))
}

pub(crate) async fn insert_membership<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> ServiceResult<()> {
    memberships::Entity::insert(memberships::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org_id),
        user_id: Set(user_id),
        role: Set(role.as_str().to_string()),
        created_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Every organisation the user belongs to, by name.
pub async fn list_for_user<C: ConnectionTrait>(db: &C, user_id: Uuid) -> ServiceResult<Vec<OrgSummary>> {
    Ok(identity_of(db, user_id).await?.1)
}

/// The signed-in user, their organisations (sorted by name) and the
/// [`Memberships`](crate::Memberships) snapshot, in one query: every signed-in
/// page starts with it. `Unauthenticated` when the user no longer exists.
pub async fn identity_of<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> ServiceResult<(users::Model, Vec<OrgSummary>, crate::Memberships)> {
    use sea_orm::{FromQueryResult, Statement};
    let p = if db.get_database_backend() == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
    // Organisation columns are aliased so `u.*` keeps the user's names.
    let sql = format!(
        "SELECT u.*, m.role AS m_role, o.id AS o_id, o.name AS o_name, o.slug AS o_slug \
         FROM users u LEFT JOIN memberships m ON m.user_id = u.id \
         LEFT JOIN organizations o ON o.id = m.org_id WHERE u.id = {p}"
    );
    let rows = db
        .query_all(Statement::from_sql_and_values(db.get_database_backend(), sql, [user_id.into()]))
        .await?;
    let first = rows.first().ok_or_else(|| ServiceError::new(ErrorCode::Unauthenticated))?;
    let user = users::Model::from_query_result(first, "")?;
    let mut orgs = Vec::new();
    for r in &rows {
        let Some(id) = r.try_get::<Option<Uuid>>("", "o_id")? else { continue };
        orgs.push(OrgSummary {
            id,
            name: r.try_get("", "o_name")?,
            slug: r.try_get("", "o_slug")?,
            role: parse_role(&r.try_get::<String>("", "m_role")?)?,
        });
    }
    orgs.sort_by_key(|o| o.name.to_lowercase());
    let roles = orgs.iter().map(|o| (o.id, o.role)).collect();
    Ok((user, orgs, crate::Memberships::new(user_id, roles)))
}

pub async fn get<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<OrgSummary> {
    ctx.require(Permission::ViewOrganization)?;
    let org =
        organizations::Entity::find_by_id(ctx.org_id()).one(db).await?.ok_or_else(ServiceError::not_found)?;
    Ok(OrgSummary { id: org.id, name: org.name, slug: org.slug, role: ctx.role() })
}

pub async fn rename(db: &DatabaseConnection, ctx: &OrgCtx, name: &str) -> ServiceResult<OrgSummary> {
    ctx.require(Permission::RenameOrganization)?;
    let name = validation::normalize_name("name", name)?;
    let txn = crate::db::begin_write(db).await?;
    let org = organizations::Entity::find_by_id(ctx.org_id())
        .one(&txn)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    let old = org.name.clone();
    let mut am = org.into_active_model();
    am.name = Set(name.clone());
    am.updated_at = Set(now());
    let org = am.update(&txn).await?;
    audit::record(&txn, ctx.org_id(), ctx, action::ORG_RENAMED, None, json!({ "from": old, "to": name }))
        .await?;
    txn.commit().await?;
    Ok(OrgSummary { id: org.id, name: org.name, slug: org.slug, role: ctx.role() })
}

pub async fn members<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Vec<Member>> {
    ctx.require(Permission::ViewMembers)?;
    let rows = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(ctx.org_id()))
        .find_also_related(users::Entity)
        .order_by_asc(memberships::Column::CreatedAt)
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(m, u)| u.map(|u| (m, u)))
        .map(|(m, u)| {
            Ok(Member {
                user_id: u.id,
                email: u.email,
                name: u.name,
                role: parse_role(&m.role)?,
                joined_at: m.created_at,
            })
        })
        .collect()
}

/// What the dashboard shows of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub org: OrgSummary,
    pub member_count: u64,
    /// Open invitations; `None` for roles that cannot invite.
    pub pending_invites: Option<u64>,
}

/// The organisation with its member and pending-invitation counts, in one
/// query (it runs on every dashboard view; three queries cost three round
/// trips, each a thread hop with SQLite's driver).
pub async fn overview<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Overview> {
    ctx.require(Permission::ViewOrganization)?;
    let invites = ctx.allows(Permission::InviteMembers);
    let pg = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let (p_org, p_now) = if pg { ("$1", "$2") } else { ("?", "?") };
    let pending = if invites {
        format!(
            "(SELECT count(*) FROM invitations i WHERE i.org_id = o.id AND i.accepted_at IS NULL \
             AND i.revoked_at IS NULL AND i.expires_at > {p_now})"
        )
    } else {
        "NULL".to_string()
    };
    let sql = format!(
        "SELECT o.name, o.slug, (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS members, \
         {pending} AS pending FROM organizations o WHERE o.id = {p_org}"
    );
    // SQLite numbers `?` by position: the subquery's comes first.
    let values: Vec<sea_orm::Value> = match (invites, pg) {
        (false, _) => vec![ctx.org_id().into()],
        (true, true) => vec![ctx.org_id().into(), now().into()],
        (true, false) => vec![now().into(), ctx.org_id().into()],
    };
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .await?
        .ok_or_else(ServiceError::not_found)?;
    let count = |col: &str| -> ServiceResult<Option<u64>> {
        Ok(row.try_get::<Option<i64>>("", col)?.map(|n| n.max(0) as u64))
    };
    Ok(Overview {
        org: OrgSummary {
            id: ctx.org_id(),
            name: row.try_get("", "name")?,
            slug: row.try_get("", "slug")?,
            role: ctx.role(),
        },
        member_count: count("members")?.unwrap_or(0),
        pending_invites: count("pending")?,
    })
}

/// Serialises membership changes within one organisation and re-reads the
/// caller's role under that lock. The write takes the row lock on PostgreSQL
/// and the database write lock on SQLite up front, so concurrent changes
/// queue instead of both reading "two owners left"; re-reading the role stops
/// a request that began before the caller was demoted from acting on the old role.
async fn lock_org<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Role> {
    let touched = organizations::Entity::update_many()
        .col_expr(organizations::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(organizations::Column::Id.eq(ctx.org_id()))
        .exec(db)
        .await?;
    if touched.rows_affected != 1 {
        return Err(ServiceError::not_found());
    }
    match ctx.user_id() {
        Some(user_id) => parse_role(&membership_of(db, ctx.org_id(), user_id).await?.role),
        // A key's grant was read on this request; the system is not a member.
        None => Ok(ctx.role()),
    }
}

async fn owner_count<C: ConnectionTrait>(db: &C, org_id: Uuid) -> ServiceResult<u64> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org_id))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?)
}

async fn membership_of<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    user_id: Uuid,
) -> ServiceResult<memberships::Model> {
    memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

pub async fn change_role(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    target_user: Uuid,
    new_role: Role,
) -> ServiceResult<Member> {
    ctx.require(Permission::ManageMemberRoles)?;
    let txn = crate::db::begin_write(db).await?;
    let actor = lock_org(&txn, ctx).await?;
    let membership = membership_of(&txn, ctx.org_id(), target_user).await?;
    let current = parse_role(&membership.role)?;
    // The grant as well as the role: an API key holds less than its ceiling.
    if current == Role::Owner || new_role == Role::Owner {
        ctx.require(Permission::ManageOwners)?;
    }
    let owners = owner_count(&txn, ctx.org_id()).await?;
    check_role_change(actor, current, new_role, owners).map_err(ServiceError::new)?;
    if current != new_role {
        let mut am = membership.clone().into_active_model();
        am.role = Set(new_role.as_str().to_string());
        am.update(&txn).await?;
        audit::record(
            &txn,
            ctx.org_id(),
            ctx,
            action::ROLE_CHANGED,
            Some(target_user),
            json!({ "from": current.as_str(), "to": new_role.as_str() }),
        )
        .await?;
    }
    txn.commit().await?;
    if current != new_role {
        // A lower role may no longer cover what an open stream was opened for.
        crate::authz::access_changed();
    }
    let user = crate::users::find(db, target_user).await?;
    Ok(Member {
        user_id: user.id,
        email: user.email,
        name: user.name,
        role: new_role,
        joined_at: membership.created_at,
    })
}

/// Removes `target_user` (or leaves, when it is the caller).
pub async fn remove_member(db: &DatabaseConnection, ctx: &OrgCtx, target_user: Uuid) -> ServiceResult<()> {
    let is_self = ctx.is_user(Some(target_user));
    // Before any lookup: who is a member is not for those who may not remove.
    if !is_self {
        ctx.require(Permission::RemoveMembers)?;
    }
    let txn = crate::db::begin_write(db).await?;
    let actor = lock_org(&txn, ctx).await?;
    let membership = membership_of(&txn, ctx.org_id(), target_user).await?;
    let target_role = parse_role(&membership.role)?;
    // The grant as well as the role: an API key holds less than its ceiling.
    if !is_self && target_role == Role::Owner {
        ctx.require(Permission::ManageOwners)?;
    }
    let owners = owner_count(&txn, ctx.org_id()).await?;
    check_removal(actor, target_role, is_self, owners).map_err(ServiceError::new)?;
    memberships::Entity::delete_by_id(membership.id).exec(&txn).await?;
    audit::record(
        &txn,
        ctx.org_id(),
        ctx,
        if is_self { action::MEMBER_LEFT } else { action::MEMBER_REMOVED },
        Some(target_user),
        json!({ "role": target_role.as_str() }),
    )
    .await?;
    // Forget the org as "last used" for the removed user.
    let user = crate::users::find(&txn, target_user).await?;
    if user.last_org_id == Some(ctx.org_id()) {
        crate::users::set_last_org(&txn, target_user, None).await?;
    }
    txn.commit().await?;
    // The removed member's open streams end now, not at their next check.
    crate::authz::access_changed();
    Ok(())
}
