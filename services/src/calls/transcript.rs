//! What was said on a call and what its agent collected. The voice worker
//! writes both as the call goes: turns numbered per call, each stored once
//! however often it is sent (a retry after a lost answer), so a crash loses
//! at most the turn in flight; values checked against the agent's data
//! schema and merged into the call's. The call page reads them.

use domain::call_views::{CallTurn, TurnsAdded, TURNS_PER_REQUEST};
use domain::data_schema::{CollectedData, ValueError};
use domain::error::FieldError;
use domain::{ErrorCode, Permission};
use entity::{agents, call_turns, calls};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

/// Fields set at once.
pub const VALUES_PER_REQUEST: usize = 100;

/// Stores `turns` on call `id`; how many were new.
pub async fn add_turns(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    turns: Vec<CallTurn>,
) -> ServiceResult<TurnsAdded> {
    ctx.require(Permission::UseWorkspace)?;
    if turns.is_empty() || turns.len() > TURNS_PER_REQUEST {
        return Err(FieldError::new("turns", ErrorCode::OutOfRange)
            .with_detail(format!("1–{TURNS_PER_REQUEST}"))
            .into());
    }
    let turns = turns.into_iter().enumerate().map(|(i, t)| t.validate(i)).collect::<Result<Vec<_>, _>>()?;
    let call = super::find(db, ctx, id).await?;
    let at = now();
    let rows = turns.into_iter().map(|t| call_turns::ActiveModel {
        id: Set(new_id()),
        call_id: Set(call.id),
        org_id: Set(call.org_id),
        seq: Set(t.seq as i32),
        speaker: Set(t.speaker.as_str().into()),
        text: Set(t.text),
        start_ms: Set(t.start_ms as i64),
        end_ms: Set(t.end_ms as i64),
        interrupted: Set(t.interrupted),
        created_at: Set(at),
    });
    let added = call_turns::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([call_turns::Column::CallId, call_turns::Column::Seq])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(TurnsAdded { added })
}

/// Merges `values` into call `id`'s collected data, each checked against
/// the schema of the call's agent (`null` removes a value); the result.
pub async fn collect(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    values: CollectedData,
) -> ServiceResult<CollectedData> {
    ctx.require(Permission::UseWorkspace)?;
    if values.is_empty() || values.len() > VALUES_PER_REQUEST {
        return Err(FieldError::new("data", ErrorCode::OutOfRange)
            .with_detail(format!("1–{VALUES_PER_REQUEST}"))
            .into());
    }
    let call = super::find(db, ctx, id).await?;
    let agent = match call.agent_id {
        Some(a) => agents::Entity::find_by_id(a).one(db).await?,
        None => None,
    };
    // A call without its agent (deleted since) has no schema to check against.
    let Some(agent) = agent.filter(|a| a.org_id == call.org_id) else {
        return Err(ServiceError::field(ErrorCode::NotFound, "agent_id"));
    };
    let schema = crate::agents::settings_of(&agent)?.data_schema;
    let mut checked = Vec::with_capacity(values.len());
    for (field, value) in values {
        if value.is_null() {
            schema.field(&field).ok_or_else(|| refused(ValueError::UnknownField(field.clone())))?;
            checked.push((field, None));
        } else {
            let v = schema.check_value(&field, &value).map_err(refused)?;
            checked.push((field, Some(v)));
        }
    }
    // Read, merged and written under the call's lock: two tool calls at
    // once both land.
    let txn = crate::db::begin_write(db).await?;
    let q = super::lifecycle::locked(&txn, calls::Entity::find_by_id(call.id));
    let Some(row) = q.one(&txn).await? else { return Err(ServiceError::new(ErrorCode::NotFound)) };
    let mut data = stored(&row);
    for (field, value) in checked {
        match value {
            Some(v) => data.insert(field, v),
            None => data.remove(&field),
        };
    }
    let mut m: calls::ActiveModel = row.into();
    m.collected_data = Set(Some(serde_json::to_value(&data).map_err(|_| ServiceError::internal())?));
    m.updated_at = Set(now());
    m.update(&txn).await?;
    txn.commit().await?;
    Ok(data)
}

/// A call's collected data as stored (nothing yet: empty).
pub(crate) fn stored(call: &calls::Model) -> CollectedData {
    call.collected_data.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// A refused value, named by its field under `data`.
fn refused(e: ValueError) -> ServiceError {
    let field = format!("data.{}", e.field());
    match e {
        ValueError::UnknownField(_) => FieldError::new(field, ErrorCode::InvalidFieldName),
        ValueError::WrongType { expected, .. } => {
            FieldError::new(field, ErrorCode::InvalidValue).with_detail(expected)
        }
        ValueError::Empty { .. } => FieldError::new(field, ErrorCode::RequiredValue),
        ValueError::TooLong { max, .. } => {
            FieldError::new(field, ErrorCode::TextTooLong).with_detail(max.to_string())
        }
    }
    .into()
}

/// The number the next turn of call `call_id` takes (after the last stored).
pub(crate) async fn next_seq(db: &DatabaseConnection, call_id: Uuid) -> ServiceResult<u32> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let last = call_turns::Entity::find()
        .filter(call_turns::Column::CallId.eq(call_id))
        .order_by_desc(call_turns::Column::Seq)
        .one(db)
        .await?;
    Ok(last.map_or(0, |t| t.seq as u32 + 1))
}

/// Call `id`'s turns in order.
pub(crate) async fn turns_of(db: &DatabaseConnection, call_id: Uuid) -> ServiceResult<Vec<CallTurn>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    Ok(call_turns::Entity::find()
        .filter(call_turns::Column::CallId.eq(call_id))
        .order_by_asc(call_turns::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|t| {
            Some(CallTurn {
                seq: t.seq as u32,
                speaker: domain::call_views::TurnSpeaker::parse(&t.speaker)?,
                text: t.text,
                start_ms: t.start_ms as u64,
                end_ms: t.end_ms as u64,
                interrupted: t.interrupted,
            })
        })
        .collect())
}
