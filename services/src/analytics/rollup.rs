//! Per-day rollups of the dashboard's figures (`analytics_days`, see the
//! m0023 migration). Every write that changes a figure — a call placed or
//! moving on, its outcome, an analysis stored or corrected, a copilot call
//! ending — marks its UTC day in `analytics_dirty`, in its own
//! transaction ([`touch`]). A dashboard read first brings its
//! organisation's rollups up to date ([`refresh`]): built from scratch the
//! first time, then only the days marked since. Marks are taken with the
//! `DELETE … RETURNING` that reads them, so a mark committed while a
//! refresh runs is left for the next one and nothing is missed.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use super::{day_of, seconds_between, Sql, INTERESTED};
use crate::ServiceResult;

/// Folded into the organisation's lock key: refreshes of one organisation
/// wait for each other, not for its other writers.
const LOCK_SALT: i64 = 0x616e_616c_7974_6963;

/// The summed columns of `analytics_days`, in the order the refresh writes
/// them (each rollup `SELECT` below lists its values in this order).
pub(super) const SUMS: [&str; 20] = [
    "calls",
    "connected",
    "answered",
    "meetings",
    "conversations",
    "interested",
    "seconds",
    "timed",
    "sentiment_total",
    "sentiment_n",
    "opening_sum",
    "opening_n",
    "discovery_sum",
    "discovery_n",
    "presentation_sum",
    "presentation_n",
    "objection_handling_sum",
    "objection_handling_n",
    "closing_sum",
    "closing_n",
];

/// The analyses' part of a rollup `SELECT`: sentiment, then the five phase
/// scores, each summed and counted where set (`a` is `call_analyses`).
fn analysis_sums() -> String {
    let mut out = vec![
        "CAST(COALESCE(SUM(a.sentiment_score), 0) AS DOUBLE PRECISION)".to_string(),
        "COUNT(a.sentiment_score)".to_string(),
    ];
    for phase in ["opening", "discovery", "presentation", "objection_handling", "closing"] {
        out.push(format!("CAST(COALESCE(SUM(a.score_{phase}), 0) AS DOUBLE PRECISION)"));
        out.push(format!("COUNT(a.score_{phase})"));
    }
    out.join(", ")
}

/// The UTC day `at` falls on, as rollups key it.
pub(crate) fn day_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Marks `at`'s day as changed for `org`, in the caller's transaction.
pub(crate) async fn touch<C: ConnectionTrait>(
    conn: &C,
    org: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let mut sql = Sql::new("INSERT INTO analytics_dirty (id, org_id, day) VALUES (");
    let (i, o, d) = (sql.bind(Uuid::now_v7()), sql.bind(org), sql.bind(day_key(at)));
    sql.push(&format!("{i}, {o}, {d})"));
    conn.execute(sql.build(conn.get_database_backend())).await?;
    Ok(())
}

async fn exists<C: ConnectionTrait>(conn: &C, text: &str, org: Uuid) -> ServiceResult<bool> {
    let mut sql = Sql::new(text);
    let o = sql.bind(org);
    sql.text = sql.text.replace("{org}", &o);
    Ok(conn.query_one(sql.build(conn.get_database_backend())).await?.is_some())
}

/// Brings `org`'s rollups up to date. A clean organisation costs two
/// indexed lookups and no write.
pub(crate) async fn refresh(db: &DatabaseConnection, org: Uuid) -> ServiceResult<()> {
    const BUILT: &str = "SELECT 1 AS x FROM analytics_built WHERE org_id = {org}";
    const DIRTY: &str = "SELECT 1 AS x FROM analytics_dirty WHERE org_id = {org} LIMIT 1";
    if exists(db, BUILT, org).await? && !exists(db, DIRTY, org).await? {
        return Ok(());
    }
    let txn = crate::db::begin_write(db).await?;
    let b = txn.get_database_backend();
    if b == DbBackend::Postgres {
        txn.execute(Statement::from_sql_and_values(
            b,
            "SELECT pg_advisory_xact_lock($1)",
            [(crate::db::org_lock_key(org) ^ LOCK_SALT).into()],
        ))
        .await?;
    }
    // Looked at again under the lock: another reader may have done it.
    let built = exists(&txn, BUILT, org).await?;
    let marked = take_marks(&txn, org).await?;
    if !built {
        rebuild(&txn, org, None).await?;
        let mut sql = Sql::new("INSERT INTO analytics_built (org_id, built_at) VALUES (");
        let (o, at) = (sql.bind(org), sql.bind(crate::now()));
        sql.push(&format!("{o}, {at})"));
        txn.execute(sql.build(b)).await?;
    } else {
        for span in spans(&marked) {
            rebuild(&txn, org, Some(span)).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// The days marked for `org`, the marks removed.
async fn take_marks<C: ConnectionTrait>(txn: &C, org: Uuid) -> ServiceResult<BTreeSet<NaiveDate>> {
    let mut sql = Sql::new("DELETE FROM analytics_dirty WHERE org_id = ");
    let o = sql.bind(org);
    sql.push(&format!("{o} RETURNING day"));
    let rows = txn.query_all(sql.build(txn.get_database_backend())).await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String>("", "day").ok())
        .filter_map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .collect())
}

/// Runs of consecutive days, as `[first, last]`.
fn spans(days: &BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some((_, last)) if *last + Duration::days(1) == d => *last = d,
            _ => out.push((d, d)),
        }
    }
    out
}

/// Recomputes `org`'s rollups of the days `[first, last]` (every day when
/// `None`) from the calls, copilot calls and analyses.
async fn rebuild<C: ConnectionTrait>(
    txn: &C,
    org: Uuid,
    days: Option<(NaiveDate, NaiveDate)>,
) -> ServiceResult<()> {
    let b = txn.get_database_backend();
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();

    let mut del = Sql::new("DELETE FROM analytics_days WHERE org_id = ");
    let o = del.bind(org);
    del.push(&o);
    if let Some((first, last)) = days {
        let (f, l) = (del.bind(day_key(start(first))), del.bind(day_key(start(last))));
        del.push(&format!(" AND day >= {f} AND day <= {l}"));
    }
    txn.execute(del.build(b)).await?;

    let columns = format!("org_id, day, kind, agent_id, campaign_id, user_id, {}", SUMS.join(", "));
    let day = day_of(b, "c.created_at");
    let mut ai = Sql::new(&format!(
        "INSERT INTO analytics_days ({columns}) \
         SELECT c.org_id, {day}, 'ai', c.agent_id, c.campaign_id, CAST(NULL AS UUID), COUNT(*), \
         SUM(CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END), \
         SUM(CASE WHEN c.answered_at IS NOT NULL AND (c.outcome IS NULL OR c.outcome <> 'voicemail') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN c.outcome = 'meeting_booked' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN c.talk_ms >= 30000 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN c.outcome IN {INTERESTED} THEN 1 ELSE 0 END), \
         CAST(SUM(COALESCE(c.talk_ms, 0)) AS DOUBLE PRECISION) / 1000.0, \
         SUM(CASE WHEN c.talk_ms IS NOT NULL THEN 1 ELSE 0 END), {analysis} \
         FROM calls c LEFT JOIN call_analyses a ON a.call_id = c.id WHERE c.org_id = ",
        analysis = analysis_sums()
    ));
    let o = ai.bind(org);
    ai.push(&o);
    if let Some((first, last)) = days {
        let (f, u) = (ai.bind(start(first)), ai.bind(start(last) + Duration::days(1)));
        ai.push(&format!(" AND c.created_at >= {f} AND c.created_at < {u}"));
    }
    ai.push(&format!(" GROUP BY c.org_id, {day}, c.agent_id, c.campaign_id"));
    txn.execute(ai.build(b)).await?;

    let day = day_of(b, "s.started_at");
    let secs = seconds_between(b, "s.started_at", "s.ended_at");
    let mut rep = Sql::new(&format!(
        "INSERT INTO analytics_days ({columns}) \
         SELECT s.org_id, {day}, 'rep', CAST(NULL AS UUID), CAST(NULL AS UUID), s.user_id, COUNT(*), COUNT(*), \
         SUM(CASE WHEN s.outcome IS NULL OR s.outcome NOT IN ('voicemail', 'no_answer') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN s.outcome = 'meeting_booked' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN {secs} >= 30 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN s.outcome IN {INTERESTED} THEN 1 ELSE 0 END), \
         CAST(SUM({secs}) AS DOUBLE PRECISION), COUNT(*), {analysis} \
         FROM copilot_sessions s LEFT JOIN call_analyses a ON a.session_id = s.id \
         WHERE s.ended_at IS NOT NULL AND s.org_id = ",
        analysis = analysis_sums()
    ));
    let o = rep.bind(org);
    rep.push(&o);
    if let Some((first, last)) = days {
        let (f, u) = (rep.bind(start(first)), rep.bind(start(last) + Duration::days(1)));
        rep.push(&format!(" AND s.started_at >= {f} AND s.started_at < {u}"));
    }
    rep.push(&format!(" GROUP BY s.org_id, {day}, s.user_id"));
    txn.execute(rep.build(b)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn marked_days_are_rebuilt_in_runs() {
        let days: BTreeSet<NaiveDate> =
            ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-03", "2026-12-31"]
                .into_iter()
                .map(d)
                .collect();
        assert_eq!(
            spans(&days),
            [
                (d("2026-02-27"), d("2026-03-01")),
                (d("2026-03-03"), d("2026-03-03")),
                (d("2026-12-31"), d("2026-12-31"))
            ]
        );
        assert!(spans(&BTreeSet::new()).is_empty());
    }

    #[test]
    fn a_day_is_its_utc_date() {
        let at: DateTime<Utc> = "2026-03-29T23:59:59.999Z".parse().unwrap();
        assert_eq!(day_key(at), "2026-03-29");
    }
}
