//! Agents and agent folders, organisation-scoped. Settings are validated by
//! `domain::agent` (the same rules the form runs in the browser); edits are
//! optimistic: each names the version it started from, so two admins
//! editing the same agent cannot silently overwrite each other.

use domain::agent::AgentSettings;
use domain::{validation, ErrorCode, Permission};
use entity::{agent_folders as folders, agents};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

pub use domain::views::{Agent, AgentFilter, AgentSummary, Folder, FolderFilter};

use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_AGENTS_PER_ORG: u64 = 1000;
pub const MAX_FOLDERS_PER_ORG: u64 = 200;

pub(crate) fn settings_of(m: &agents::Model) -> ServiceResult<AgentSettings> {
    serde_json::from_value(m.settings.clone()).map_err(|e| {
        tracing::error!(agent = %m.id, error = %e, "stored agent settings do not decode");
        ServiceError::internal()
    })
}

fn to_agent(m: agents::Model) -> ServiceResult<Agent> {
    Ok(Agent {
        settings: settings_of(&m)?,
        id: m.id,
        folder_id: m.folder_id,
        active: m.active,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn to_summary(m: &agents::Model) -> ServiceResult<AgentSummary> {
    let s = settings_of(m)?;
    Ok(AgentSummary {
        id: m.id,
        name: m.name.clone(),
        kind: s.kind,
        active: m.active,
        folder_id: m.folder_id,
        description: s.description,
        language: s.language,
        llm_provider: s.llm.provider,
        llm_model: s.llm.model,
        updated_at: m.updated_at,
    })
}

// ---- folders ---------------------------------------------------------------

pub async fn list_folders(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<Folder>> {
    ctx.require(Permission::UseWorkspace)?;
    let rows = folders::Entity::find()
        .filter(folders::Column::OrgId.eq(ctx.org_id()))
        .order_by_asc(folders::Column::Name)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for f in rows {
        let agent_count = agents::Entity::find()
            .filter(agents::Column::OrgId.eq(ctx.org_id()))
            .filter(agents::Column::FolderId.eq(f.id))
            .count(db)
            .await?;
        out.push(Folder { id: f.id, name: f.name, agent_count });
    }
    Ok(out)
}

async fn folder_in_org<C: ConnectionTrait>(db: &C, ctx: &OrgCtx, id: Uuid) -> ServiceResult<folders::Model> {
    folders::Entity::find_by_id(id)
        .filter(folders::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "folder"))
}

async fn folder_name_taken<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    name: &str,
    except: Option<Uuid>,
) -> ServiceResult<bool> {
    let mut q = folders::Entity::find()
        .filter(folders::Column::OrgId.eq(ctx.org_id()))
        .filter(Expr::expr(Func::lower(Expr::col(folders::Column::Name))).eq(name.to_lowercase()));
    if let Some(id) = except {
        q = q.filter(folders::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

pub async fn create_folder(db: &DatabaseConnection, ctx: &OrgCtx, name: &str) -> ServiceResult<Folder> {
    ctx.require(Permission::ManageAgents)?;
    let name = validation::normalize_name("name", name)?;
    let txn = crate::db::begin_write(db).await?;
    if folder_name_taken(&txn, ctx, &name, None).await? {
        return Err(ServiceError::field(ErrorCode::Conflict, "name"));
    }
    let count = folders::Entity::find().filter(folders::Column::OrgId.eq(ctx.org_id())).count(&txn).await?;
    if count >= MAX_FOLDERS_PER_ORG {
        return Err(ServiceError::new(ErrorCode::OutOfRange).with_detail(MAX_FOLDERS_PER_ORG.to_string()));
    }
    let f = folders::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        name: Set(name),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Folder { id: f.id, name: f.name, agent_count: 0 })
}

pub async fn rename_folder(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid, name: &str) -> ServiceResult<()> {
    ctx.require(Permission::ManageAgents)?;
    let name = validation::normalize_name("name", name)?;
    let txn = crate::db::begin_write(db).await?;
    let f = folder_in_org(&txn, ctx, id).await?;
    if folder_name_taken(&txn, ctx, &name, Some(id)).await? {
        return Err(ServiceError::field(ErrorCode::Conflict, "name"));
    }
    let mut m: folders::ActiveModel = f.into();
    m.name = Set(name);
    m.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes a folder; its agents move to the root (never deleted with it).
/// Returns how many agents moved.
pub async fn delete_folder(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<u64> {
    ctx.require(Permission::ManageAgents)?;
    let txn = crate::db::begin_write(db).await?;
    folder_in_org(&txn, ctx, id).await?;
    let moved = agents::Entity::update_many()
        .col_expr(agents::Column::FolderId, Expr::value(Option::<Uuid>::None))
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .filter(agents::Column::FolderId.eq(id))
        .exec(&txn)
        .await?
        .rows_affected;
    folders::Entity::delete_by_id(id).filter(folders::Column::OrgId.eq(ctx.org_id())).exec(&txn).await?;
    txn.commit().await?;
    Ok(moved)
}

// ---- agents ----------------------------------------------------------------

pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    filter: &AgentFilter,
) -> ServiceResult<Vec<AgentSummary>> {
    ctx.require(Permission::UseWorkspace)?;
    let mut cond = Condition::all().add(agents::Column::OrgId.eq(ctx.org_id()));
    let search = filter.search.trim().to_lowercase();
    if !search.is_empty() {
        // LIKE wildcards in the search are literal characters.
        let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        cond = cond.add(
            Expr::expr(Func::lower(Expr::col(agents::Column::Name)))
                .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(kind) = filter.kind {
        cond = cond.add(agents::Column::Kind.eq(kind.as_str()));
    }
    if let Some(active) = filter.active {
        cond = cond.add(agents::Column::Active.eq(active));
    }
    cond = match filter.folder {
        FolderFilter::Any => cond,
        FolderFilter::Root => cond.add(agents::Column::FolderId.is_null()),
        FolderFilter::Folder(id) => cond.add(agents::Column::FolderId.eq(id)),
    };
    let rows = agents::Entity::find()
        .filter(cond)
        .order_by_asc(agents::Column::Name)
        .order_by_asc(agents::Column::Id)
        .all(db)
        .await?;
    rows.iter().map(to_summary).collect()
}

async fn agent_row<C: ConnectionTrait>(db: &C, ctx: &OrgCtx, id: Uuid) -> ServiceResult<agents::Model> {
    agents::Entity::find_by_id(id)
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Agent> {
    ctx.require(Permission::UseWorkspace)?;
    to_agent(agent_row(db, ctx, id).await?)
}

fn settings_json(s: &AgentSettings) -> ServiceResult<serde_json::Value> {
    serde_json::to_value(s).map_err(|e| {
        tracing::error!(error = %e, "agent settings do not encode");
        ServiceError::internal()
    })
}

pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    folder_id: Option<Uuid>,
    settings: AgentSettings,
) -> ServiceResult<Agent> {
    insert(db, ctx, folder_id, settings, true).await
}

async fn insert(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    folder_id: Option<Uuid>,
    settings: AgentSettings,
    active: bool,
) -> ServiceResult<Agent> {
    ctx.require(Permission::ManageAgents)?;
    let settings = settings.validate()?;
    let txn = crate::db::begin_write(db).await?;
    if let Some(f) = folder_id {
        folder_in_org(&txn, ctx, f).await?;
    }
    let count = agents::Entity::find().filter(agents::Column::OrgId.eq(ctx.org_id())).count(&txn).await?;
    if count >= MAX_AGENTS_PER_ORG {
        return Err(ServiceError::new(ErrorCode::OutOfRange).with_detail(MAX_AGENTS_PER_ORG.to_string()));
    }
    let at = now();
    let m = agents::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        folder_id: Set(folder_id),
        name: Set(settings.name.clone()),
        kind: Set(settings.kind.as_str().to_string()),
        active: Set(active),
        settings: Set(settings_json(&settings)?),
        version: Set(1),
        created_by: Set(ctx.user_id()),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(org = %ctx.org_id(), agent = %m.id, "agent created");
    to_agent(m)
}

/// Replaces the settings if the agent is still at `expected_version`;
/// otherwise `Conflict` (someone else saved in between).
pub async fn update(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    expected_version: i32,
    settings: AgentSettings,
) -> ServiceResult<Agent> {
    ctx.require(Permission::ManageAgents)?;
    let settings = settings.validate()?;
    let at = now();
    // One conditional UPDATE: the version check and the write are atomic on
    // both databases, without holding a transaction across the validation.
    let res = agents::Entity::update_many()
        .col_expr(agents::Column::Name, Expr::value(settings.name.clone()))
        .col_expr(agents::Column::Kind, Expr::value(settings.kind.as_str()))
        .col_expr(agents::Column::Settings, Expr::value(settings_json(&settings)?))
        .col_expr(agents::Column::Version, Expr::value(expected_version + 1))
        .col_expr(agents::Column::UpdatedAt, Expr::value(at))
        .filter(agents::Column::Id.eq(id))
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .filter(agents::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        // Missing (or another tenant's) → not found; present → stale version.
        agent_row(db, ctx, id).await?;
        return Err(ServiceError::new(ErrorCode::Conflict).with_detail("version"));
    }
    to_agent(agent_row(db, ctx, id).await?)
}

pub async fn set_active(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid, active: bool) -> ServiceResult<()> {
    ctx.require(Permission::ManageAgents)?;
    let res = agents::Entity::update_many()
        .col_expr(agents::Column::Active, Expr::value(active))
        .col_expr(agents::Column::UpdatedAt, Expr::value(now()))
        .filter(agents::Column::Id.eq(id))
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::not_found());
    }
    Ok(())
}

pub async fn move_to_folder(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    folder_id: Option<Uuid>,
) -> ServiceResult<()> {
    ctx.require(Permission::ManageAgents)?;
    let txn = crate::db::begin_write(db).await?;
    if let Some(f) = folder_id {
        folder_in_org(&txn, ctx, f).await?;
    }
    let res = agents::Entity::update_many()
        .col_expr(agents::Column::FolderId, Expr::value(folder_id))
        .filter(agents::Column::Id.eq(id))
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::not_found());
    }
    txn.commit().await?;
    Ok(())
}

/// Copies an agent into the same folder as "<name> (copy)", inactive so it
/// cannot be dispatched before someone has looked at it.
pub async fn duplicate(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Agent> {
    ctx.require(Permission::ManageAgents)?;
    let source = agent_row(db, ctx, id).await?;
    let mut settings = settings_of(&source)?;
    let suffix = " (copy)";
    let base: String = settings.name.chars().take(validation::NAME_MAX_CHARS - suffix.len()).collect();
    settings.name = format!("{base}{suffix}");
    insert(db, ctx, source.folder_id, settings, false).await
}

pub async fn delete(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::ManageAgents)?;
    let res = agents::Entity::delete_many()
        .filter(agents::Column::Id.eq(id))
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::not_found());
    }
    tracing::info!(org = %ctx.org_id(), agent = %id, "agent deleted");
    Ok(())
}

/// For dispatch (playground now, calls later): the agent, refused when inactive.
pub async fn get_dispatchable(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Agent> {
    let agent = get(db, ctx, id).await?;
    if !agent.active {
        return Err(ServiceError::new(ErrorCode::AgentInactive));
    }
    Ok(agent)
}
