//! Call scripts: list, read, create, edit with optimistic concurrency and a
//! version history, archive; every organisation starts with the default
//! script in English and French ([`ensure_defaults`]).

use std::collections::HashMap;

use domain::copilot::outcome::CallOutcome;
use domain::copilot::script::ScriptContent;
use domain::copilot::views::{AiGeneration, ScriptDetail, ScriptInput, ScriptSummary, ScriptVersionInfo};
use domain::template::{fill, RenderContext};
use domain::{validation, ErrorCode, Locale, Permission};
use entity::{calls, copilot_sessions, script_versions, scripts};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::defaults::{self, seeded_id};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub(crate) fn default_script_id(org: Uuid, lang: Locale) -> Uuid {
    seeded_id(org, &format!("script/default/{}", lang.as_str()))
}

/// Seeds the default scripts once per organisation. Idempotent and safe
/// under concurrency: the ids are derived from the organisation and inserts
/// that meet an existing row do nothing.
pub async fn ensure_defaults<C: ConnectionTrait>(db: &C, org_id: Uuid) -> ServiceResult<()> {
    let first = default_script_id(org_id, Locale::En);
    if scripts::Entity::find_by_id(first).one(db).await?.is_some() {
        return Ok(());
    }
    let at = now();
    for lang in Locale::ALL {
        let id = default_script_id(org_id, lang);
        let content = serde_json::to_value(defaults::script(lang)).map_err(|_| ServiceError::internal())?;
        let row = scripts::ActiveModel {
            id: Set(id),
            org_id: Set(org_id),
            name: Set(defaults::script_name(lang).to_string()),
            language: Set(lang.as_str().to_string()),
            description: Set(String::new()),
            content: Set(content.clone()),
            version: Set(1),
            is_default: Set(true),
            source: Set("seeded".into()),
            ai_model: Set(None),
            ai_context: Set(None),
            ai_generation_ms: Set(None),
            created_by: Set(None),
            updated_by: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            archived_at: Set(None),
        };
        scripts::Entity::insert(row)
            .on_conflict(OnConflict::column(scripts::Column::Id).do_nothing().to_owned())
            .do_nothing()
            .exec(db)
            .await?;
        let version = script_versions::ActiveModel {
            id: Set(seeded_id(org_id, &format!("script/default/{}/v1", lang.as_str()))),
            org_id: Set(org_id),
            script_id: Set(id),
            version: Set(1),
            name: Set(defaults::script_name(lang).to_string()),
            content: Set(content),
            edited_by: Set(None),
            created_at: Set(at),
        };
        script_versions::Entity::insert(version)
            .on_conflict(OnConflict::column(script_versions::Column::Id).do_nothing().to_owned())
            .do_nothing()
            .exec(db)
            .await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct OutcomeCount {
    script_id: Option<Uuid>,
    outcome: Option<String>,
    n: i64,
}

/// Effectiveness per script: average outcome score of the calls that
/// followed it and had an outcome logged — reps' copilot calls and AI
/// calls alike — and how many.
async fn effectiveness<C: ConnectionTrait>(db: &C, org_id: Uuid) -> ServiceResult<HashMap<Uuid, (u8, u64)>> {
    let mut rows = copilot_sessions::Entity::find()
        .select_only()
        .column(copilot_sessions::Column::ScriptId)
        .column(copilot_sessions::Column::Outcome)
        .column_as(Expr::col(copilot_sessions::Column::Id).count(), "n")
        .filter(copilot_sessions::Column::OrgId.eq(org_id))
        .filter(copilot_sessions::Column::Outcome.is_not_null())
        .group_by(copilot_sessions::Column::ScriptId)
        .group_by(copilot_sessions::Column::Outcome)
        .into_model::<OutcomeCount>()
        .all(db)
        .await?;
    rows.extend(
        calls::Entity::find()
            .select_only()
            .column(calls::Column::ScriptId)
            .column(calls::Column::Outcome)
            .column_as(Expr::col(calls::Column::Id).count(), "n")
            .filter(calls::Column::OrgId.eq(org_id))
            .filter(calls::Column::ScriptId.is_not_null())
            .filter(calls::Column::Outcome.is_not_null())
            .group_by(calls::Column::ScriptId)
            .group_by(calls::Column::Outcome)
            .into_model::<OutcomeCount>()
            .all(db)
            .await?,
    );
    let mut acc: HashMap<Uuid, (u64, u64)> = HashMap::new();
    for r in rows {
        let (Some(id), Some(outcome)) = (r.script_id, r.outcome.as_deref().and_then(CallOutcome::parse))
        else {
            continue;
        };
        let e = acc.entry(id).or_default();
        e.0 += u64::from(outcome.score()) * r.n as u64;
        e.1 += r.n as u64;
    }
    Ok(acc.into_iter().map(|(id, (sum, n))| (id, ((sum / n.max(1)) as u8, n))).collect())
}

fn parse_content(row: &scripts::Model) -> ServiceResult<ScriptContent> {
    serde_json::from_value(row.content.clone()).map_err(|e| {
        tracing::error!(script = %row.id, error = %e, "stored script content does not parse");
        ServiceError::internal()
    })
}

fn summary(row: &scripts::Model, eff: &HashMap<Uuid, (u8, u64)>) -> ServiceResult<ScriptSummary> {
    let (score, calls) = eff.get(&row.id).copied().map_or((None, 0), |(s, n)| (Some(s), n));
    Ok(ScriptSummary {
        id: row.id,
        name: row.name.clone(),
        language: Locale::parse(&row.language).unwrap_or_default(),
        version: row.version,
        is_default: row.is_default,
        source: row.source.clone(),
        updated_at: row.updated_at,
        effectiveness: score,
        calls,
    })
}

fn detail(row: &scripts::Model, eff: &HashMap<Uuid, (u8, u64)>) -> ServiceResult<ScriptDetail> {
    let ai = match (&row.ai_model, &row.ai_context, row.ai_generation_ms) {
        (Some(model), Some(context), Some(ms)) => {
            Some(AiGeneration { model: model.clone(), context: context.clone(), generation_ms: ms })
        }
        _ => None,
    };
    Ok(ScriptDetail {
        summary: summary(row, eff)?,
        description: row.description.clone(),
        content: parse_content(row)?,
        ai,
    })
}

/// Active scripts, defaults first, then by name.
pub async fn list(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<ScriptSummary>> {
    ctx.require(Permission::UseWorkspace)?;
    ensure_defaults(db, ctx.org_id()).await?;
    let rows = scripts::Entity::find()
        .filter(scripts::Column::OrgId.eq(ctx.org_id()))
        .filter(scripts::Column::ArchivedAt.is_null())
        .order_by_desc(scripts::Column::IsDefault)
        .order_by_asc(scripts::Column::Name)
        .all(db)
        .await?;
    let eff = effectiveness(db, ctx.org_id()).await?;
    rows.iter().map(|r| summary(r, &eff)).collect()
}

pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<scripts::Model> {
    scripts::Entity::find_by_id(id)
        .filter(scripts::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<ScriptDetail> {
    ctx.require(Permission::UseWorkspace)?;
    ensure_defaults(db, ctx.org_id()).await?;
    let row = find(db, ctx, id).await?;
    detail(&row, &effectiveness(db, ctx.org_id()).await?)
}

/// The content a session uses: the named script or the organisation's
/// default in `lang`.
pub(crate) async fn for_session<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Option<Uuid>,
    lang: Locale,
) -> ServiceResult<(scripts::Model, ScriptContent)> {
    ensure_defaults(db, ctx.org_id()).await?;
    let row = match id {
        Some(id) => find(db, ctx, id).await?,
        None => find(db, ctx, default_script_id(ctx.org_id(), lang)).await?,
    };
    if row.archived_at.is_some() {
        return Err(ServiceError::field(ErrorCode::NotFound, "script_id"));
    }
    let content = parse_content(&row)?;
    Ok((row, content))
}

/// A script as a call is given it: which one, at which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pin {
    pub id: Uuid,
    pub version: i64,
}

/// The script `id` for calls by an agent speaking `agent_language`: the
/// organisation's, not archived (unless `archived_ok`: a campaign keeping
/// the script it had), and in the agent's language when the product knows
/// that language (a French script read by an English agent would switch
/// languages mid-call). Pinned at its current version.
pub(crate) async fn for_call<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
    agent_language: &str,
    archived_ok: bool,
) -> ServiceResult<Pin> {
    let row = find(db, ctx, id).await.map_err(|e| match e.code {
        ErrorCode::NotFound => ServiceError::field(ErrorCode::NotFound, "script_id"),
        _ => e,
    })?;
    if row.archived_at.is_some() && !archived_ok {
        return Err(ServiceError::field(ErrorCode::ScriptArchived, "script_id"));
    }
    if let (Some(agent), Some(script)) = (Locale::parse(agent_language), Locale::parse(&row.language)) {
        if agent != script {
            return Err(ServiceError::field(ErrorCode::ScriptLanguageMismatch, "script_id")
                .with_detail(format!("{}/{}", script.as_str(), agent.as_str())));
        }
    }
    Ok(Pin { id: row.id, version: row.version })
}

/// The text of script `id` at `version`, as a call pinned it (`None` when
/// that version is gone, which a forward-only history never does).
pub(crate) async fn pinned<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    id: Uuid,
    version: i64,
) -> ServiceResult<Option<ScriptContent>> {
    let Some(row) = script_versions::Entity::find()
        .filter(script_versions::Column::OrgId.eq(org_id))
        .filter(script_versions::Column::ScriptId.eq(id))
        .filter(script_versions::Column::Version.eq(version))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    match serde_json::from_value(row.content) {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            tracing::error!(script = %id, version, error = %e, "stored script version does not parse");
            Err(ServiceError::internal())
        }
    }
}

/// The script with every text filled for one prospect (and its caller).
pub(crate) fn rendered(mut script: ScriptContent, ctx: &RenderContext) -> ScriptContent {
    for p in &mut script.phases {
        p.text = fill(&p.text, ctx);
        for t in &mut p.tips {
            *t = fill(t, ctx);
        }
    }
    for h in &mut script.handlers {
        h.response = fill(&h.response, ctx);
    }
    script
}

fn check(input: &ScriptInput) -> ServiceResult<String> {
    let name = validation::normalize_name("name", &input.name)?;
    if input.description.chars().count() > 2_000 {
        return Err(ServiceError::field(ErrorCode::TextTooLong, "description").with_detail("2000"));
    }
    if let Err(errors) = input.content.validate() {
        return Err(errors.into_iter().next().map(ServiceError::from).unwrap_or_else(ServiceError::internal));
    }
    Ok(name)
}

/// How a new script came to be.
pub(crate) enum Origin {
    Manual,
    Ai(AiGeneration),
}

pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    input: ScriptInput,
) -> ServiceResult<ScriptDetail> {
    create_with(db, ctx, input, Origin::Manual).await
}

pub(crate) async fn create_with(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    input: ScriptInput,
    origin: Origin,
) -> ServiceResult<ScriptDetail> {
    ctx.require(Permission::ManagePlaybook)?;
    let name = check(&input)?;
    let content = serde_json::to_value(&input.content).map_err(|_| ServiceError::internal())?;
    let (source, ai) = match origin {
        Origin::Manual => ("manual", None),
        Origin::Ai(g) => ("ai", Some(g)),
    };
    let at = now();
    let id = new_id();
    let txn = crate::db::begin_write(db).await?;
    let row = scripts::ActiveModel {
        id: Set(id),
        org_id: Set(ctx.org_id()),
        name: Set(name.clone()),
        language: Set(input.language.as_str().to_string()),
        description: Set(input.description.trim().to_string()),
        content: Set(content.clone()),
        version: Set(1),
        is_default: Set(false),
        source: Set(source.into()),
        ai_model: Set(ai.as_ref().map(|g| g.model.clone())),
        ai_context: Set(ai.as_ref().map(|g| g.context.clone())),
        ai_generation_ms: Set(ai.as_ref().map(|g| g.generation_ms)),
        created_by: Set(ctx.user_id()),
        updated_by: Set(ctx.user_id()),
        created_at: Set(at),
        updated_at: Set(at),
        archived_at: Set(None),
    };
    let row = row.insert(&txn).await?;
    insert_version(&txn, ctx, id, 1, &name, content).await?;
    txn.commit().await?;
    detail(&row, &HashMap::new())
}

async fn insert_version<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    script_id: Uuid,
    version: i64,
    name: &str,
    content: serde_json::Value,
) -> ServiceResult<()> {
    script_versions::Entity::insert(script_versions::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        script_id: Set(script_id),
        version: Set(version),
        name: Set(name.to_string()),
        content: Set(content),
        edited_by: Set(ctx.user_id()),
        created_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Saves a new version. The caller names the version it edited; if someone
/// saved in between, nothing is written and `stale_version` says so (with
/// the current version as detail) — never a silent overwrite.
pub async fn update(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    input: ScriptInput,
) -> ServiceResult<ScriptDetail> {
    ctx.require(Permission::ManagePlaybook)?;
    let name = check(&input)?;
    let expected = input
        .expected_version
        .ok_or_else(|| ServiceError::field(ErrorCode::RequiredValue, "expected_version"))?;
    let content = serde_json::to_value(&input.content).map_err(|_| ServiceError::internal())?;
    // The version check and the write are one statement, and the
    // transaction's first: two saves of the same version cannot both match it,
    // and on SQLite the second waits for the first's lock instead of failing
    // to upgrade a read snapshot.
    let txn = crate::db::begin_write(db).await?;
    let res = scripts::Entity::update_many()
        .col_expr(scripts::Column::Name, Expr::value(name.clone()))
        .col_expr(scripts::Column::Language, Expr::value(input.language.as_str()))
        .col_expr(scripts::Column::Description, Expr::value(input.description.trim()))
        .col_expr(scripts::Column::Content, Expr::value(content.clone()))
        .col_expr(scripts::Column::Version, Expr::value(expected + 1))
        .col_expr(scripts::Column::UpdatedBy, Expr::value(ctx.user_id()))
        .col_expr(scripts::Column::UpdatedAt, Expr::value(now()))
        .filter(scripts::Column::Id.eq(id))
        .filter(scripts::Column::OrgId.eq(ctx.org_id()))
        .filter(scripts::Column::ArchivedAt.is_null())
        .filter(scripts::Column::Version.eq(expected))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        let current = find(&txn, ctx, id).await?;
        if current.archived_at.is_some() {
            return Err(ServiceError::not_found());
        }
        return Err(ServiceError::field(ErrorCode::StaleVersion, "expected_version")
            .with_detail(current.version.to_string()));
    }
    insert_version(&txn, ctx, id, expected + 1, &name, content).await?;
    txn.commit().await?;
    let row = find(db, ctx, id).await?;
    detail(&row, &effectiveness(db, ctx.org_id()).await?)
}

pub async fn versions(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<Vec<ScriptVersionInfo>> {
    ctx.require(Permission::UseWorkspace)?;
    find(db, ctx, id).await?;
    let rows = script_versions::Entity::find()
        .filter(script_versions::Column::ScriptId.eq(id))
        .filter(script_versions::Column::OrgId.eq(ctx.org_id()))
        .order_by_desc(script_versions::Column::Version)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.edited_by).collect();
    let names = crate::prospects::user_names(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| ScriptVersionInfo {
            version: r.version,
            name: r.name,
            edited_by: r.edited_by.and_then(|u| names.get(&u).cloned()),
            created_at: r.created_at,
        })
        .collect())
}

/// Archives a script: it leaves the lists; past sessions keep pointing at it.
/// The seeded defaults stay (there must always be a script to call with).
pub async fn archive(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::ManagePlaybook)?;
    let row = find(db, ctx, id).await?;
    if row.is_default {
        return Err(ServiceError::field(ErrorCode::InvalidValue, "is_default"));
    }
    scripts::Entity::update_many()
        .col_expr(scripts::Column::ArchivedAt, Expr::value(Some(now())))
        .filter(scripts::Column::Id.eq(id))
        .filter(scripts::Column::OrgId.eq(ctx.org_id()))
        .exec(db)
        .await?;
    Ok(())
}
