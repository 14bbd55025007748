#![recursion_limit = "512"]
//! Phone calls, against the LiveKit stand-in in `mock-vendors`:
//! 1. `POST /api/v1/orgs/{org}/calls` → the SIP participant request arriving
//!    at LiveKit (the call row, its dial job, the runner waking, the room and
//!    the agent dispatch on the way), p50 / p99;
//! 2. webhook ingestion, signed LiveKit webhooks sent by 16 concurrent
//!    clients, events/s: (a) of live calls, each moving its call (answered →
//!    in progress → completed); (b) a mix, mostly late events of ended calls,
//!    a third of them redelivered — then a check that every distinct event
//!    is stored exactly once.
//!
//! On SQLite and PostgreSQL (`HANDOO_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; unreachable is a failure with
//! CI=true). Run: `cargo bench -p server --bench calls` (or `scripts/bench`).
//! Env: `CALLS_RUNS` (default 200), `CALLS_LIVE` (default 1000), `CALLS_WEBHOOKS` (default 6000).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::agent::{AgentKind, AgentSettings};
use livekit_protocol as proto;
use mock_vendors::livekit::{sign_webhook, API_SECRET};
use mock_vendors::MockVendors;
use proto::participant_info::Kind;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";
const LK_KEY: &str = "APIbench";

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct App {
    base: String,
    http: reqwest::Client,
    csrf: String,
    org: String,
    db: sea_orm::DatabaseConnection,
}

impl App {
    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        support::rest(&self.http, &self.base, &self.csrf, method, path, body).await
    }
}

async fn start(db_url: &str, mock: &MockVendors) -> (App, String) {
    let lk = mock.base_url("livekit");
    let vars = [
        ("DATABASE_URL", db_url.to_string()),
        ("LIVEKIT_URL", lk),
        ("LIVEKIT_API_KEY", LK_KEY.to_string()),
        ("LIVEKIT_API_SECRET", API_SECRET.to_string()),
        // The dial starts when it is queued; the poll only catches strays.
        ("HANDOO_JOB_CONCURRENCY", "8".to_string()),
    ];
    let (base, state) = support::serve(&vars).await;
    // No timeout of its own, as before: the run is bounded by its counts.
    let (http, csrf) = support::session(&base, std::time::Duration::from_secs(24 * 3600)).await;
    let org = support::owner_org(&http, &base, &csrf, PASSWORD).await;
    let app = App { base, http, csrf, org, db: state.db.clone() };
    let o = &app.org;
    app.rest(
        reqwest::Method::PUT,
        &format!("/orgs/{o}/compliance"),
        Some(json!({"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})),
    )
    .await;
    let voice = AgentSettings { name: "Max".into(), ..AgentSettings::new_default(AgentKind::Voice, "en_us") };
    let settings = json!({ "settings": voice });
    let (s, agent) = app.rest(reqwest::Method::POST, &format!("/orgs/{o}/agents"), Some(settings)).await;
    assert_eq!(s, 201, "{agent}");
    let trunk = json!({"name": "Main", "address": "93.184.216.34", "numbers": ["+33187654321"]});
    let (s, trunk) =
        app.rest(reqwest::Method::POST, &format!("/orgs/{o}/telephony/trunks"), Some(trunk)).await;
    assert_eq!(s, 201, "{trunk}");
    app.rest(
        reqwest::Method::PUT,
        &format!("/orgs/{o}/telephony"),
        Some(json!({"default_trunk_id": trunk["id"]})),
    )
    .await;
    let agent = agent["id"].as_str().unwrap().to_string();
    (app, agent)
}

async fn bench(name: &str, db_url: &str, runs: usize, live: usize, webhooks: usize) {
    println!("\n== {name}");
    let mock = MockVendors::start().await;
    let (app, agent) = start(db_url, &mock).await;
    let sip_requests = || {
        mock.state
            .requests_for("livekit")
            .into_iter()
            .filter(|r| r.path.ends_with("CreateSIPParticipant"))
            .collect::<Vec<_>>()
    };

    // 1. POST → SIP participant at LiveKit.
    let mut lat = Vec::with_capacity(runs);
    let mut rooms = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let before = sip_requests().len();
        let t0 = Instant::now();
        let body = json!({"to_number": format!("+336{:08}", 10_000_000 + i), "agent_id": agent});
        let (s, call) =
            app.rest(reqwest::Method::POST, &format!("/orgs/{}/calls", app.org), Some(body)).await;
        assert_eq!(s, 201, "{call}");
        let arrived = loop {
            let all = sip_requests();
            if all.len() > before {
                break all[before].at;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        // The first ten warm the connections and the caches.
        if i >= 10 {
            lat.push(arrived.duration_since(t0).as_secs_f64() * 1000.0);
        }
        rooms.push(call["room_name"].as_str().unwrap().to_string());
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "  POST /calls → SIP participant request at LiveKit   p50 {:6.2} ms   p99 {:6.2} ms   max {:6.2} ms   (n={runs})",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat[lat.len() - 1]
    );

    // 2. Webhooks of calls under way: for each of `live` fresh calls (answered
    // once the mock took the dial), the agent joining (→ in progress), then
    // the callee leaving (→ completed): every event moves a call, under its
    // lock, with its update published.
    let live_rooms = place_answered(&app, &agent, live).await;
    let mut signed = Vec::with_capacity(2 * live_rooms.len());
    for (i, room) in live_rooms.iter().enumerate() {
        signed.push(webhook(format!("EV_live_{i}_a"), "participant_joined", room, Some(Kind::Agent)));
    }
    for (i, room) in live_rooms.iter().enumerate() {
        signed.push(webhook(format!("EV_live_{i}_b"), "participant_left", room, Some(Kind::Sip)));
    }
    let live_sent = send(&app, signed.clone()).await;
    let moved = entity::call_events::Entity::find()
        .filter(entity::call_events::Column::EventId.like("EV_live_%"))
        .filter(entity::call_events::Column::Ignored.is_null())
        .count(&app.db)
        .await
        .unwrap();
    println!(
        "  webhooks of live calls, 16 clients                  {:8.0} events/s   ({} sent, {moved} moved a call)",
        live_sent.per_s(),
        signed.len(),
    );

    // 3. A mix: per call of part 1, the agent joining, the callee leaving,
    // the room finishing, cycling over the calls — after the first rounds
    // mostly late events of calls that have ended — every third one sent twice.
    let kinds: [(&str, Option<Kind>); 3] = [
        ("participant_joined", Some(Kind::Agent)),
        ("participant_left", Some(Kind::Sip)),
        ("room_finished", None),
    ];
    let mut signed = Vec::with_capacity(webhooks);
    let mut distinct = 0usize;
    let mut n = 0usize;
    while signed.len() < webhooks {
        let room = &rooms[n % rooms.len()];
        let (event, kind) = kinds[(n / rooms.len()) % kinds.len()];
        let s = webhook(format!("EV_bench_{n}"), event, room, kind);
        distinct += 1;
        if n.is_multiple_of(3) {
            signed.push(s.clone());
        }
        signed.push(s);
        n += 1;
    }
    let mixed = send(&app, signed.clone()).await;
    let stored = entity::call_events::Entity::find()
        .filter(entity::call_events::Column::EventId.like("EV_bench_%"))
        .count(&app.db)
        .await
        .unwrap() as usize;
    println!(
        "  webhooks, mixed (mostly ended calls), 16 clients    {:8.0} events/s   ({} sent, {} distinct, {} stored{})",
        mixed.per_s(),
        signed.len(),
        distinct,
        stored,
        if stored == distinct { ": each once" } else { ": MISMATCH" }
    );
    assert_eq!(stored, distinct, "every distinct event stored exactly once");

    // Where the time goes: the clients, the server and the database share this
    // machine's two cores. The same requests to a path with no handler (404
    // from the router, through every layer) are what the load generator and
    // the HTTP stack cost on their own.
    let floor = send_to(&app, "/webhooks/nowhere", 404, signed).await;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    for (label, run) in [("live calls", &live_sent), ("mixed", &mixed)] {
        let (own, pg) = run.cpu_us();
        let handled = (own - floor.cpu_us().0).max(0.0) + pg;
        println!(
            "    {label:<10} CPU per event: {own:4.0} µs here (clients + server), {pg:4.0} µs PostgreSQL; \
             machine {:3.0} % busy; the webhook itself (less the clients' and HTTP floor of {:.0} µs) \
             {handled:4.0} µs → {:6.0} events/s per core",
            (run.cpu_self + run.cpu_pg) / run.secs / cores * 100.0,
            floor.cpu_us().0,
            1e6 / handled.max(1.0),
        );
    }
}

/// Sends `signed` webhooks from 16 concurrent clients, each answered 200;
/// the seconds it took.
async fn send(app: &App, signed: Vec<(String, String)>) -> Sent {
    send_to(app, "/webhooks/livekit", 200, signed).await
}

/// What a run of [`send`] took: wall-clock seconds, and CPU seconds spent by
/// this process (the 16 clients and the server in it) and by PostgreSQL.
struct Sent {
    events: usize,
    secs: f64,
    cpu_self: f64,
    cpu_pg: f64,
}

impl Sent {
    fn per_s(&self) -> f64 {
        self.events as f64 / self.secs
    }

    /// Microseconds of CPU per event: (this process, PostgreSQL).
    fn cpu_us(&self) -> (f64, f64) {
        let n = self.events as f64;
        (self.cpu_self / n * 1e6, self.cpu_pg / n * 1e6)
    }
}

/// CPU seconds used so far by the processes `/proc/{pid}/stat` names
/// (user + system; the kernel counts in ticks of 1/100 s).
fn cpu_of(pids: impl Iterator<Item = String>) -> f64 {
    pids.filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command (which may hold spaces) and its closing parenthesis.
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split(' ').collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .sum::<f64>()
        / 100.0
}

fn postgres_pids() -> impl Iterator<Item = String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
}

/// [`send`] to `path`, each answered `expect`.
async fn send_to(app: &App, path: &str, expect: u16, signed: Vec<(String, String)>) -> Sent {
    let events = signed.len();
    let signed = Arc::new(signed);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let url = format!("{}{path}", app.base);
    let (self0, pg0) = (cpu_of(std::iter::once("self".to_string())), cpu_of(postgres_pids()));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (signed, next, client, url) = (signed.clone(), next.clone(), client.clone(), url.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((body, auth)) = signed.get(i) else { break };
                    let res = client
                        .post(&url)
                        .header("authorization", auth)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status().as_u16(), expect);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu_self = cpu_of(std::iter::once("self".to_string())) - self0;
    let cpu_pg = cpu_of(postgres_pids()) - pg0;
    Sent { events, secs, cpu_self, cpu_pg }
}

/// Places `n` calls (8 at a time, untimed) and waits until every dial has
/// run; the rooms of those the mock answered.
async fn place_answered(app: &App, agent: &str, n: usize) -> Vec<String> {
    use futures::StreamExt;
    let rooms: Vec<String> = futures::stream::iter(0..n)
        .map(|i| async move {
            let body = json!({"to_number": format!("+3362{:07}", i), "agent_id": agent});
            let (s, call) =
                app.rest(reqwest::Method::POST, &format!("/orgs/{}/calls", app.org), Some(body)).await;
            assert_eq!(s, 201, "{call}");
            call["room_name"].as_str().unwrap().to_string()
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // Until every dial has run (answered, or failed for a reason of its own).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = entity::calls::Entity::find()
            .filter(entity::calls::Column::RoomName.is_in(rooms.clone()))
            .filter(entity::calls::Column::Status.is_in(["initiated", "ringing"]))
            .count(&app.db)
            .await
            .unwrap();
        if pending == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = entity::calls::Entity::find()
        .filter(entity::calls::Column::RoomName.is_in(rooms))
        .all(&app.db)
        .await
        .unwrap();
    let others: Vec<_> = rows
        .iter()
        .filter(|c| c.status != "answered")
        .map(|c| (c.status.as_str(), c.failure_reason.as_deref()))
        .collect();
    if !others.is_empty() {
        println!("  ({} of {n} calls not answered: {others:?})", others.len());
    }
    rows.into_iter().filter(|c| c.status == "answered").map(|c| c.room_name).collect()
}

/// A signed webhook `event` of `room` (with a participant of `kind`).
fn webhook(id: String, event: &str, room: &str, kind: Option<Kind>) -> (String, String) {
    let ev = proto::WebhookEvent {
        id,
        event: event.into(),
        room: Some(proto::Room { name: room.to_string(), ..Default::default() }),
        participant: kind.map(|k| proto::ParticipantInfo {
            kind: k as i32,
            identity: "p".into(),
            ..Default::default()
        }),
        created_at: chrono::Utc::now().timestamp(),
        ..Default::default()
    };
    sign_webhook(&ev, LK_KEY)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("CALLS_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let live: usize = std::env::var("CALLS_LIVE").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let webhooks: usize = std::env::var("CALLS_WEBHOOKS").ok().and_then(|v| v.parse().ok()).unwrap_or(6000);
    let dir = std::env::temp_dir().join(format!("handoo-calls-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench("SQLite", &format!("sqlite://{}/bench.db", dir.display()), runs, live, webhooks).await;
    let _ = std::fs::remove_dir_all(&dir);

    support::on_postgres("calls", false, |url| async move {
        bench("PostgreSQL", &url, runs, live, webhooks).await
    })
    .await;
}
