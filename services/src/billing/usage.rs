//! Usage: one row per call or playground turn, written on our side first
//! (in the transaction of what used it, where there is one), then reported
//! to Polar's event ingestion in batches by [`REPORT_JOB`]. Each row is
//! one Polar event whose `external_id` is the row's id: a batch sent again
//! after a crash, or after Polar failed half-way, is counted once there,
//! and a row is marked reported only once Polar has it.

use chrono::{DateTime, NaiveDate, Utc};
use domain::billing::views::{UsageBy, UsageDay, UsageQuery, UsageReport, MAX_DAYS};
use domain::billing::Usage;
use domain::{ErrorCode, Permission};
use entity::usage_records as rows;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::BillingEnv;
use crate::jobs::{self, JobFailure, NewJob, RunningJob};
use crate::{new_id, OrgCtx, ServiceError, ServiceResult};

/// Reports unreported usage to Polar.
pub const REPORT_JOB: &str = "billing.report_usage";
/// Events per ingestion request.
pub const BATCH: u64 = 500;
/// The Polar event name every usage row is sent as (a meter sums one of
/// its metadata fields: `call_seconds`, `llm_input_tokens`, …).
pub const EVENT_NAME: &str = "handoo.usage";

/// What used it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A phone call's minutes, from answer to hang-up (its id): written as
    /// it ends, whoever was on it — an agent that crashed still cost them.
    Call(Uuid),
    /// What a call's AI agent used on it — tokens, speech — from its
    /// report (the call's id).
    CallAgent(Uuid),
    /// One turn of a playground conversation (the turn's own id).
    PlaygroundTurn(Uuid),
}

impl Source {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Source::Call(id) => ("call", id),
            Source::CallAgent(id) => ("call_agent", id),
            Source::PlaygroundTurn(id) => ("playground", id),
        }
    }
}

/// One row to write.
#[derive(Debug, Clone)]
pub struct Record {
    pub org_id: Uuid,
    pub source: Source,
    pub agent_id: Option<Uuid>,
    /// `voice` or `chat`.
    pub agent_kind: Option<&'static str>,
    pub api_key_id: Option<Uuid>,
    pub model: Option<String>,
    pub usage: Usage,
    pub at: DateTime<Utc>,
}

/// Writes `r` once per source (`false`: it was already recorded), and
/// queues its reporting when billing runs through Polar.
pub async fn record<C: ConnectionTrait>(db: &C, env: &BillingEnv, r: Record) -> ServiceResult<bool> {
    let u = r.usage.clamped();
    let (source, source_id) = r.source.parts();
    let written = rows::Entity::insert(rows::ActiveModel {
        id: Set(new_id()),
        org_id: Set(r.org_id),
        source: Set(source.into()),
        source_id: Set(source_id),
        agent_id: Set(r.agent_id),
        agent_kind: Set(r.agent_kind.map(str::to_string)),
        api_key_id: Set(r.api_key_id),
        model: Set(r.model.map(|m| m.chars().take(200).collect())),
        call_seconds: Set(u.call_seconds),
        llm_input_tokens: Set(u.llm_input_tokens),
        llm_output_tokens: Set(u.llm_output_tokens),
        stt_seconds: Set(u.stt_seconds),
        tts_characters: Set(u.tts_characters),
        occurred_at: Set(r.at),
        reported_at: Set(None),
    })
    .on_conflict(OnConflict::columns([rows::Column::Source, rows::Column::SourceId]).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    if written == 1 && env.polar.is_some() {
        schedule_report(db, env, r.at).await?;
    }
    Ok(written == 1)
}

/// Queues one report for the minute after `at` (one job per minute at
/// most, whatever the number of rows).
async fn schedule_report<C: ConnectionTrait>(
    db: &C,
    env: &BillingEnv,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let minute = at.timestamp().div_euclid(60);
    let mut job = NewJob::new(REPORT_JOB, None, json!({}));
    job.run_at = DateTime::from_timestamp((minute + 1) * 60, 0);
    job.dedupe_key = Some(format!("{REPORT_JOB}:{minute}"));
    job.max_attempts = 10;
    jobs::enqueue(db, &env.clock, job).await?;
    Ok(())
}

#[derive(Debug, Default, FromQueryResult)]
struct Sums {
    call_seconds: i64,
    llm_input_tokens: i64,
    llm_output_tokens: i64,
    stt_seconds: i64,
    tts_characters: i64,
}

impl From<Sums> for Usage {
    fn from(s: Sums) -> Usage {
        Usage {
            call_seconds: s.call_seconds,
            llm_input_tokens: s.llm_input_tokens,
            llm_output_tokens: s.llm_output_tokens,
            stt_seconds: s.stt_seconds,
            tts_characters: s.tts_characters,
        }
    }
}

/// The summed columns, as `CAST(COALESCE(SUM(x), 0) AS BIGINT) AS x`
/// (PostgreSQL sums bigints into numerics).
fn sums<E: EntityTrait>(mut q: sea_orm::Select<E>) -> sea_orm::Select<E> {
    for c in ["call_seconds", "llm_input_tokens", "llm_output_tokens", "stt_seconds", "tts_characters"] {
        q = q.column_as(Expr::cust(format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT)")), c);
    }
    q
}

/// `org_id`'s usage in `[from, until)`.
pub async fn between<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> ServiceResult<Usage> {
    let q = rows::Entity::find()
        .select_only()
        .filter(rows::Column::OrgId.eq(org_id))
        .filter(rows::Column::OccurredAt.gte(from))
        .filter(rows::Column::OccurredAt.lt(until));
    Ok(sums(q).into_model::<Sums>().one(db).await?.unwrap_or_default().into())
}

#[derive(Debug, FromQueryResult)]
struct DaySums {
    day: String,
    call_seconds: i64,
    llm_input_tokens: i64,
    llm_output_tokens: i64,
    stt_seconds: i64,
    tts_characters: i64,
}

#[derive(Debug, FromQueryResult)]
struct GroupSums {
    id: Option<Uuid>,
    n: i64,
    call_seconds: i64,
    llm_input_tokens: i64,
    llm_output_tokens: i64,
    stt_seconds: i64,
    tts_characters: i64,
}

fn usage_of(
    call_seconds: i64,
    llm_input_tokens: i64,
    llm_output_tokens: i64,
    stt_seconds: i64,
    tts: i64,
) -> Usage {
    Usage { call_seconds, llm_input_tokens, llm_output_tokens, stt_seconds, tts_characters: tts }
}

/// The usage page: per day, per agent and per API key over `q`'s days
/// (UTC), and the current period against the plan (Admins and Owners).
pub async fn report(
    db: &DatabaseConnection,
    env: &BillingEnv,
    ctx: &OrgCtx,
    q: &UsageQuery,
) -> ServiceResult<UsageReport> {
    ctx.require(Permission::ViewAnalytics)?;
    let today = env.clock.now().date_naive();
    let until = q.until.unwrap_or(today);
    let from = q.from.unwrap_or(until - chrono::Duration::days(30));
    if from > until {
        return Err(ServiceError::field(ErrorCode::Validation, "from").with_detail("after until"));
    }
    if (until - from).num_days() >= MAX_DAYS {
        return Err(ServiceError::field(ErrorCode::OutOfRange, "from").with_detail(MAX_DAYS.to_string()));
    }
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    let (lo, hi) = (start(from), start(until) + chrono::Duration::days(1));
    let in_range = || {
        rows::Entity::find()
            .select_only()
            .filter(rows::Column::OrgId.eq(ctx.org_id()))
            .filter(rows::Column::OccurredAt.gte(lo))
            .filter(rows::Column::OccurredAt.lt(hi))
    };
    let day = crate::analytics::day_of(db.get_database_backend(), "occurred_at");
    let days: Vec<DaySums> = sums(in_range().column_as(Expr::cust(day.clone()), "day"))
        .group_by(Expr::cust(day))
        .into_model()
        .all(db)
        .await?;
    let mut by_day: std::collections::BTreeMap<NaiveDate, Usage> = std::collections::BTreeMap::new();
    for d in days {
        if let Ok(date) = NaiveDate::parse_from_str(&d.day, "%Y-%m-%d") {
            by_day.insert(
                date,
                usage_of(
                    d.call_seconds,
                    d.llm_input_tokens,
                    d.llm_output_tokens,
                    d.stt_seconds,
                    d.tts_characters,
                ),
            );
        }
    }
    // Every day of the range, the quiet ones as zeros (charts need them).
    let mut out_days = Vec::new();
    let mut total = Usage::default();
    let mut d = from;
    while d <= until {
        let u = by_day.get(&d).copied().unwrap_or_default();
        total.add(&u);
        out_days.push(UsageDay { day: d, usage: u });
        d += chrono::Duration::days(1);
    }
    let group = |col: rows::Column| async move {
        let rows: Vec<GroupSums> =
            // A call has two rows (its minutes, its agent's usage): counted once.
            sums(in_range().column_as(col, "id").column_as(Expr::cust("COUNT(DISTINCT source_id)"), "n"))
                .group_by(col)
                .into_model()
                .all(db)
                .await?;
        Ok::<_, ServiceError>(rows)
    };
    let agent_rows = group(rows::Column::AgentId).await?;
    let key_rows = group(rows::Column::ApiKeyId).await?;
    use entity::{agents, api_keys};
    let agent_names = names::<agents::Entity>(
        db,
        ctx,
        [agents::Column::Id, agents::Column::Name, agents::Column::OrgId],
        &agent_rows,
    )
    .await?;
    let key_names = names::<api_keys::Entity>(
        db,
        ctx,
        [api_keys::Column::Id, api_keys::Column::Name, api_keys::Column::OrgId],
        &key_rows,
    )
    .await?;
    let by = |rows: Vec<GroupSums>, names: &std::collections::HashMap<Uuid, String>| {
        let mut v: Vec<UsageBy> = rows
            .into_iter()
            .map(|g| UsageBy {
                id: g.id,
                name: g.id.and_then(|i| names.get(&i).cloned()).unwrap_or_default(),
                usage: usage_of(
                    g.call_seconds,
                    g.llm_input_tokens,
                    g.llm_output_tokens,
                    g.stt_seconds,
                    g.tts_characters,
                ),
                events: g.n.max(0) as u64,
            })
            .collect();
        v.sort_by(|a, b| b.usage.call_seconds.cmp(&a.usage.call_seconds).then(b.events.cmp(&a.events)));
        v
    };
    Ok(UsageReport {
        from,
        until,
        days: out_days,
        total,
        by_agent: by(agent_rows, &agent_names),
        by_api_key: by(key_rows, &key_names),
        overview: super::overview(db, env, ctx).await?,
    })
}

/// The names of the grouped ids, from the organisation's own rows only
/// (`[id, name, org_id]` are `E`'s columns).
async fn names<E: EntityTrait>(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    [id, name, org]: [E::Column; 3],
    groups: &[GroupSums],
) -> ServiceResult<std::collections::HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = groups.iter().filter_map(|g| g.id).collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let named: Vec<(Uuid, String)> = E::find()
        .select_only()
        .column(id)
        .column(name)
        .filter(org.eq(ctx.org_id()))
        .filter(id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(named.into_iter().collect())
}

/// One row as the Polar event it is reported as.
fn event(r: &rows::Model) -> Value {
    let mut meta = serde_json::Map::new();
    for (k, v) in [
        ("call_seconds", r.call_seconds),
        ("llm_input_tokens", r.llm_input_tokens),
        ("llm_output_tokens", r.llm_output_tokens),
        ("stt_seconds", r.stt_seconds),
        ("tts_characters", r.tts_characters),
    ] {
        meta.insert(k.into(), json!(v));
    }
    meta.insert("source".into(), json!(r.source));
    if let Some(kind) = &r.agent_kind {
        meta.insert("agent_kind".into(), json!(kind));
    }
    if let Some(model) = &r.model {
        meta.insert("model".into(), json!(model));
    }
    json!({
        "name": EVENT_NAME,
        "external_customer_id": r.org_id.to_string(),
        "external_id": r.id.to_string(),
        "timestamp": r.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "metadata": meta,
    })
}

/// Reports up to `limit` unreported rows, oldest first; how many Polar
/// took (new, and already known). Rows are marked only after Polar
/// answered, so a failure leaves them for the next run.
pub async fn report_pending(
    db: &DatabaseConnection,
    env: &BillingEnv,
    limit: u64,
) -> ServiceResult<(u64, u64)> {
    let Some(polar) = &env.polar else { return Ok((0, 0)) };
    let (mut inserted, mut duplicates) = (0, 0);
    loop {
        let batch = rows::Entity::find()
            .filter(rows::Column::ReportedAt.is_null())
            .order_by_asc(rows::Column::Id)
            .limit(BATCH.min(limit.saturating_sub(inserted + duplicates)).max(1))
            .all(db)
            .await?;
        if batch.is_empty() || inserted + duplicates >= limit {
            return Ok((inserted, duplicates));
        }
        let events: Vec<Value> = batch.iter().map(event).collect();
        let (i, d) = polar.ingest(&events).await?;
        rows::Entity::update_many()
            .col_expr(rows::Column::ReportedAt, Expr::value(env.clock.now()))
            .filter(rows::Column::Id.is_in(batch.iter().map(|r| r.id).collect::<Vec<_>>()))
            .exec(db)
            .await?;
        inserted += i;
        duplicates += d;
        if (batch.len() as u64) < BATCH {
            return Ok((inserted, duplicates));
        }
    }
}

/// The reporting job: everything pending, in batches.
pub struct ReportHandler {
    pub env: BillingEnv,
}

#[async_trait::async_trait]
impl jobs::Handler for ReportHandler {
    async fn run(&self, job: &RunningJob) -> Result<(), JobFailure> {
        match report_pending(job.db(), &self.env, u64::MAX).await {
            Ok((inserted, duplicates)) => {
                tracing::info!(inserted, duplicates, "usage reported to Polar");
                Ok(())
            }
            // Polar down or refusing: retried with backoff, rows kept.
            Err(e) => Err(JobFailure::Retry(e.to_string())),
        }
    }
}
