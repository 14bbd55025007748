#![recursion_limit = "512"]
//! The managers' dashboard at a million calls: `services::analytics::dashboard`
//! (every figure of `/app/analytics`: totals and the previous period, days,
//! funnel, leaderboards, phase scores, latency) over 1,000,000 AI calls and
//! 50,000 copilot calls spread across a year, on SQLite and PostgreSQL.
//! Prints how long the first read takes (it builds the per-day rollups),
//! then p50 / p95 per dashboard request shape (target p95 < 200 ms), and of
//! a read that follows a write (its day rebuilt first). Agent reports ride
//! on one answered call in five, as the latency figures read them.
//!
//! Run: `cargo bench -p server --bench analytics` (or `scripts/bench`).
//! Env: `ANALYTICS_CALLS` (default 1000000), `ANALYTICS_RUNS` (default 20),
//! `HANDOO_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`;
//! unreachable is a failure with CI=true).

#[path = "support/analytics_seed.rs"]
mod seed;
mod support;

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use domain::analytics::AnalyticsQuery;
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};
use uuid::Uuid;

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn bench(name: &str, url: &str, calls: u64, runs: usize) {
    println!("\n== {name}: {calls} AI calls + {} copilot calls over 365 days", calls / 20);
    let db = services::db::connect_and_migrate(url).await.expect("database");
    // An organisation, a user, an agent and a prospect for the rows to hang on.
    let (org, user, agent, prospect) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    let write = |e: sea_orm::DbErr| panic!("fixture row: {e}");
    entity::users::Entity::insert(
        entity::users::Model {
            id: user,
            email: format!("rep-{user}@example.com"),
            name: "Rita Rep".into(),
            locale: "en".into(),
            email_verified: true,
            last_org_id: None,
            created_at: now,
            updated_at: now,
        }
        .into_active_model(),
    )
    .exec_without_returning(&db)
    .await
    .unwrap_or_else(write);
    entity::organizations::Entity::insert(
        entity::organizations::Model {
            id: org,
            name: "Bench".into(),
            slug: format!("bench-{org}"),
            created_at: now,
            updated_at: now,
        }
        .into_active_model(),
    )
    .exec_without_returning(&db)
    .await
    .unwrap_or_else(write);
    let settings = serde_json::to_value(domain::agent::AgentSettings {
        name: "Max".into(),
        ..domain::agent::AgentSettings::new_default(domain::agent::AgentKind::Voice, "en_us")
    })
    .unwrap();
    entity::agents::Entity::insert(
        entity::agents::Model {
            id: agent,
            org_id: org,
            folder_id: None,
            name: "Max".into(),
            kind: "voice".into(),
            active: true,
            settings,
            version: 1,
            created_by: None,
            created_at: now,
            updated_at: now,
        }
        .into_active_model(),
    )
    .exec_without_returning(&db)
    .await
    .unwrap_or_else(write);
    entity::prospects::Entity::insert(
        entity::prospects::Model {
            id: prospect,
            org_id: org,
            first_name: "Ada".into(),
            last_name: "L".into(),
            company: String::new(),
            title: String::new(),
            phone: Some("+33612345678".into()),
            email: None,
            timezone: "Europe/Paris".into(),
            status: "new".into(),
            owner_id: None,
            tags: String::new(),
            custom: serde_json::json!({}),
            do_not_call: false,
            opted_out: false,
            search_text: "ada".into(),
            import_id: None,
            created_by: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            delete_batch: None,
        }
        .into_active_model(),
    )
    .exec_without_returning(&db)
    .await
    .unwrap_or_else(write);
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let s = seed::Seed { org, agent, user, prospect, start, days: 365 };
    let t = Instant::now();
    seed::seed_ai_calls(&db, &s, calls).await;
    seed::seed_rep_calls(&db, &s, calls / 20).await;
    // Fresh statistics, as autovacuum (PostgreSQL) or the server's own
    // ANALYZE after imports (SQLite) would leave them.
    db.execute_unprepared("ANALYZE").await.expect("analyze");
    let _ = backend;
    println!("  written in {:.1} s", t.elapsed().as_secs_f64());

    let ctx = services::OrgCtx::system(org, "bench");
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let today = d("2026-12-31").unwrap();
    // The first read builds the organisation's rollups from every call.
    let t = Instant::now();
    services::analytics::dashboard(&db, &ctx, today, &AnalyticsQuery::default()).await.expect("dashboard");
    println!(
        "  first read (builds the rollups of all {} calls)   {:8.1} ms",
        calls + calls / 20,
        t.elapsed().as_secs_f64() * 1000.0
    );
    let shapes: Vec<(&str, AnalyticsQuery)> = vec![
        ("last 30 days (the default)", AnalyticsQuery::default()),
        ("last 7 days", AnalyticsQuery { from: d("2026-12-25"), ..Default::default() }),
        ("a quarter", AnalyticsQuery { from: d("2026-10-01"), ..Default::default() }),
        ("the whole year", AnalyticsQuery { from: d("2026-01-01"), ..Default::default() }),
        ("30 days, one agent", AnalyticsQuery { agent_id: Some(agent), ..Default::default() }),
        ("30 days, one rep", AnalyticsQuery { rep_id: Some(user), ..Default::default() }),
    ];
    for (label, q) in shapes {
        let mut ms = Vec::with_capacity(runs);
        let mut calls_seen = 0;
        for i in 0..runs + 2 {
            let t = Instant::now();
            let dash = services::analytics::dashboard(&db, &ctx, today, &q).await.expect("dashboard");
            // Two warm-up runs.
            if i >= 2 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            calls_seen = dash.totals.calls;
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  {label:<28} p50 {:7.1} ms   p95 {:7.1} ms   ({calls_seen} calls in range, n={runs})",
            pct(&ms, 0.5),
            pct(&ms, 0.95)
        );
    }
    after_a_write(&db, org, today, runs).await;
}

/// A read right after a write on `today`: the day is rebuilt first.
async fn after_a_write(db: &sea_orm::DatabaseConnection, org: Uuid, today: NaiveDate, runs: usize) {
    let ctx = services::OrgCtx::system(org, "bench");
    let b = db.get_database_backend();
    let insert = match b {
        sea_orm::DbBackend::Postgres => "INSERT INTO analytics_dirty (id, org_id, day) VALUES ($1, $2, $3)",
        _ => "INSERT INTO analytics_dirty (id, org_id, day) VALUES (?, ?, ?)",
    };
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let values: [sea_orm::Value; 3] = [Uuid::now_v7().into(), org.into(), today.to_string().into()];
        db.execute(sea_orm::Statement::from_sql_and_values(b, insert, values)).await.expect("a mark");
        let t = Instant::now();
        services::analytics::dashboard(db, &ctx, today, &AnalyticsQuery::default()).await.expect("dashboard");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  {:<28} p50 {:7.1} ms   p95 {:7.1} ms   (today rebuilt first, n={runs})",
        "30 days, after a write",
        pct(&ms, 0.5),
        pct(&ms, 0.95)
    );
}

#[tokio::main]
async fn main() {
    let calls: u64 = std::env::var("ANALYTICS_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let runs: usize = std::env::var("ANALYTICS_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("handoo-analytics-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench("SQLite", &format!("sqlite://{}/bench.db?mode=rwc", dir.display()), calls, runs).await;
    let _ = std::fs::remove_dir_all(&dir);

    support::on_postgres(
        "analytics",
        false,
        |url| async move { bench("PostgreSQL", &url, calls, runs).await },
    )
    .await;
}
