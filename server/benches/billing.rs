#![recursion_limit = "512"]
//! Billing, against the Polar stand-in in `mock-vendors`:
//! 1. usage recording: what writing a call's usage row adds to the
//!    transaction that ends the call (Polar on, so the report job is queued
//!    too — once a minute), p50 / p99, beside the same transaction without it;
//! 2. webhooks: Standard Webhooks verification alone (one core), then
//!    signed `subscription.updated` webhooks POSTed to `/webhooks/polar` by
//!    16 clients, events/s — each verified, its id recorded once, its
//!    subscription applied or found older — a third of them delivered twice;
//!    then a check that every distinct webhook id is stored exactly once;
//! 3. reporting: pending usage rows sent to the stand-in's event ingestion
//!    in batches, events/s; then a check that Polar has each exactly once.
//!
//! On SQLite and PostgreSQL (`HANDOO_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; unreachable is a failure with
//! CI=true). Run: `cargo bench -p server --bench billing` (or `scripts/bench`).
//! Env: `BILLING_RECORDS` (default 2000), `BILLING_WEBHOOKS` (default 6000),
//! `BILLING_REPORT` (default 20000).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_vendors::MockVendors;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};
use services::billing::signature::{self, Headers};
use services::billing::usage::{self, Record, Source};

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "whsec_bench_handoo_polar";
const ORGS: usize = 20;

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct App {
    base: String,
    http: reqwest::Client,
    csrf: String,
    state: server::AppState,
}

impl App {
    async fn call(&self, name: &str, form: &[(&str, String)]) -> Value {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        support::rest(&self.http, &self.base, &self.csrf, method, path, body).await
    }
}

async fn start(db_url: &str, mock: &MockVendors) -> (App, Vec<String>) {
    let vars = [
        ("DATABASE_URL", db_url.to_string()),
        ("POLAR_API_URL", mock.base_url("polar")),
        ("POLAR_ACCESS_TOKEN", "polar_oat_bench".to_string()),
        ("POLAR_WEBHOOK_SECRET", SECRET.to_string()),
    ];
    let (base, state) = support::serve(&vars).await;
    let (http, csrf) = support::session(&base, Duration::from_secs(24 * 3600)).await;
    let first = support::owner_org(&http, &base, &csrf, PASSWORD).await;
    let app = App { base, http, csrf, state };
    let mut orgs = vec![first];
    for i in 1..ORGS {
        let org = app.call("create_org", &[("name", format!("Bench {i}"))]).await;
        orgs.push(org["id"].as_str().unwrap().to_string());
    }
    (app, orgs)
}

/// Each organisation buys Pro through the stand-in's checkout (its webhooks
/// land here); their subscriptions as Polar sends them.
async fn subscribe(app: &App, mock: &MockVendors, orgs: &[String]) -> Vec<Value> {
    let hook = format!("{}/webhooks/polar", app.base);
    reqwest::Client::new()
        .post(format!("http://{}/__control/polar/webhook", mock.addr))
        .json(&json!({"url": hook, "secret": SECRET}))
        .send()
        .await
        .unwrap();
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for org in orgs {
        let (s, r) = app
            .rest(
                reqwest::Method::POST,
                &format!("/orgs/{org}/billing/checkout"),
                Some(json!({"plan_id": mock_vendors::polar::PRO_PRODUCT})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let paid = plain.post(format!("{}/confirm", r["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(paid.status(), 303);
    }
    let p = mock.state.polar.lock().unwrap();
    orgs.iter()
        .map(|o| {
            p.subscriptions.values().find(|s| s["customer"]["external_id"] == o.as_str()).unwrap().clone()
        })
        .collect()
}

struct Sent {
    n: usize,
    secs: f64,
    failed: usize,
}

impl Sent {
    fn per_s(&self) -> f64 {
        self.n as f64 / self.secs
    }
}

/// POSTs every `(headers, body)` to the webhook, 16 at a time.
async fn post_all(base: &str, hooks: Vec<([(String, String); 3], String)>) -> Sent {
    let client = reqwest::Client::new();
    let queue = Arc::new(std::sync::Mutex::new(hooks.into_iter().rev().collect::<Vec<_>>()));
    let n = queue.lock().unwrap().len();
    let url = format!("{base}/webhooks/polar");
    let t0 = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (client, queue, url) = (client.clone(), queue.clone(), url.clone());
            tokio::spawn(async move {
                let mut failed = 0;
                loop {
                    let Some((headers, body)) = queue.lock().unwrap().pop() else { return failed };
                    let mut req = client.post(&url).header("content-type", "application/json").body(body);
                    for (k, v) in headers {
                        req = req.header(k, v);
                    }
                    if req.send().await.unwrap().status() != 204 {
                        failed += 1;
                    }
                }
            })
        })
        .collect();
    let mut failed = 0;
    for w in workers {
        failed += w.await.unwrap();
    }
    Sent { n, secs: t0.elapsed().as_secs_f64(), failed }
}

fn signed(id: &str, ts: i64, body: &str) -> [(String, String); 3] {
    [
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        ("webhook-signature".into(), mock_vendors::polar::signature(SECRET, id, ts, body)),
    ]
}

async fn bench(name: &str, db_url: &str, records: usize, webhooks: usize, report: usize) {
    println!("\n== {name}");
    let mock = MockVendors::start().await;
    let (app, orgs) = start(db_url, &mock).await;
    let db = &app.state.db;
    let env = &app.state.server_ctx.providers.billing;
    let org: uuid::Uuid = orgs[0].parse().unwrap();

    // 1. A call's usage row, in the transaction that ends it.
    let record = || Record {
        org_id: org,
        source: Source::Call(uuid::Uuid::now_v7()),
        agent_id: None,
        agent_kind: Some("voice"),
        api_key_id: None,
        model: Some("openai/gpt-4.1-mini".into()),
        usage: domain::billing::Usage { call_seconds: 95, llm_input_tokens: 1800, ..Default::default() },
        at: chrono::Utc::now(),
    };
    let (mut with, mut inside, mut without) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..records + 50 {
        // The bare transaction: what ending a call costs without billing.
        let t0 = Instant::now();
        let txn = services::db::begin_write(db).await.unwrap();
        txn.execute_unprepared("SELECT 1").await.unwrap();
        txn.commit().await.unwrap();
        let bare = t0.elapsed().as_secs_f64() * 1000.0;
        let t0 = Instant::now();
        let txn = services::db::begin_write(db).await.unwrap();
        txn.execute_unprepared("SELECT 1").await.unwrap();
        let t1 = Instant::now();
        assert!(usage::record(&txn, env, record()).await.unwrap());
        let own = t1.elapsed().as_secs_f64() * 1000.0;
        txn.commit().await.unwrap();
        let whole = t0.elapsed().as_secs_f64() * 1000.0;
        if i >= 50 {
            without.push(bare);
            with.push(whole);
            inside.push(own);
        }
    }
    for v in [&mut with, &mut inside, &mut without] {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    println!(
        "  usage row written in the call's transaction        p50 {:6.3} ms   p99 {:6.3} ms   (n={records}; target < 1 ms)",
        pct(&inside, 0.5),
        pct(&inside, 0.99)
    );
    println!(
        "  the transaction with it / without it (commit incl.) p50 {:6.3} / {:6.3} ms   p99 {:6.3} / {:6.3} ms",
        pct(&with, 0.5),
        pct(&without, 0.5),
        pct(&with, 0.99),
        pct(&without, 0.99)
    );

    // 2a. Verification alone.
    let body = json!({"type": "subscription.updated", "data": {"id": "x", "status": "active"}}).to_string();
    let now = chrono::Utc::now().timestamp();
    let sig = mock_vendors::polar::signature(SECRET, "msg_verify", now, &body);
    let h = Headers { id: "msg_verify", timestamp: &now.to_string(), signature: &sig };
    let n = 200_000;
    let t0 = Instant::now();
    for _ in 0..n {
        signature::verify(SECRET, &h, body.as_bytes(), now).unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "  signature verification alone                        {:8.0} /s   ({:.2} µs each)",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );

    // 2b. Through the HTTP boundary: updates of the organisations'
    // subscriptions, each newer than the last of its organisation (sent 16
    // at a time, so some arrive after a newer one and are found older).
    let subs = subscribe(&app, &mock, &orgs).await;
    let mut hooks = Vec::with_capacity(webhooks);
    let mut distinct = 0usize;
    let base = chrono::Utc::now();
    let mut i = 0usize;
    while hooks.len() < webhooks {
        let mut data = subs[i % subs.len()].clone();
        let at = base + chrono::Duration::milliseconds(i as i64);
        data["modified_at"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        data["status"] = json!(if i.is_multiple_of(2) { "active" } else { "past_due" });
        let body = json!({"type": "subscription.updated", "timestamp": data["modified_at"], "data": data})
            .to_string();
        let id = format!("msg_bench_{i}");
        let h = signed(&id, chrono::Utc::now().timestamp(), &body);
        distinct += 1;
        if i.is_multiple_of(3) {
            hooks.push((h.clone(), body.clone()));
        }
        hooks.push((h, body));
        i += 1;
    }
    let sent = post_all(&app.base, hooks).await;
    let stored = entity::webhook_receipts::Entity::find()
        .filter(entity::webhook_receipts::Column::Id.like("msg_bench_%"))
        .count(db)
        .await
        .unwrap() as usize;
    println!(
        "  signed webhooks processed, 16 clients               {:8.0} events/s   ({} sent, {} distinct, {} stored{}{})",
        sent.per_s(),
        sent.n,
        distinct,
        stored,
        if stored == distinct { ", each once" } else { " — MISMATCH" },
        if sent.failed > 0 { format!(", {} not 204", sent.failed) } else { String::new() },
    );

    // 3. Reporting: `report` pending rows across the organisations, sent
    // in batches. The report job queued by part 1 is taken off first, so
    // the figure is one reporter's.
    usage::report_pending(db, env, u64::MAX).await.unwrap();
    db.execute_unprepared(&format!("DELETE FROM jobs WHERE kind = '{}'", usage::REPORT_JOB)).await.unwrap();
    let before = mock.state.polar.lock().unwrap().events.len();
    let rows: Vec<_> = (0..report)
        .map(|i| entity::usage_records::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            org_id: Set(orgs[i % orgs.len()].parse().unwrap()),
            source: Set("call".into()),
            source_id: Set(uuid::Uuid::now_v7()),
            agent_id: Set(None),
            agent_kind: Set(Some("voice".into())),
            api_key_id: Set(None),
            model: Set(None),
            call_seconds: Set(60 + (i % 300) as i64),
            llm_input_tokens: Set(1000),
            llm_output_tokens: Set(200),
            stt_seconds: Set(60),
            tts_characters: Set(900),
            occurred_at: Set(chrono::Utc::now()),
            reported_at: Set(None),
        })
        .collect();
    for chunk in rows.chunks(1000) {
        entity::usage_records::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await.unwrap();
    }
    let t0 = Instant::now();
    let (inserted, duplicates) = usage::report_pending(db, env, u64::MAX).await.unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let pending = entity::usage_records::Entity::find()
        .filter(entity::usage_records::Column::ReportedAt.is_null())
        .count(db)
        .await
        .unwrap();
    let at_polar = mock.state.polar.lock().unwrap().events.len() - before;
    println!(
        "  usage reported to Polar's ingestion (batches of {})  {:8.0} events/s   ({report} rows: {inserted} new at Polar, {duplicates} already there, {pending} left pending, {at_polar} received{})",
        usage::BATCH,
        (inserted + duplicates) as f64 / secs,
        if at_polar == report && pending == 0 { ", each once" } else { " — MISMATCH" },
    );
}

#[tokio::main]
async fn main() {
    let (records, webhooks, report) =
        (env_n("BILLING_RECORDS", 2000), env_n("BILLING_WEBHOOKS", 6000), env_n("BILLING_REPORT", 20_000));
    let dir = std::env::temp_dir().join(format!("handoo-billing-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench("SQLite", &format!("sqlite://{}/bench.db", dir.display()), records, webhooks, report).await;
    let _ = std::fs::remove_dir_all(&dir);

    support::on_postgres("billing", false, |url| async move {
        bench("PostgreSQL", &url, records, webhooks, report).await
    })
    .await;
}
