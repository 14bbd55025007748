//! The calls list: filtered, sorted, paged on the server; the same filter
//! exported as CSV in chunks (constant memory whatever the history); and a
//! live feed of changes for open pages.

use std::collections::HashMap;

use domain::call_views::{Call, CallFilter, CallPage, CallQuery, CallSort, CallUpdate, CALL_COUNT_CAP};
use domain::Permission;
use entity::{agents, calls, prospects, scripts};
use sea_orm::sea_query::{Expr, NullOrdering};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{lifecycle::CALLS_TOPIC, view};
use crate::events::EventBus;
use crate::prospects::export::take;
use crate::{OrgCtx, ServiceError, ServiceResult};

/// Rows per exported chunk.
pub const CHUNK: u64 = 1000;

fn condition(org: Uuid, f: &CallFilter) -> Condition {
    let mut c = Condition::all().add(calls::Column::OrgId.eq(org));
    if !f.statuses.is_empty() {
        c = c.add(calls::Column::Status.is_in(f.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(o) = f.outcome {
        c = c.add(calls::Column::Outcome.eq(o.as_str()));
    }
    if let Some(a) = f.agent_id {
        c = c.add(calls::Column::AgentId.eq(a));
    }
    if let Some(p) = f.prospect_id {
        c = c.add(calls::Column::ProspectId.eq(p));
    }
    if let Some(d) = &f.direction {
        c = c.add(calls::Column::Direction.eq(d.as_str()));
    }
    if let Some(t) = f.from {
        c = c.add(calls::Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.until {
        c = c.add(calls::Column::CreatedAt.lt(t));
    }
    c
}

fn sorted(q: Select<calls::Entity>, sort: CallSort, desc: bool) -> Select<calls::Entity> {
    let order = if desc { Order::Desc } else { Order::Asc };
    let q = match sort {
        CallSort::CreatedAt => q,
        CallSort::Status => q.order_by(calls::Column::Status, order.clone()),
        // Never answered = no talk time = the shortest, on both databases
        // (PostgreSQL puts NULLs first when descending unless told).
        CallSort::Duration => q.order_by_with_nulls(
            calls::Column::TalkMs,
            order.clone(),
            if desc { NullOrdering::Last } else { NullOrdering::First },
        ),
        CallSort::ToNumber => q.order_by(calls::Column::ToNumber, order.clone()),
    };
    q.order_by(calls::Column::CreatedAt, order.clone()).order_by(calls::Column::Id, order)
}

/// One page of the organisation's calls.
pub async fn list(db: &DatabaseConnection, ctx: &OrgCtx, q: &CallQuery) -> ServiceResult<CallPage> {
    ctx.require(Permission::UseWorkspace)?;
    let cond = condition(ctx.org_id(), &q.filter);
    let rows = sorted(calls::Entity::find().filter(cond.clone()), q.sort, q.desc)
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
        .all(db)
        .await?;
    // Counting stops at the cap: an exact count of a long history reads
    // every row for a figure nobody pages through.
    let counted =
        calls::Entity::find().select_only().column(calls::Column::Id).filter(cond).limit(CALL_COUNT_CAP + 1);
    let total = counted.into_tuple::<Uuid>().all(db).await?.len() as u64;
    let rows = with_names(db, rows.iter().map(view).collect()).await?;
    Ok(CallPage {
        rows,
        total: total.min(CALL_COUNT_CAP),
        total_capped: total > CALL_COUNT_CAP,
        page: q.page,
        per_page: q.per_page,
    })
}

/// Fills in the prospects', agents' and scripts' names (a query each,
/// whatever the count; none for scripts when no call has one).
pub(crate) async fn with_names(db: &DatabaseConnection, mut rows: Vec<Call>) -> ServiceResult<Vec<Call>> {
    let mut pids: Vec<Uuid> = rows.iter().filter_map(|c| c.prospect_id).collect();
    let mut aids: Vec<Uuid> = rows.iter().filter_map(|c| c.agent_id).collect();
    pids.sort();
    pids.dedup();
    aids.sort();
    aids.dedup();
    let mut people = HashMap::new();
    if !pids.is_empty() {
        for p in prospects::Entity::find().filter(prospects::Column::Id.is_in(pids)).all(db).await? {
            let name = format!("{} {}", p.first_name, p.last_name).trim().to_string();
            people.insert(p.id, if name.is_empty() { p.company } else { name });
        }
    }
    let mut names = HashMap::new();
    if !aids.is_empty() {
        for a in agents::Entity::find().filter(agents::Column::Id.is_in(aids)).all(db).await? {
            names.insert(a.id, a.name);
        }
    }
    let mut sids: Vec<Uuid> = rows.iter().filter_map(|c| c.script_id).collect();
    sids.sort();
    sids.dedup();
    let mut titles = HashMap::new();
    if !sids.is_empty() {
        // Names only: a script's content is large.
        let named: Vec<(Uuid, String)> = scripts::Entity::find()
            .select_only()
            .column(scripts::Column::Id)
            .column(scripts::Column::Name)
            .filter(scripts::Column::Id.is_in(sids))
            .into_tuple()
            .all(db)
            .await?;
        titles.extend(named);
    }
    for c in &mut rows {
        c.prospect_name = c.prospect_id.and_then(|p| people.get(&p).cloned());
        c.agent_name = c.agent_id.and_then(|a| names.get(&a).cloned());
        c.script_name = c.script_id.and_then(|s| titles.get(&s).cloned());
    }
    Ok(rows)
}

const HEADER: &[&str] = &[
    "id",
    "created_at",
    "direction",
    "status",
    "outcome",
    "to_number",
    "from_number",
    "prospect_id",
    "prospect_name",
    "agent_id",
    "agent_name",
    "sip_status",
    "failure_reason",
    "ringing_at",
    "answered_at",
    "ended_at",
    "talk_seconds",
    "callback_at",
    "notes",
];

/// Starts the export of every call matching `filter`, oldest first; chunks
/// of CSV bytes arrive on the receiver. Permission and filter are checked
/// before anything is sent, so the caller can still answer with an error.
pub async fn export(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    filter: CallFilter,
) -> ServiceResult<mpsc::Receiver<Result<Vec<u8>, ServiceError>>> {
    ctx.require(Permission::UseWorkspace)?;
    let cond = condition(ctx.org_id(), &filter);
    let (tx, rx) = mpsc::channel(4);
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(e) = pump(&db, cond, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Ok(rx)
}

async fn pump(
    db: &DatabaseConnection,
    cond: Condition,
    tx: &mpsc::Sender<Result<Vec<u8>, ServiceError>>,
) -> ServiceResult<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).map_err(|_| ServiceError::internal())?;
    if tx.send(Ok(take(&mut w)?)).await.is_err() {
        return Ok(());
    }
    // Keyset on (created_at, id): each chunk starts where the last ended,
    // straight from the `(org_id, created_at, id)` index.
    let mut after: Option<(chrono::DateTime<chrono::Utc>, Uuid)> = None;
    loop {
        let mut q = calls::Entity::find()
            .filter(cond.clone())
            .order_by_asc(calls::Column::CreatedAt)
            .order_by_asc(calls::Column::Id)
            .limit(CHUNK);
        if let Some((at, id)) = after {
            let key = Expr::tuple([
                Expr::col(calls::Column::CreatedAt).into(),
                Expr::col(calls::Column::Id).into(),
            ]);
            q = q.filter(key.gt(Expr::tuple([Expr::value(at), Expr::value(id)])));
        }
        let rows = q.all(db).await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at, last.id));
        let n = rows.len() as u64;
        let named = with_names(db, rows.iter().map(view).collect()).await?;
        for c in named {
            let opt =
                |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
            let safe = crate::prospects::export::safe;
            w.write_record([
                c.id.to_string(),
                c.created_at.to_rfc3339(),
                c.direction,
                c.status.as_str().to_string(),
                c.outcome.map(|o| o.as_str().to_string()).unwrap_or_default(),
                c.to_number,
                c.from_number.unwrap_or_default(),
                c.prospect_id.map(|p| p.to_string()).unwrap_or_default(),
                safe(c.prospect_name.as_deref().unwrap_or_default()),
                c.agent_id.map(|a| a.to_string()).unwrap_or_default(),
                safe(c.agent_name.as_deref().unwrap_or_default()),
                c.sip_status.map(|s| s.to_string()).unwrap_or_default(),
                c.failure_reason.unwrap_or_default(),
                opt(c.ringing_at),
                opt(c.answered_at),
                opt(c.ended_at),
                c.talk_ms.map(|ms| format!("{:.1}", ms as f64 / 1000.0)).unwrap_or_default(),
                opt(c.callback_at),
                safe(&c.notes),
            ])
            .map_err(|_| ServiceError::internal())?;
        }
        if tx.send(Ok(take(&mut w)?)).await.is_err() {
            // The client went away: stop reading the database.
            return Ok(());
        }
        if n < CHUNK {
            break;
        }
    }
    Ok(())
}

/// Changes to the organisation's calls as they happen (from whichever node
/// applied them, through the event bus) — only `call_id`'s when given, which
/// must then be one of the organisation's.
pub async fn watch(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    call_id: Option<Uuid>,
) -> ServiceResult<impl futures::Stream<Item = CallUpdate> + Send + 'static> {
    use futures::StreamExt;
    ctx.require(Permission::UseWorkspace)?;
    // Subscribed before the existence check: nothing between is missed.
    let live = bus.subscribe(ctx.org_id(), CALLS_TOPIC);
    if let Some(id) = call_id {
        super::find(db, ctx, id).await?;
    }
    Ok(live.filter_map(move |ev| {
        let update = serde_json::from_value::<CallUpdate>(ev.payload.clone()).ok();
        futures::future::ready(update.filter(|u| call_id.is_none_or(|id| u.call.id == id)))
    }))
}

/// The calls of one prospect, newest first.
pub(crate) async fn of_prospect(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    limit: u64,
) -> ServiceResult<Vec<Call>> {
    let rows = calls::Entity::find()
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::ProspectId.eq(prospect_id))
        .order_by_desc(calls::Column::CreatedAt)
        .limit(limit.clamp(1, 200))
        .all(db)
        .await?;
    with_names(db, rows.iter().map(view).collect()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_is_always_the_organisations() {
        let org = Uuid::now_v7();
        let sql = |f: &CallFilter| {
            use sea_orm::QueryTrait;
            calls::Entity::find()
                .filter(condition(org, f))
                .build(sea_orm::DatabaseBackend::Sqlite)
                .to_string()
        };
        let all = sql(&CallFilter::default());
        assert!(all.contains(&format!("\"org_id\" = '{org}'")), "{all}");
        let some = sql(&CallFilter {
            statuses: vec![domain::call::CallStatus::Busy],
            direction: Some("inbound".into()),
            ..Default::default()
        });
        assert!(some.contains(&format!("\"org_id\" = '{org}'")) && some.contains("'busy'"), "{some}");
    }
}
