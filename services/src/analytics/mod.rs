//! The managers' dashboard: AI agents' calls (`calls`) and reps' copilot
//! calls (`copilot_sessions`) over a range of UTC days, each
//! organisation's own, per day, per agent and per rep, with the analyses'
//! sentiment and phase scores beside them. Every figure but latency comes
//! from the per-day rollups ([`rollup`]), brought up to date as the
//! dashboard is read, so a range reads a few hundred summed rows however
//! many calls it holds (`cargo bench --bench analytics` prints the time at
//! a million calls). Latency quantiles do not add up across days: they are
//! read from the range's latest agent reports.

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

pub(crate) mod rollup;

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
pub(crate) fn day_of(backend: DbBackend, col: &str) -> String {
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

fn int(r: &QueryResult, col: &str) -> u64 {
    r.try_get::<Option<i64>>("", col).ok().flatten().unwrap_or(0).max(0) as u64
}

fn float(r: &QueryResult, col: &str) -> Option<f64> {
    r.try_get::<Option<f64>>("", col).ok().flatten()
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

const INTERESTED: &str = "('interested', 'callback_scheduled', 'meeting_booked')";

/// One rollup row's sums (or several added up).
#[derive(Default, Clone)]
struct Sums {
    calls: u64,
    connected: u64,
    answered: u64,
    meetings: u64,
    conversations: u64,
    interested: u64,
    seconds: f64,
    timed: u64,
    sentiment_total: f64,
    sentiment_n: u64,
    /// Per phase, in script order: the scores' sum and how many there are.
    phases: [(f64, u64); 5],
}

impl Sums {
    fn of(r: &QueryResult) -> Sums {
        let mut phases = [(0.0, 0); 5];
        for (i, p) in
            ["opening", "discovery", "presentation", "objection_handling", "closing"].iter().enumerate()
        {
            phases[i] = (float(r, &format!("{p}_sum")).unwrap_or(0.0), int(r, &format!("{p}_n")));
        }
        Sums {
            calls: int(r, "calls"),
            connected: int(r, "connected"),
            answered: int(r, "answered"),
            meetings: int(r, "meetings"),
            conversations: int(r, "conversations"),
            interested: int(r, "interested"),
            seconds: float(r, "seconds").unwrap_or(0.0),
            timed: int(r, "timed"),
            sentiment_total: float(r, "sentiment_total").unwrap_or(0.0),
            sentiment_n: int(r, "sentiment_n"),
            phases,
        }
    }

    fn add(&mut self, o: &Sums) {
        self.calls += o.calls;
        self.connected += o.connected;
        self.answered += o.answered;
        self.meetings += o.meetings;
        self.conversations += o.conversations;
        self.interested += o.interested;
        self.seconds += o.seconds;
        self.timed += o.timed;
        self.sentiment_total += o.sentiment_total;
        self.sentiment_n += o.sentiment_n;
        for (a, b) in self.phases.iter_mut().zip(o.phases) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    fn avg_sentiment(&self) -> Option<f64> {
        (self.sentiment_n > 0).then(|| self.sentiment_total / self.sentiment_n as f64)
    }

    /// The mean of every phase score.
    fn avg_score(&self) -> Option<f64> {
        let (total, n) = self.phases.iter().fold((0.0, 0), |(t, n), p| (t + p.0, n + p.1));
        (n > 0).then(|| total / n as f64)
    }
}

/// One rollup row: what it counts, and for what.
struct Row {
    day: NaiveDate,
    ai: bool,
    agent_id: Option<Uuid>,
    user_id: Option<Uuid>,
    sums: Sums,
}

/// The rollup rows of `org` from `first` to `last` (UTC days) that the
/// filters keep.
async fn rows<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    first: NaiveDate,
    last: NaiveDate,
    q: &AnalyticsQuery,
) -> ServiceResult<Vec<Row>> {
    let (ai, reps) = kinds(q);
    let mut sql = Sql::new(&format!(
        "SELECT day, kind, agent_id, user_id, {} FROM analytics_days WHERE org_id = ",
        rollup::SUMS.join(", ")
    ));
    let (o, f, l) = (sql.bind(org), sql.bind(first.to_string()), sql.bind(last.to_string()));
    sql.push(&format!("{o} AND day >= {f} AND day <= {l}"));
    let mut ai_only = String::from("kind = 'ai'");
    if let Some(id) = q.campaign_id {
        ai_only.push_str(&format!(" AND campaign_id = {}", sql.bind(id)));
    }
    if let Some(id) = q.agent_id {
        ai_only.push_str(&format!(" AND agent_id = {}", sql.bind(id)));
    }
    let mut rep_only = String::from("kind = 'rep'");
    if let Some(id) = q.rep_id {
        rep_only.push_str(&format!(" AND user_id = {}", sql.bind(id)));
    }
    match (ai, reps) {
        (true, true) => sql.push(&format!(" AND (({ai_only}) OR ({rep_only}))")),
        (true, false) => sql.push(&format!(" AND {ai_only}")),
        (false, true) => sql.push(&format!(" AND {rep_only}")),
        (false, false) => return Ok(Vec::new()),
    }
    let found = db.query_all(sql.build(db.get_database_backend())).await?;
    Ok(found
        .iter()
        .filter_map(|r| {
            let day: String = r.try_get("", "day").ok()?;
            Some(Row {
                day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()?,
                ai: r.try_get::<String>("", "kind").ok()? == "ai",
                agent_id: r.try_get::<Option<Uuid>>("", "agent_id").ok().flatten(),
                user_id: r.try_get::<Option<Uuid>>("", "user_id").ok().flatten(),
                sums: Sums::of(r),
            })
        })
        .collect())
}

fn sum_up(rows: &[&Row]) -> (Totals, Sums) {
    let mut all = Sums::default();
    let (mut ai_calls, mut rep_calls) = (0, 0);
    for r in rows {
        all.add(&r.sums);
        if r.ai {
            ai_calls += r.sums.calls;
        } else {
            rep_calls += r.sums.calls;
        }
    }
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
        avg_sentiment: all.avg_sentiment(),
        cost_per_meeting: None,
    };
    (totals, all)
}

/// The leaderboard of AI agents (`ai`) or reps, named from `names`, most
/// meetings first.
fn leaders(rows: &[&Row], ai: bool, names: &BTreeMap<Uuid, String>) -> Vec<Leader> {
    let mut by: BTreeMap<Uuid, Sums> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.ai == ai) {
        if let Some(id) = if ai { r.agent_id } else { r.user_id } {
            by.entry(id).or_default().add(&r.sums);
        }
    }
    let mut out: Vec<Leader> = by
        .into_iter()
        .map(|(id, s)| Leader {
            id,
            name: names.get(&id).cloned().unwrap_or_default(),
            calls: s.calls,
            connected: s.connected,
            meetings: s.meetings,
            meeting_rate: ratio(s.meetings, s.calls),
            avg_duration_s: (s.timed > 0).then(|| s.seconds / s.timed as f64),
            avg_score: s.avg_score(),
        })
        .collect();
    out.sort_by(|a, b| b.meetings.cmp(&a.meetings).then(b.calls.cmp(&a.calls)).then(a.name.cmp(&b.name)));
    out
}

/// The names of the agents and reps in `rows`.
async fn names<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    rows: &[&Row],
) -> ServiceResult<BTreeMap<Uuid, String>> {
    let b = db.get_database_backend();
    let mut out = BTreeMap::new();
    for (table, ids) in [
        ("agents", rows.iter().filter_map(|r| r.agent_id).collect::<std::collections::BTreeSet<_>>()),
        ("users", rows.iter().filter_map(|r| r.user_id).collect()),
    ] {
        if ids.is_empty() {
            continue;
        }
        let mut sql = Sql::new(&format!("SELECT id, name FROM {table} WHERE id IN ("));
        let marks: Vec<String> = ids.into_iter().map(|id| sql.bind(id)).collect();
        sql.push(&marks.join(", "));
        sql.push(")");
        if table == "agents" {
            // An agent is its organisation's (users are anyone's: a rep who left keeps their name).
            let o = sql.bind(org);
            sql.push(&format!(" AND org_id = {o}"));
        }
        for r in db.query_all(sql.build(b)).await? {
            if let (Ok(id), Ok(name)) = (r.try_get::<Uuid>("", "id"), r.try_get::<String>("", "name")) {
                out.insert(id, name);
            }
        }
    }
    Ok(out)
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
    let len = (until - from).num_days() + 1;
    let before = from - Duration::days(len);
    rollup::refresh(db, org).await?;
    // One snapshot for every figure (and PostgreSQL plans for the values).
    let txn = crate::db::begin_planned_read(db).await?;
    let found = rows(&txn, org, before, until, q).await?;
    let (now, earlier): (Vec<&Row>, Vec<&Row>) = found.iter().partition(|r| r.day >= from);
    let (totals, all) = sum_up(&now);
    let (previous, _) = sum_up(&earlier);
    let mut by_day: BTreeMap<NaiveDate, Sums> = BTreeMap::new();
    for r in &now {
        by_day.entry(r.day).or_default().add(&r.sums);
    }
    let days = by_day
        .into_iter()
        .filter(|(_, s)| s.calls > 0)
        .map(|(day, s)| DayRow {
            day,
            calls: s.calls,
            connected: s.connected,
            meetings: s.meetings,
            avg_sentiment: s.avg_sentiment(),
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
    let names = names(&txn, org, &now).await?;
    let phases = Phase::ALL
        .into_iter()
        .zip(all.phases)
        .map(|(phase, (total, n))| PhaseAverage {
            phase,
            average: (n > 0).then(|| total / n as f64),
            scored: n,
        })
        .collect();
    let latency = latency(&txn, org, instants(from, until), q).await?;
    txn.commit().await?;
    Ok(Dashboard {
        from,
        until,
        totals,
        previous,
        days,
        funnel,
        agents: leaders(&now, true, &names),
        reps: leaders(&now, false, &names),
        phases,
        latency,
    })
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
