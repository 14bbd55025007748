//! A prospect's history: notes (timestamped, with author), the activity
//! timeline (status changes, edits, imports) and consent records.

use domain::prospect::{Activity, Consent, ConsentInput, ConsentMethod, Note, MAX_NOTE_CHARS};
use domain::{ErrorCode, Permission};
use entity::{
    consent_records as consents, prospect_activities as activities, prospect_imports, prospect_notes as notes,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{find, user_names};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_TIMELINE: u64 = 500;

pub(crate) async fn record<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    kind: &str,
    data: Value,
) -> ServiceResult<()> {
    activities::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        prospect_id: Set(prospect_id),
        actor_id: Set(ctx.user_id()),
        actor_api_key_id: Set(ctx.actor().api_key_id),
        actor_system: Set(ctx.actor().system.map(str::to_string)),
        kind: Set(kind.to_string()),
        data: Set(data),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn add_note(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    body: &str,
) -> ServiceResult<Note> {
    ctx.require(Permission::UseWorkspace)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(ServiceError::field(ErrorCode::RequiredValue, "body"));
    }
    if body.chars().count() > MAX_NOTE_CHARS {
        return Err(
            ServiceError::field(ErrorCode::TextTooLong, "body").with_detail(MAX_NOTE_CHARS.to_string())
        );
    }
    let txn = crate::db::begin_write(db).await?;
    find(&txn, ctx, prospect_id).await?;
    let n = notes::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        prospect_id: Set(prospect_id),
        author_id: Set(ctx.user_id()),
        actor_api_key_id: Set(ctx.actor().api_key_id),
        actor_system: Set(ctx.actor().system.map(str::to_string)),
        body: Set(body.to_string()),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    touch(&txn, prospect_id).await?;
    txn.commit().await?;
    let names = user_names(db, &n.author_id.into_iter().collect::<Vec<_>>()).await?;
    Ok(Note {
        id: n.id,
        author_id: n.author_id,
        author_name: n.author_id.and_then(|a| names.get(&a).cloned()),
        body: n.body,
        created_at: n.created_at,
    })
}

async fn touch<C: ConnectionTrait>(db: &C, id: Uuid) -> ServiceResult<()> {
    entity::prospects::Entity::update_many()
        .col_expr(entity::prospects::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
        .filter(entity::prospects::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Notes, newest first.
pub async fn notes(db: &DatabaseConnection, ctx: &OrgCtx, prospect_id: Uuid) -> ServiceResult<Vec<Note>> {
    ctx.require(Permission::UseWorkspace)?;
    find(db, ctx, prospect_id).await?;
    let rows = notes::Entity::find()
        .filter(notes::Column::OrgId.eq(ctx.org_id()))
        .filter(notes::Column::ProspectId.eq(prospect_id))
        .order_by_desc(notes::Column::CreatedAt)
        .order_by_desc(notes::Column::Id)
        .limit(MAX_TIMELINE)
        .all(db)
        .await?;
    let authors: Vec<Uuid> = rows.iter().filter_map(|n| n.author_id).collect();
    let names = user_names(db, &authors).await?;
    Ok(rows
        .into_iter()
        .map(|n| Note {
            author_name: n.author_id.and_then(|a| names.get(&a).cloned()),
            id: n.id,
            author_id: n.author_id,
            body: n.body,
            created_at: n.created_at,
        })
        .collect())
}

/// The activity timeline, newest first, ending with the creation entry
/// (synthesised from the prospect itself: imports create many thousands).
pub async fn activity(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
) -> ServiceResult<Vec<Activity>> {
    ctx.require(Permission::UseWorkspace)?;
    let p = find(db, ctx, prospect_id).await?;
    let rows = activities::Entity::find()
        .filter(activities::Column::OrgId.eq(ctx.org_id()))
        .filter(activities::Column::ProspectId.eq(prospect_id))
        .order_by_desc(activities::Column::CreatedAt)
        .order_by_desc(activities::Column::Id)
        .limit(MAX_TIMELINE)
        .all(db)
        .await?;
    let mut actors: Vec<Uuid> = rows.iter().filter_map(|a| a.actor_id).collect();
    actors.extend(p.created_by);
    let names = user_names(db, &actors).await?;
    let mut out: Vec<Activity> = rows
        .into_iter()
        .map(|a| Activity {
            actor_name: a.actor_id.and_then(|x| names.get(&x).cloned()),
            id: a.id,
            kind: a.kind,
            data: a.data,
            created_at: a.created_at,
        })
        .collect();
    let file = match p.import_id {
        Some(import) => {
            prospect_imports::Entity::find_by_id(import)
                .select_only()
                .column(prospect_imports::Column::FileName)
                .into_tuple::<String>()
                .one(db)
                .await?
        }
        None => None,
    };
    out.push(Activity {
        id: p.id,
        actor_name: p.created_by.and_then(|x| names.get(&x).cloned()),
        kind: if file.is_some() { "imported".into() } else { "created".into() },
        data: json!({ "file": file }),
        created_at: p.created_at,
    });
    Ok(out)
}

pub async fn add_consent(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    input: ConsentInput,
) -> ServiceResult<Consent> {
    ctx.require(Permission::UseWorkspace)?;
    let at = now();
    let input = input.validate(at)?;
    let txn = crate::db::begin_write(db).await?;
    let prospect = find(&txn, ctx, prospect_id).await?;
    let granted = input.granted.unwrap_or(true);
    let c = consents::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        prospect_id: Set(prospect_id),
        source: Set(input.source.clone()),
        method: Set(input.method.as_str().to_string()),
        granted: Set(granted),
        captured_at: Set(input.captured_at.unwrap_or(at)),
        captured_by: Set(ctx.user_id()),
        created_at: Set(at),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        ctx,
        prospect_id,
        "consent_recorded",
        json!({"source": input.source, "method": input.method.as_str(), "granted": granted}),
    )
    .await?;
    if !granted {
        // A withdrawal is an opt-out: calls stop now, and the number goes on
        // the organisation's list (where it outlives the prospect).
        if !prospect.opted_out {
            entity::prospects::Entity::update_many()
                .col_expr(entity::prospects::Column::OptedOut, sea_orm::sea_query::Expr::value(true))
                .filter(entity::prospects::Column::Id.eq(prospect_id))
                .exec(&txn)
                .await?;
            record(
                &txn,
                ctx,
                prospect_id,
                "field_changed",
                json!({"field": "opted_out", "from": false, "to": true}),
            )
            .await?;
        }
        super::compliance::list_opted_out(&txn, ctx, prospect.phone.as_ref()).await?;
    }
    touch(&txn, prospect_id).await?;
    txn.commit().await?;
    let names = user_names(db, &c.captured_by.into_iter().collect::<Vec<_>>()).await?;
    Ok(to_consent(c, &names))
}

fn to_consent(c: consents::Model, names: &std::collections::HashMap<Uuid, String>) -> Consent {
    Consent {
        captured_by_name: c.captured_by.and_then(|u| names.get(&u).cloned()),
        id: c.id,
        source: c.source,
        method: ConsentMethod::parse(&c.method).unwrap_or(ConsentMethod::Other),
        granted: c.granted,
        captured_at: c.captured_at,
        captured_by: c.captured_by,
    }
}

/// Consent records, newest first.
pub async fn consents(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
) -> ServiceResult<Vec<Consent>> {
    ctx.require(Permission::UseWorkspace)?;
    find(db, ctx, prospect_id).await?;
    let rows = consents::Entity::find()
        .filter(consents::Column::OrgId.eq(ctx.org_id()))
        .filter(consents::Column::ProspectId.eq(prospect_id))
        .order_by_desc(consents::Column::CapturedAt)
        .limit(MAX_TIMELINE)
        .all(db)
        .await?;
    let users: Vec<Uuid> = rows.iter().filter_map(|c| c.captured_by).collect();
    let names = user_names(db, &users).await?;
    Ok(rows.into_iter().map(|c| to_consent(c, &names)).collect())
}
