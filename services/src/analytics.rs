//! The managers' dashboard, counted in the database: AI agents' calls
//! (`calls`) and reps' copilot calls (`copilot_sessions`) over a range of
//! UTC days, each organisation's own, grouped per day, per agent and per
//! rep, with the analyses' sentiment and phase scores beside them. Every
//! figure is one grouped query over indexed columns (`calls` by
//! `(org_id, created_at)`), so a dashboard over a million calls reads in
//! the time `cargo bench --bench analytics` prints.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::agent_report::AgentReport;
use domain::analytics::{
    quantile, AgentLatency, AnalyticsQuery, Dashboard, DayRow, FunnelStage, Leader, PhaseAverage, Totals,
    MAX_DAYS,
};
use domain::copilot::script::Phase;
use domain::{ErrorCode, Permission};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement, Value as DbValue};
use uuid::Uuid;

use crate::{OrgCtx, ServiceError, ServiceResult};

/// Calls whose agent reports feed the latency figures (the latest ones).
const LATENCY_SAMPLE: u64 = 5_000;

/// A statement written with PostgreSQL's `$n` placeholders.
struct Sql {
    text: String,
    values: Vec<DbValue>,
}

impl Sql {
    fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), values: Vec::new() }
    }

    /// Binds `v`, returning its placeholder.
    fn bind(&mut self, v: impl Into<DbValue>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn build(self, backend: DbBackend) -> Statement {
        let text = if backend == DbBackend::Postgres { self.text } else { self.text.replace('$', "?") };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// The UTC day of a timestamp column, as `YYYY-MM-DD`.
fn day_of(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => format!("substr({col}, 1, 10)"),
    }
}

/// Seconds between two timestamp columns.
fn seconds_between(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({to} - {from}))"),
        _ => format!("((julianday({to}) - julianday({from})) * 86400.0)"),
    }
}

/// The five phase score columns of `a`, summed and counted where set.
fn score_sum(a: &str) -> (String, String) {
    let cols = [
        "score_opening",
        "score_discovery",
        "score_presentation",
        "score_objection_handling",
        "score_closing",
    ];
    let sum = cols.iter().map(|c| format!("COALESCE({a}.{c}, 0)")).collect::<Vec<_>>().join(" + ");
    let n = cols
        .iter()
        .map(|c| format!("CASE WHEN {a}.{c} IS NULL THEN 0 ELSE 1 END"))
        .collect::<Vec<_>>()
        .join(" + ");
    (format!("CAST(SUM({sum}) AS DOUBLE PRECISION)"), format!("CAST(SUM({n}) AS BIGINT)"))
}

#[derive(Debug, Clone, Copy)]
struct Range {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// The dashboard's range: `until` defaults to today, `from` to 29 days
/// before it; at most [`MAX_DAYS`].
fn range(q: &AnalyticsQuery, today: NaiveDate) -> ServiceResult<(NaiveDate, NaiveDate)> {
    let until = q.until.unwrap_or(today);
    let from = q.from.unwrap_or(until - Duration::days(29));
    if from > until {
        return Err(ServiceError::field(ErrorCode::OutOfRange, "from").with_detail("after until"));
    }
    if (until - from).num_days() + 1 > MAX_DAYS {
        return Err(ServiceError::field(ErrorCode::OutOfRange, "from")
            .with_detail(format!("{MAX_DAYS} days at most")));
    }
    Ok((from, until))
}

fn instants(from: NaiveDate, until: NaiveDate) -> Range {
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    Range { from: start(from), until: start(until) + Duration::days(1) }
}

/// Which kinds of call the filters keep.
fn kinds(q: &AnalyticsQuery) -> (bool, bool) {
    let ai = q.rep_id.is_none();
    let reps = q.campaign_id.is_none() && q.agent_id.is_none();
    (ai, reps)
}

/// `calls c` of the organisation in the range, filtered.
fn ai_where(sql: &mut Sql, org: Uuid, r: Range, q: &AnalyticsQuery) {
    let (o, f, u) = (sql.bind(org), sql.bind(r.from), sql.bind(r.until));
    sql.push(&format!(" WHERE c.org_id = {o} AND c.created_at >= {f} AND c.created_at < {u}"));
    if let Some(id) = q.campaign_id {
        let p = sql.bind(id);
        sql.push(&format!(" AND c.campaign_id = {p}"));
    }
    if let Some(id) = q.agent_id {
        let p = sql.bind(id);
        sql.push(&format!(" AND c.agent_id = {p}"));
    }
}

/// Ended `copilot_sessions s` of the organisation in the range, filtered.
fn rep_where(sql: &mut Sql, org: Uuid, r: Range, q: &AnalyticsQuery) {
    let (o, f, u) = (sql.bind(org), sql.bind(r.from), sql.bind(r.until));
    sql.push(&format!(
        " WHERE s.org_id = {o} AND s.started_at >= {f} AND s.started_at < {u} AND s.ended_at IS NOT NULL"
    ));
    if let Some(id) = q.rep_id {
        let p = sql.bind(id);
        sql.push(&format!(" AND s.user_id = {p}"));
    }
}

fn int(r: &QueryResult, col: &str) -> u64 {
    r.try_get::<Option<i64>>("", col).ok().flatten().unwrap_or(0).max(0) as u64
}

fn float(r: &QueryResult, col: &str) -> Option<f64> {
    r.try_get::<Option<f64>>("", col).ok().flatten()
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Per-day counts, and the funnel's middle stages, of one kind of call.
#[derive(Default, Clone)]
struct Counts {
    calls: u64,
    connected: u64,
    answered: u64,
    meetings: u64,
    conversations: u64,
    interested: u64,
    seconds: f64,
    timed: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.calls += o.calls;
        self.connected += o.connected;
        self.answered += o.answered;
        self.meetings += o.meetings;
        self.conversations += o.conversations;
        self.interested += o.interested;
        self.seconds += o.seconds;
        self.timed += o.timed;
    }
}

const INTERESTED: &str = "('interested', 'callback_scheduled', 'meeting_booked')";

async fn ai_days<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
) -> ServiceResult<BTreeMap<String, Counts>> {
    let b = db.get_database_backend();
    let mut sql = Sql::new(&format!(
        "SELECT {day} AS day, COUNT(*) AS calls, \
         SUM(CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS connected, \
         SUM(CASE WHEN c.answered_at IS NOT NULL AND (c.outcome IS NULL OR c.outcome <> 'voicemail') THEN 1 ELSE 0 END) AS answered, \
         SUM(CASE WHEN c.outcome = 'meeting_booked' THEN 1 ELSE 0 END) AS meetings, \
         SUM(CASE WHEN c.talk_ms >= 30000 THEN 1 ELSE 0 END) AS conversations, \
         SUM(CASE WHEN c.outcome IN {INTERESTED} THEN 1 ELSE 0 END) AS interested, \
         CAST(SUM(COALESCE(c.talk_ms, 0)) AS DOUBLE PRECISION) / 1000.0 AS seconds, \
         SUM(CASE WHEN c.talk_ms IS NOT NULL THEN 1 ELSE 0 END) AS timed \
         FROM calls c",
        day = day_of(b, "c.created_at")
    ));
    ai_where(&mut sql, org, r, q);
    sql.push(" GROUP BY 1");
    rows_by_day(db, sql).await
}

async fn rep_days<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
) -> ServiceResult<BTreeMap<String, Counts>> {
    let b = db.get_database_backend();
    let secs = seconds_between(b, "s.started_at", "s.ended_at");
    let mut sql = Sql::new(&format!(
        "SELECT {day} AS day, COUNT(*) AS calls, COUNT(*) AS connected, \
         SUM(CASE WHEN s.outcome IS NULL OR s.outcome NOT IN ('voicemail', 'no_answer') THEN 1 ELSE 0 END) AS answered, \
         SUM(CASE WHEN s.outcome = 'meeting_booked' THEN 1 ELSE 0 END) AS meetings, \
         SUM(CASE WHEN {secs} >= 30 THEN 1 ELSE 0 END) AS conversations, \
         SUM(CASE WHEN s.outcome IN {INTERESTED} THEN 1 ELSE 0 END) AS interested, \
         CAST(SUM({secs}) AS DOUBLE PRECISION) AS seconds, COUNT(*) AS timed \
         FROM copilot_sessions s",
        day = day_of(b, "s.started_at")
    ));
    rep_where(&mut sql, org, r, q);
    sql.push(" GROUP BY 1");
    rows_by_day(db, sql).await
}

async fn rows_by_day<C: ConnectionTrait>(db: &C, sql: Sql) -> ServiceResult<BTreeMap<String, Counts>> {
    let rows = db.query_all(sql.build(db.get_database_backend())).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let day: String = r.try_get("", "day").unwrap_or_default();
            let c = Counts {
                calls: int(r, "calls"),
                connected: int(r, "connected"),
                answered: int(r, "answered"),
                meetings: int(r, "meetings"),
                conversations: int(r, "conversations"),
                interested: int(r, "interested"),
                seconds: float(r, "seconds").unwrap_or(0.0),
                timed: int(r, "timed"),
            };
            (day, c)
        })
        .collect())
}

/// `select` (where `{day}` is the call's UTC day) over the analysed calls of
/// each kind the filters keep — AI calls (`calls c`) and copilot calls
/// (`copilot_sessions s`), each joined to its analysis (`a`) — then `tail`.
fn analysed(b: DbBackend, org: Uuid, r: Range, q: &AnalyticsQuery, select: &str, tail: &str) -> Vec<Sql> {
    let (ai, reps) = kinds(q);
    let mut parts = Vec::new();
    if ai {
        let head = select.replace("{day}", &day_of(b, "c.created_at"));
        let mut sql = Sql::new(&format!("{head} FROM calls c JOIN call_analyses a ON a.call_id = c.id"));
        ai_where(&mut sql, org, r, q);
        sql.push(tail);
        parts.push(sql);
    }
    if reps {
        let head = select.replace("{day}", &day_of(b, "s.started_at"));
        let mut sql =
            Sql::new(&format!("{head} FROM copilot_sessions s JOIN call_analyses a ON a.session_id = s.id"));
        rep_where(&mut sql, org, r, q);
        sql.push(tail);
        parts.push(sql);
    }
    parts
}

/// Mean sentiment per day over analysed calls of both kinds.
async fn sentiment_days<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
) -> ServiceResult<BTreeMap<String, (f64, u64)>> {
    let b = db.get_database_backend();
    let mut out: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let select = "SELECT {day} AS day, CAST(SUM(a.sentiment_score) AS DOUBLE PRECISION) AS total, \
                  COUNT(a.sentiment_score) AS n";
    let parts = analysed(b, org, r, q, select, " GROUP BY 1");
    for sql in parts {
        for row in db.query_all(sql.build(b)).await? {
            let day: String = row.try_get("", "day").unwrap_or_default();
            let e = out.entry(day).or_default();
            e.0 += float(&row, "total").unwrap_or(0.0);
            e.1 += int(&row, "n");
        }
    }
    Ok(out)
}

async fn totals_of<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
) -> ServiceResult<(Totals, Counts, BTreeMap<String, Counts>)> {
    let (ai, reps) = kinds(q);
    let a = if ai { ai_days(db, org, r, q).await? } else { BTreeMap::new() };
    let h = if reps { rep_days(db, org, r, q).await? } else { BTreeMap::new() };
    let mut all = Counts::default();
    let mut by_day: BTreeMap<String, Counts> = BTreeMap::new();
    let (mut ai_calls, mut rep_calls) = (0, 0);
    for (day, c) in a.iter() {
        ai_calls += c.calls;
        all.add(c);
        by_day.entry(day.clone()).or_default().add(c);
    }
    for (day, c) in h.iter() {
        rep_calls += c.calls;
        all.add(c);
        by_day.entry(day.clone()).or_default().add(c);
    }
    let sentiment = sentiment_days(db, org, r, q).await?;
    let (s_total, s_n) = sentiment.values().fold((0.0, 0), |(t, n), (a, b)| (t + a, n + b));
    let totals = Totals {
        calls: all.calls,
        ai_calls,
        rep_calls,
        connected: all.connected,
        answered: all.answered,
        meetings: all.meetings,
        connect_rate: ratio(all.connected, all.calls),
        answer_rate: ratio(all.answered, all.calls),
        avg_duration_s: (all.timed > 0).then(|| all.seconds / all.timed as f64),
        avg_sentiment: (s_n > 0).then(|| s_total / s_n as f64),
        cost_per_meeting: None,
    };
    let mut days = by_day;
    days.retain(|_, c| c.calls > 0);
    Ok((totals, all, days))
}

async fn leaders<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
    reps: bool,
) -> ServiceResult<Vec<Leader>> {
    let b = db.get_database_backend();
    let (sum, n) = score_sum("a");
    let mut sql = if reps {
        let secs = seconds_between(b, "s.started_at", "s.ended_at");
        Sql::new(&format!(
            "SELECT s.user_id AS id, MAX(u.name) AS name, COUNT(*) AS calls, COUNT(*) AS connected, \
             SUM(CASE WHEN s.outcome = 'meeting_booked' THEN 1 ELSE 0 END) AS meetings, \
             CAST(AVG({secs}) AS DOUBLE PRECISION) AS duration, {sum} AS score_sum, {n} AS score_n \
             FROM copilot_sessions s LEFT JOIN users u ON u.id = s.user_id \
             LEFT JOIN call_analyses a ON a.session_id = s.id"
        ))
    } else {
        Sql::new(&format!(
            "SELECT c.agent_id AS id, MAX(g.name) AS name, COUNT(*) AS calls, \
             SUM(CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS connected, \
             SUM(CASE WHEN c.outcome = 'meeting_booked' THEN 1 ELSE 0 END) AS meetings, \
             CAST(AVG(c.talk_ms) AS DOUBLE PRECISION) / 1000.0 AS duration, {sum} AS score_sum, {n} AS score_n \
             FROM calls c LEFT JOIN agents g ON g.id = c.agent_id \
             LEFT JOIN call_analyses a ON a.call_id = c.id"
        ))
    };
    if reps {
        rep_where(&mut sql, org, r, q);
        sql.push(" AND s.user_id IS NOT NULL GROUP BY s.user_id");
    } else {
        ai_where(&mut sql, org, r, q);
        sql.push(" AND c.agent_id IS NOT NULL GROUP BY c.agent_id");
    }
    let rows = db.query_all(sql.build(b)).await?;
    let mut out: Vec<Leader> = rows
        .iter()
        .filter_map(|row| {
            let id: Uuid = row.try_get("", "id").ok()?;
            let (calls, meetings) = (int(row, "calls"), int(row, "meetings"));
            let scored = int(row, "score_n");
            Some(Leader {
                id,
                name: row.try_get::<Option<String>>("", "name").ok().flatten().unwrap_or_default(),
                calls,
                connected: int(row, "connected"),
                meetings,
                meeting_rate: ratio(meetings, calls),
                avg_duration_s: float(row, "duration"),
                avg_score: (scored > 0).then(|| float(row, "score_sum").unwrap_or(0.0) / scored as f64),
            })
        })
        .collect();
    out.sort_by(|a, b| b.meetings.cmp(&a.meetings).then(b.calls.cmp(&a.calls)).then(a.name.cmp(&b.name)));
    Ok(out)
}

async fn phase_averages<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
) -> ServiceResult<Vec<PhaseAverage>> {
    let b = db.get_database_backend();
    let cols = [
        "score_opening",
        "score_discovery",
        "score_presentation",
        "score_objection_handling",
        "score_closing",
    ];
    let select = cols
        .iter()
        .map(|c| format!("CAST(SUM(a.{c}) AS DOUBLE PRECISION) AS {c}_sum, COUNT(a.{c}) AS {c}_n"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sums = [(0.0f64, 0u64); 5];
    let parts = analysed(b, org, r, q, &format!("SELECT {select}"), "");
    for sql in parts {
        if let Some(row) = db.query_one(sql.build(b)).await? {
            for (i, c) in cols.iter().enumerate() {
                sums[i].0 += float(&row, &format!("{c}_sum")).unwrap_or(0.0);
                sums[i].1 += int(&row, &format!("{c}_n"));
            }
        }
    }
    Ok(Phase::ALL
        .into_iter()
        .zip(sums)
        .map(|(phase, (total, n))| PhaseAverage {
            phase,
            average: (n > 0).then(|| total / n as f64),
            scored: n,
        })
        .collect())
}

async fn latency<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    r: Range,
    q: &AnalyticsQuery,
) -> ServiceResult<Vec<AgentLatency>> {
    if !kinds(q).0 {
        return Ok(Vec::new());
    }
    let b = db.get_database_backend();
    let mut sql = Sql::new("SELECT c.agent_id AS id, g.name AS name, c.agent_report AS report FROM calls c LEFT JOIN agents g ON g.id = c.agent_id");
    ai_where(&mut sql, org, r, q);
    sql.push(&format!(" AND c.agent_report IS NOT NULL ORDER BY c.created_at DESC LIMIT {LATENCY_SAMPLE}"));
    let mut by_agent: BTreeMap<Uuid, (String, Vec<f64>)> = BTreeMap::new();
    for row in db.query_all(sql.build(b)).await? {
        let Ok(id) = row.try_get::<Uuid>("", "id") else { continue };
        let report: Option<serde_json::Value> = row.try_get("", "report").ok().flatten();
        let Some(report) = report.and_then(|v| serde_json::from_value::<AgentReport>(v).ok()) else {
            continue;
        };
        let name = row.try_get::<Option<String>>("", "name").ok().flatten().unwrap_or_default();
        let e = by_agent.entry(id).or_insert_with(|| (name, Vec::new()));
        e.1.extend(report.latencies.iter().map(|l| l.first_audio_ms).filter(|v| v.is_finite() && *v >= 0.0));
    }
    Ok(by_agent
        .into_iter()
        .map(|(agent_id, (name, mut v))| AgentLatency {
            agent_id,
            name,
            replies: v.len() as u64,
            p50_ms: quantile(&mut v, 0.5),
            p90_ms: quantile(&mut v, 0.9),
        })
        .collect())
}

/// The dashboard for `q` (members with [`Permission::ViewAnalytics`]).
pub async fn dashboard(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    today: NaiveDate,
    q: &AnalyticsQuery,
) -> ServiceResult<Dashboard> {
    ctx.require(Permission::ViewAnalytics)?;
    let (from, until) = range(q, today)?;
    let org = ctx.org_id();
    let r = instants(from, until);
    let len = (until - from).num_days() + 1;
    let before = instants(from - Duration::days(len), from - Duration::days(1));
    // One snapshot for every figure (and PostgreSQL plans for the values).
    let txn = crate::db::begin_planned_read(db).await?;
    let (totals, all, by_day) = totals_of(&txn, org, r, q).await?;
    let (previous, _, _) = totals_of(&txn, org, before, q).await?;
    let sentiment = sentiment_days(&txn, org, r, q).await?;
    let days = by_day
        .into_iter()
        .filter_map(|(day, c)| {
            let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()?;
            let avg_sentiment = sentiment.get(&day).and_then(|(t, n)| (*n > 0).then(|| t / *n as f64));
            Some(DayRow {
                day: date,
                calls: c.calls,
                connected: c.connected,
                meetings: c.meetings,
                avg_sentiment,
            })
        })
        .collect();
    let funnel = [
        ("dialled", all.calls),
        ("connected", all.connected),
        ("conversation", all.conversations),
        ("interested", all.interested),
        ("meeting", all.meetings),
    ]
    .into_iter()
    .map(|(stage, count)| FunnelStage { stage: stage.into(), count })
    .collect();
    let (ai, reps) = kinds(q);
    let agents = if ai { leaders(&txn, org, r, q, false).await? } else { Vec::new() };
    let rep_rows = if reps { leaders(&txn, org, r, q, true).await? } else { Vec::new() };
    let phases = phase_averages(&txn, org, r, q).await?;
    let latency = latency(&txn, org, r, q).await?;
    txn.commit().await?;
    Ok(Dashboard { from, until, totals, previous, days, funnel, agents, reps: rep_rows, phases, latency })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_range_defaults_to_thirty_days_and_refuses_nonsense() {
        let today = d("2026-12-07");
        assert_eq!(range(&AnalyticsQuery::default(), today).unwrap(), (d("2026-11-08"), today));
        let q = AnalyticsQuery { from: Some(d("2026-12-08")), until: Some(today), ..Default::default() };
        assert_eq!(range(&q, today).unwrap_err().field.as_deref(), Some("from"));
        let q = AnalyticsQuery { from: Some(d("2024-01-01")), until: Some(today), ..Default::default() };
        assert!(range(&q, today).is_err());
        let r = instants(d("2026-12-01"), d("2026-12-01"));
        assert_eq!(r.until - r.from, Duration::days(1));
    }

    #[test]
    fn placeholders_follow_the_backend() {
        let mut s = Sql::new("SELECT 1 WHERE a = ");
        let p = s.bind(1i64);
        s.push(&p);
        assert_eq!(s.build(DbBackend::Sqlite).sql, "SELECT 1 WHERE a = ?1");
    }
}
