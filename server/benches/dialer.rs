#![recursion_limit = "512"]
//! The campaign dialer at scale: 10,000 queued prospects, 50 lines, two
//! `server` processes on one PostgreSQL database dialling against the
//! LiveKit stand-in (every line busy, so each call ends as its dial does and
//! frees its line at once — the dialer, not the callee, sets the pace).
//! Prints dials per second, the scheduling lag — from the moment a dial
//! could go out (its line freed, or the start) to the dial's request —
//! p50 / p99 (target p99 < 1 s), and double dials (target zero: in the
//! database and at LiveKit).
//!
//! Run: `cargo bench -p server --bench dialer` (or `scripts/bench`).
//! Env: `DIALER_PROSPECTS` (default 10000), `DIALER_LINES` (default 50),
//! `HANDOO_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`;
//! unreachable is a failure with CI=true).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{calls, prospects};
use mock_vendors::MockVendors;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

mod support;

const PASSWORD: &str = "correct horse battery staple";

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn node(db_url: &str, mock: &MockVendors) -> (Node, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(root)
        .env("DATABASE_URL", db_url)
        .env("HANDOO_BIND", format!("127.0.0.1:{port}"))
        .env("HANDOO_PUBLIC_URL", &base)
        .env("HANDOO_SECRET_KEY", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
        .env("HANDOO_SEED_DEMO", "false")
        .env("HANDOO_VOICE_AGENT", "off")
        .env("HANDOO_EGRESS_ALLOW", "127.0.0.0/8")
        .env("LIVEKIT_URL", mock.base_url("livekit"))
        .env("LIVEKIT_API_KEY", "APIbench")
        .env("LIVEKIT_API_SECRET", mock_vendors::livekit::API_SECRET)
        .env("RUST_LOG", "error")
        .env_remove("LEPTOS_OUTPUT_NAME")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server binary");
    let n = Node(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{base}/api/v1/health")).await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "node did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (n, base)
}

struct Api {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Api {
    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        support::rest(&self.http, &self.base, &self.csrf, method, path, body).await
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn bench(db_url: &str, n: u64, lines: u32) {
    let mock = MockVendors::start().await;
    let (one, base) = node(db_url, &mock).await;
    let (two, _) = node(db_url, &mock).await;
    let (http, csrf) = support::session(&base, Duration::from_secs(3600)).await;
    let org = support::owner_org(&http, &base, &csrf, PASSWORD).await;
    let api = Api { http, base, csrf };
    let (s, _) = api
        .rest(
            reqwest::Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})),
        )
        .await;
    assert_eq!(s, 200);
    let voice = domain::agent::AgentSettings {
        name: "Max".into(),
        ..domain::agent::AgentSettings::new_default(domain::agent::AgentKind::Voice, "en_us")
    };
    let (s, agent) = api
        .rest(reqwest::Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": voice})))
        .await;
    assert_eq!(s, 201, "{agent}");
    let trunk = json!({"name": "Main", "address": "93.184.216.34", "numbers": ["+33187654321"]});
    let (s, trunk) =
        api.rest(reqwest::Method::POST, &format!("/orgs/{org}/telephony/trunks"), Some(trunk)).await;
    assert_eq!(s, 201, "{trunk}");
    api.rest(
        reqwest::Method::PUT,
        &format!("/orgs/{org}/telephony"),
        Some(json!({"default_trunk_id": trunk["id"]})),
    )
    .await;

    // The prospects, written straight to the database (busy numbers).
    let db = Database::connect(db_url).await.unwrap();
    let org_id: Uuid = org.parse().unwrap();
    let now = Utc::now();
    let mut i = 0;
    while i < n {
        let rows: Vec<prospects::ActiveModel> = (i..(i + 500).min(n))
            .map(|k| {
                sea_orm::IntoActiveModel::into_active_model(prospects::Model {
                    id: Uuid::now_v7(),
                    org_id,
                    first_name: format!("P{k}"),
                    last_name: "Bench".into(),
                    company: String::new(),
                    title: String::new(),
                    phone: Some(format!("+336{:05}486", k)),
                    email: None,
                    timezone: "Europe/Paris".into(),
                    status: "new".into(),
                    owner_id: None,
                    tags: String::new(),
                    custom: json!({}),
                    do_not_call: false,
                    opted_out: false,
                    search_text: format!("p{k} bench"),
                    import_id: None,
                    created_by: None,
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                    delete_batch: None,
                })
            })
            .collect();
        prospects::Entity::insert_many(rows).exec_without_returning(&db).await.unwrap();
        i += 500;
    }
    let day = json!([{"start_minute": 0, "end_minute": 1440}]);
    let once = json!({"max_attempts": 1, "delay_minutes": 5});
    let body = json!({
        "name": "Bench", "agent_id": agent["id"], "concurrency": lines, "zone": {"kind": "fixed", "zone": "UTC"},
        "windows": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
        "retry": {"no_answer": once, "busy": once, "voicemail": once, "failed": once},
    });
    let (s, c) = api.rest(reqwest::Method::POST, &format!("/orgs/{org}/campaigns"), Some(body)).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let (s, r) = api
        .rest(
            reqwest::Method::POST,
            &format!("/orgs/{org}/campaigns/{id}/prospects"),
            Some(json!({"source": {"kind": "filter", "filter": {}}})),
        )
        .await;
    assert_eq!((s, r["added"].as_u64()), (200, Some(n)), "{r}");
    let started = Utc::now();
    let t = Instant::now();
    let (s, _) = api.rest(reqwest::Method::POST, &format!("/orgs/{org}/campaigns/{id}/start"), None).await;
    assert_eq!(s, 200);
    loop {
        let (_, c) = api.rest(reqwest::Method::GET, &format!("/orgs/{org}/campaigns/{id}"), None).await;
        if c["status"] == "completed" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(1800), "not completed in 30 minutes: {c}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let wall = t.elapsed().as_secs_f64();

    let rows = calls::Entity::find()
        .filter(calls::Column::CampaignId.eq(Uuid::parse_str(&id).unwrap()))
        .all(&db)
        .await
        .unwrap();
    let mut per_prospect: BTreeMap<Uuid, u32> = BTreeMap::new();
    for r in &rows {
        *per_prospect.entry(r.prospect_id.unwrap_or_default()).or_default() += 1;
    }
    let doubles = per_prospect.values().filter(|k| **k > 1).count();
    let mut at_livekit: BTreeMap<String, u32> = BTreeMap::new();
    for r in mock.state.requests_for("livekit") {
        if r.path.ends_with("CreateSIPParticipant") {
            // Twirp's JSON names the field in camelCase.
            let to = r.body["sipCallTo"].as_str().expect("a dial names its number");
            *at_livekit.entry(to.to_string()).or_default() += 1;
        }
    }
    let lk_doubles = at_livekit.values().filter(|k| **k > 1).count();
    // Lag: the i-th dial (in dial order) needs the (i − lines)-th line freed.
    let mut dialled: Vec<DateTime<Utc>> = rows.iter().filter_map(|r| r.ringing_at).collect();
    dialled.sort();
    let mut freed: Vec<DateTime<Utc>> = rows.iter().filter_map(|r| r.ended_at).collect();
    freed.sort();
    let mut lag: Vec<f64> = dialled
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let could = if i < lines as usize { started } else { freed[i - lines as usize] };
            ((*at - could).num_microseconds().unwrap_or(0) as f64 / 1000.0).max(0.0)
        })
        .collect();
    lag.sort_by(|a, b| a.total_cmp(b));
    let span = (*dialled.last().unwrap() - dialled[0]).num_milliseconds() as f64 / 1000.0;
    println!("  {n} prospects, {lines} lines, 2 nodes: all dialled and done in {wall:.1} s");
    println!(
        "  dials per second            {:8.1}   ({} dials over {span:.1} s)",
        dialled.len() as f64 / span.max(0.001),
        dialled.len()
    );
    println!(
        "  scheduling lag (could → dial request)   p50 {:7.1} ms   p99 {:7.1} ms   max {:7.1} ms",
        pct(&lag, 0.5),
        pct(&lag, 0.99),
        lag[lag.len() - 1]
    );
    println!(
        "  double dials: {doubles} in the database, {lk_doubles} at LiveKit (of {} numbers)",
        at_livekit.len()
    );
    assert_eq!((doubles, lk_doubles), (0, 0), "a prospect was dialled twice");
    assert_eq!(rows.len() as u64, n, "every prospect dialled once");
    assert_eq!(at_livekit.len() as u64, n, "every number reached LiveKit");
    drop(two);
    drop(one);
}

#[tokio::main]
async fn main() {
    let n: u64 = std::env::var("DIALER_PROSPECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let lines: u32 = std::env::var("DIALER_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    println!("\n== the campaign dialer, PostgreSQL");
    support::on_postgres("dialer", false, |url| async move { bench(&url, n, lines).await }).await;
}
