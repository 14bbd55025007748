//! Two `server` processes on one PostgreSQL database: what one node
//! publishes reaches a watcher connected to the other (the event bus over
//! LISTEN/NOTIFY), including payloads too large for a notification, and
//! an API key revoked on one node is refused by the other at once.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, Client, Events, TestDb, GOOD_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// A server process; killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_node(db_url: &str) -> Node {
    start_node_with(db_url, &[]).await
}

async fn start_node_with(db_url: &str, env: &[(&str, &str)]) -> Node {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(root)
        .env("DATABASE_URL", db_url)
        .env("HANDOO_BIND", format!("127.0.0.1:{port}"))
        .env("HANDOO_PUBLIC_URL", &base)
        .env("HANDOO_SECRET_KEY", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
        .env("HANDOO_SEED_DEMO", "false")
        .env("RUST_LOG", "warn")
        .env_remove("LEPTOS_OUTPUT_NAME")
        // Nodes talk to the LiveKit mock, which has no media: their own voice
        // agent would take the calls' jobs and end them (it is tested in voice_agent).
        .env("HANDOO_VOICE_AGENT", "off")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server binary");
    let node = Node { child, base };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/api/v1/health", node.base)).await {
            if r.status() == 200 {
                return node;
            }
        }
        assert!(Instant::now() < deadline, "node at {} did not come up", node.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Events {
    /// The next transcript line's text.
    async fn next_transcript(&mut self) -> String {
        loop {
            let ev = self.next().await;
            if ev["type"] == "transcript" {
                return ev["text"].as_str().unwrap_or_default().to_string();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_revocations_cross_nodes() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    // One after the other: the first runs the migrations.
    let one = start_node(&db.url).await;
    let two = start_node(&db.url).await;

    let on_one = Client::connect(&one.base).await;
    on_one.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = on_one.create_org("Acme").await;
    let prospect = json!({"first_name": "Paul", "phone": "+33612345678"});
    let (s, p) = on_one.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(prospect)).await;
    assert_eq!(s, 201, "{p}");
    let start = json!({"prospect_id": p["id"], "mode": "practice", "language": "en"});
    let (s, session) = on_one.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start)).await;
    assert_eq!(s, 201, "{session}");
    let sid = session["id"].as_str().unwrap();

    // The same person watches from the other node.
    let on_two = Client::connect(&two.base).await;
    on_two.log_in("olivia@example.com", GOOD_PASSWORD).await.expect("log in on node two");
    let res = on_two
        .http
        .get(format!("{}/api/v1/orgs/{org}/copilot/sessions/{sid}/events", two.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut events = Events::new(res);

    let transcript = format!("/orgs/{org}/copilot/sessions/{sid}/transcript");
    let mut lags = Vec::new();
    for i in 0..20 {
        let text = format!("line {i} from node one");
        let sent = Instant::now();
        let body = json!({"speaker": "prospect", "text": text, "is_final": true});
        let (s, out) = on_one.rest(Method::POST, &transcript, Some(body)).await;
        assert_eq!(s, 200, "{out}");
        assert_eq!(events.next_transcript().await, text);
        lags.push(sent.elapsed());
    }
    lags.sort();
    // Printed for the record (benchmarks, not this test, hold the targets).
    eprintln!(
        "node one POST → node two SSE, 20 lines: p50 {:?}, max {:?} (includes the POST itself)",
        lags[lags.len() / 2],
        lags[lags.len() - 1]
    );

    // A line too large for a notification travels by reference.
    let big = "é".repeat(4_900);
    let body = json!({"speaker": "prospect", "text": big, "is_final": true});
    let (s, out) = on_one.rest(Method::POST, &transcript, Some(body)).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(events.next_transcript().await, big);

    // A key revoked on node one is refused on node two at its next request.
    let created = on_one
        .call_json("create_api_key", json!({"org_id": org, "name": "Sync", "permissions": ["use_workspace"]}))
        .await
        .expect("create key");
    let (secret, key_id) = (created["secret"].as_str().unwrap(), created["key"]["id"].as_str().unwrap());
    let with_key = |base: &str| {
        reqwest::Client::new()
            .get(format!("{base}/api/v1/orgs/{org}/prospects"))
            .header("authorization", format!("Bearer {secret}"))
    };
    assert_eq!(with_key(&two.base).send().await.unwrap().status(), 200);
    on_one.call("revoke_api_key", &[("org_id", &org), ("key_id", key_id)]).await.expect("revoke");
    assert_eq!(with_key(&two.base).send().await.unwrap().status(), 401);
}

async fn import_state(c: &Client, org: &str, id: &str) -> Value {
    let (s, j) = c.rest(Method::GET, &format!("/orgs/{org}/prospect-imports/{id}"), None).await;
    assert_eq!(s, 200, "{j}");
    j
}

async fn prospects_in(db_url: &str, org: &str) -> (i64, i64) {
    use sea_orm::ConnectionTrait;
    let db = services::db::connect(db_url).await.unwrap();
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n, COUNT(DISTINCT phone) AS d FROM prospects WHERE org_id = $1::uuid",
            [org.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    (row.try_get("", "n").unwrap(), row.try_get("", "d").unwrap())
}

/// A CSV import is one transaction on the job runner: its node killed
/// (SIGKILL) halfway through leaves no row, and another node takes the job
/// over when its lease runs out and imports every row exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_halfway_leaves_nothing_and_another_node_finishes_it() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let lease = [("HANDOO_JOB_LEASE_MS", "1500"), ("HANDOO_JOB_POLL_MS", "100")];
    let mut one = start_node_with(&db.url, &lease).await;
    let c = Client::connect(&one.base).await;
    c.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = c.create_org("Acme").await;
    const ROWS: u64 = 40_000;
    let mut file = String::from("name,phone,email,company\n");
    for i in 0..ROWS {
        file.push_str(&format!("Person {i},+3365{i:07},p{i}@example.com,Company {}\n", i % 97));
    }
    let (s, preview) = c
        .rest_raw(&format!("/orgs/{org}/prospect-imports?file_name=big.csv"), "text/csv", file.into_bytes())
        .await;
    assert_eq!((s, preview["total_rows"].as_u64()), (201, Some(ROWS)), "{preview}");
    let id = preview["id"].as_str().unwrap().to_string();
    let options = json!({"mapping": preview["suggested"], "duplicates": "skip"});
    let (s, job) =
        c.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options)).await;
    assert_eq!(s, 202, "{job}");
    // Node one has claimed the job (it reports progress) before node two,
    // a runner as well, comes up.
    let deadline = Instant::now() + Duration::from_secs(60);
    while import_state(&c, &org, &id).await["processed_rows"].as_u64() == Some(0) {
        assert!(Instant::now() < deadline, "the import never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let two = start_node_with(&db.url, &lease).await;
    let c2 = Client::connect(&two.base).await;
    c2.log_in("olivia@example.com", GOOD_PASSWORD).await.expect("log in");
    // Progress is watched on node two while node one runs the job: it
    // travels through the event bus.
    let res = c2
        .http
        .get(format!("{}/api/v1/orgs/{org}/prospect-imports/{id}/events", two.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut events = Events::new(res);
    let first = events.next().await;
    assert_eq!(first["state"], "running", "{first}");
    let mut last = first["processed_rows"].as_u64().unwrap();
    let mut from_node_one = 0;

    // Halfway through, node one dies.
    loop {
        let j = events.next().await;
        assert_eq!(j["state"], "running", "killed before it finished: {j}");
        let n = j["processed_rows"].as_u64().unwrap();
        assert!(n > last, "progress only grows while one node runs the job: {n} after {last}");
        (last, from_node_one) = (n, from_node_one + 1);
        if n >= ROWS / 2 {
            break;
        }
    }
    assert!(from_node_one >= 1);
    one.child.kill().unwrap();
    one.child.wait().unwrap();
    assert_eq!(prospects_in(&db.url, &org).await, (0, 0), "no partial rows");

    // Node two takes the job over once the lease has run out; the same
    // stream carries its progress (from row 0 again) and its final state.
    let done = loop {
        let j = events.next().await;
        if j["state"] != "running" {
            break j;
        }
    };
    assert_eq!((done["state"].as_str(), done["created"].as_u64()), (Some("succeeded"), Some(ROWS)), "{done}");
    events.ends().await;
    assert_eq!(import_state(&c2, &org, &id).await, done, "the stream's last word is the stored state");
    assert_eq!(prospects_in(&db.url, &org).await, (ROWS as i64, ROWS as i64), "every row once");
}

/// A call page open on node one hears each change of its call, whichever
/// node applied it: LiveKit's webhooks all go to node two, which applies
/// them and tells the others (its notification sent inside the applying
/// transaction, so at its commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calls_changes_reach_its_page_on_the_other_node() {
    use livekit_protocol as proto;
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let mock = mock_vendors::MockVendors::start().await;
    let url = mock.base_url("livekit");
    let env = [
        ("LIVEKIT_URL", url.as_str()),
        ("LIVEKIT_API_KEY", crate::calls::LK_KEY),
        ("LIVEKIT_API_SECRET", mock_vendors::livekit::API_SECRET),
    ];
    let one = start_node_with(&db.url, &env).await;
    let two = start_node_with(&db.url, &env).await;
    let on_one = Client::connect(&one.base).await;
    on_one.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = on_one.create_org("Acme").await;
    let agent = crate::calls::ready_to_call(&on_one, &org).await;
    // LiveKit tells node two of each step; the callee answers when told.
    let control = |path: &'static str, body: Value| crate::calls::livekit_control(mock.addr, path, body);
    let hook = format!("{}/webhooks/livekit", two.base);
    assert_eq!(control("webhook", json!({"url": hook, "lifecycle": true})).await, 204);
    assert_eq!(control("hold", json!({"hold": true})).await, 204);

    let body = json!({"to_number": "+33612345678", "agent_id": agent});
    let (s, call) = on_one.rest(Method::POST, &format!("/orgs/{org}/calls"), Some(body)).await;
    assert_eq!(s, 201, "{call}");
    let id = call["id"].as_str().unwrap().to_string();
    let res =
        on_one.http.get(format!("{}/api/v1/orgs/{org}/calls/{id}/events", one.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut events = Events::new(res);
    let path = format!("/orgs/{org}/calls/{id}");
    let mut room = String::new();
    for _ in 0..200 {
        let v = on_one.rest(Method::GET, &path, None).await.1;
        if v["call"]["status"] == "ringing" {
            room = v["call"]["room_name"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!room.is_empty(), "the call never rang");
    // Answered, the agent already there: node two applies LiveKit's webhook.
    assert_eq!(control("answer", json!({"room": room})).await, 204);
    // The callee hangs up: LiveKit's webhook, again to node two.
    let mut seen: Vec<String> = Vec::new();
    let mut hung_up = false;
    while !seen.iter().any(|s| s == "completed") {
        let v = events.next().await;
        assert_eq!(v["call"]["id"], id.as_str());
        seen.push(v["call"]["status"].as_str().unwrap().to_string());
        if !hung_up && seen.iter().any(|s| s == "in_progress") {
            hung_up = true;
            let left = proto::WebhookEvent {
                id: "EV_callee_left".into(),
                event: "participant_left".into(),
                room: Some(proto::Room { name: room.clone(), ..Default::default() }),
                participant: Some(proto::ParticipantInfo {
                    kind: proto::participant_info::Kind::Sip as i32,
                    identity: "callee".into(),
                    ..Default::default()
                }),
                created_at: chrono::Utc::now().timestamp(),
                ..Default::default()
            };
            let (body, auth) = mock_vendors::livekit::sign_webhook(&left, crate::calls::LK_KEY);
            let res = reqwest::Client::new()
                .post(&hook)
                .header("authorization", auth)
                .header("content-type", "application/webhook+json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    }
    assert!(seen.contains(&"in_progress".to_string()), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("completed"), "{seen:?}");
    // Node two applied them: the timeline has LiveKit's events.
    let timeline = on_one.rest(Method::GET, &path, None).await.1["timeline"].clone();
    let kinds: Vec<&str> = timeline.as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"agent_joined") && kinds.contains(&"participant_left"), "{kinds:?}");
}

/// Calls placed at LiveKit per called number.
fn sip_dials(mock: &mock_vendors::MockVendors) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in mock.state.requests_for("livekit") {
        if r.path.ends_with("CreateSIPParticipant") {
            let to =
                r.body["sip_call_to"].as_str().or_else(|| r.body["sipCallTo"].as_str()).unwrap_or_default();
            *out.entry(to.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// Two dialer nodes on one PostgreSQL database run one campaign: nobody is
/// dialled twice (not in the database, not at LiveKit), every prospect is
/// called exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dialer_nodes_never_double_dial() {
    two_dialer_nodes(false).await
}

/// As above, with one node killed by SIGKILL mid-campaign and another
/// started: nothing lost, nobody dialled twice. A dial cut between marking
/// its call ringing and asking LiveKit is failed by its give-up once LiveKit
/// says the room has no SIP participant (it stayed ringing for ever before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_dialer_node_loses_no_attempt() {
    two_dialer_nodes(true).await
}

async fn two_dialer_nodes(kill: bool) {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let mock = mock_vendors::MockVendors::start().await;
    let lk = mock.base_url("livekit");
    let env = [
        ("LIVEKIT_URL", lk.as_str()),
        ("LIVEKIT_API_KEY", crate::calls::LK_KEY),
        ("LIVEKIT_API_SECRET", mock_vendors::livekit::API_SECRET),
        ("HANDOO_JOB_POLL_MS", "20"),
        ("HANDOO_JOB_LEASE_MS", "1500"),
        ("HANDOO_EGRESS_ALLOW", "127.0.0.0/8"),
    ];
    let one = start_node_with(&db.url, &env).await;
    let two = start_node_with(&db.url, &env).await;
    let owner = Client::connect(&one.base).await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
    let agent = crate::calls::ready_to_call(&owner, &org).await;
    // Busy lines end at once: each prospect gets one attempt (no retry).
    let n = 80;
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"first_name": format!("P{i}"), "phone": format!("+336{:05}486", 10_000 + i)});
        let (s, p) = owner.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(body)).await;
        assert_eq!(s, 201, "{p}");
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    let day = json!([{"start_minute": 0, "end_minute": 1440}]);
    let once = json!({"max_attempts": 1, "delay_minutes": 5});
    let body = json!({
        "name": "Two nodes", "agent_id": agent, "concurrency": 8, "zone": {"kind": "fixed", "zone": "UTC"},
        "windows": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
        "retry": {"no_answer": once, "busy": once, "voicemail": once, "failed": once},
    });
    let (s, c) = owner.rest(Method::POST, &format!("/orgs/{org}/campaigns"), Some(body)).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let (s, r) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/campaigns/{id}/prospects"),
            Some(json!({"source": {"kind": "ids", "ids": ids}})),
        )
        .await;
    assert_eq!((s, r["added"].as_u64()), (200, Some(n)), "{r}");
    let (s, _) = owner.rest(Method::POST, &format!("/orgs/{org}/campaigns/{id}/start"), None).await;
    assert_eq!(s, 200);

    // Mid-campaign, node two dies without a word.
    let get = |path: String| {
        let owner = &owner;
        async move { owner.rest(Method::GET, &path, None).await.1 }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = get(format!("/orgs/{org}/campaigns/{id}")).await;
        if c["counts"]["attempts"].as_u64().unwrap_or(0) >= n / 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the campaign never got going: {c}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut two = two;
    let three = if kill {
        two.child.kill().expect("SIGKILL node two");
        let _ = two.child.wait();
        Some(start_node_with(&db.url, &env).await)
    } else {
        None
    };

    let deadline = Instant::now() + Duration::from_secs(120);
    let c = loop {
        let c = get(format!("/orgs/{org}/campaigns/{id}")).await;
        if c["status"] == "completed" {
            break c;
        }
        assert!(Instant::now() < deadline, "the campaign never completed: {c}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let counts = &c["counts"];
    assert_eq!((counts["done"].as_u64(), counts["attempts"].as_u64()), (Some(n), Some(n)), "{c}");
    // At LiveKit too: one dial per number.
    let dials = sip_dials(&mock);
    // A dial cut by the kill before it reached LiveKit is a failed attempt
    // (settled, not lost); every other number was dialled.
    if kill {
        assert!(dials.len() as u64 <= n && dials.len() as u64 >= n - 8, "{dials:?}");
    } else {
        assert_eq!(dials.len() as u64, n, "{dials:?}");
    }
    assert!(dials.values().all(|k| *k == 1), "a number was dialled twice: {dials:?}");
    drop(three);
    drop(two);
    drop(one);
}
