//! The worker against LiveKit's own server (`livekit-server`, built from the
//! Go module proxy by scripts/livekit-build, which exports
//! HANDOO_LIVEKIT_SERVER_BIN). Skipped without it, except with CI=true.
//!
//! A dispatch made through the server's Twirp API reaches our worker as an
//! availability request and an assignment, the job's status we report is
//! what the server records, a full worker is offered nothing, a draining one
//! waits for its calls, and a restarted server gets the worker back while its call
//! carries on.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
mod support;

use std::sync::Arc;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use serde_json::{json, Value};
use support::Calls;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use voice::{Worker, WorkerEvent, WorkerOptions};

const KEY: &str = "APIvoicetest";
const SECRET: &str = "voice-test-secret-of-32-bytes-at-least";
const AGENT: &str = "handoo-voice";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Server {
    fn binary() -> Option<String> {
        match std::env::var("HANDOO_LIVEKIT_SERVER_BIN") {
            Ok(b) if std::path::Path::new(&b).exists() => Some(b),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("HANDOO_LIVEKIT_SERVER_BIN is not set or missing and CI=true (source scripts/livekit-build)")
            }
            _ => {
                eprintln!("SKIPPED: no livekit-server (source scripts/livekit-build)");
                None
            }
        }
    }

    async fn start(port: u16) -> Option<Server> {
        let binary = Self::binary()?;
        let dir = std::env::temp_dir().join(format!("handoo-voice-lk-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "port: {port}\nbind_addresses: [\"127.0.0.1\"]\nrtc:\n  tcp_port: {}\n  udp_port: {}\n  \
             use_external_ip: false\n  node_ip: 127.0.0.1\nkeys:\n  {KEY}: {SECRET}\nlogging:\n  level: info\n",
            free_port(),
            free_port(),
        );
        let path = dir.join("livekit.yaml");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(dir.join("livekit.log")).unwrap();
        let child = Command::new(binary)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start livekit-server");
        let server = Server { child, port, dir };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http.get(server.url()).send().await.is_ok_and(|r| r.status().is_success()) {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "livekit-server did not start; its log: {:?}",
            std::fs::read_to_string(server.dir.join("livekit.log"))
        );
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Calls one of the server's Twirp methods with JSON.
    async fn twirp(&self, service: &str, method: &str, body: Value) -> Value {
        let token = AccessToken::with_api_key(KEY, SECRET)
            .with_grants(VideoGrants {
                room_create: true,
                room_admin: true,
                room_list: true,
                room: body["room"].as_str().or(body["name"].as_str()).unwrap_or_default().to_string(),
                ..Default::default()
            })
            .to_jwt()
            .unwrap();
        let res = reqwest::Client::new()
            .post(format!("{}/twirp/livekit.{service}/{method}", self.url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{service}/{method}: {status} {v}");
        v
    }

    /// Creates `room` and dispatches our agent to it with `metadata`.
    async fn dispatch(&self, room: &str, metadata: &str) {
        self.twirp("RoomService", "CreateRoom", json!({"name": room})).await;
        self.twirp(
            "AgentDispatchService",
            "CreateDispatch",
            json!({"room": room, "agent_name": AGENT, "metadata": metadata}),
        )
        .await;
    }

    /// The status LiveKit holds for the jobs of `room`'s dispatches (what
    /// the assignment set: the server keeps a job's end in the worker's
    /// state only, see [`Server::job_ended`]).
    async fn job_statuses(&self, room: &str) -> Vec<String> {
        let v = self.twirp("AgentDispatchService", "ListDispatch", json!({"room": room})).await;
        v["agent_dispatches"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["state"]["jobs"].as_array().cloned().unwrap_or_default())
            .map(|j| j["state"]["status"].as_str().unwrap_or("JS_PENDING").to_string())
            .collect()
    }

    /// Whether the server logged the end of `job` with `status` and `error`:
    /// livekit-server v1.13.5 records a job's end in the worker's state and
    /// its log ("job ended"), not in ListDispatch, so the log is where a test
    /// can see that our status arrived.
    fn job_ended(&self, job: &str, status: &str, error: &str) -> bool {
        let log = std::fs::read_to_string(self.dir.join("livekit.log")).unwrap_or_default();
        log.lines()
            .any(|l| l.contains("job ended") && l.contains(job) && l.contains(status) && l.contains(error))
    }

    async fn wait_job_ended(&self, job: &str, status: &str, error: &str) {
        for _ in 0..100 {
            if self.job_ended(job, status, error) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("LiveKit never logged {job} ending {status} {error:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn options(url: &str, max_jobs: usize) -> WorkerOptions {
    let mut o = WorkerOptions::new(url, KEY, SECRET, AGENT);
    o.max_jobs = max_jobs;
    o.status_interval = Duration::from_millis(500);
    o.backoff = Duration::from_millis(100);
    o.max_backoff = Duration::from_millis(500);
    o
}

async fn until<T>(
    events: &mut broadcast::Receiver<WorkerEvent>,
    what: &str,
    pick: impl FnMut(&WorkerEvent) -> Option<T>,
) -> T {
    support::until(events, 20, what, pick).await
}

async fn eventually(server: &Server, room: &str, status: &str) {
    for _ in 0..100 {
        if server.job_statuses(room).await.iter().any(|s| s == status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = server.twirp("AgentDispatchService", "ListDispatch", json!({"room": room})).await;
    panic!("{room}: LiveKit lists {:?}, never {status}: {v}", server.job_statuses(room).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_call_reaches_the_worker_and_its_status_reaches_livekit() {
    let Some(server) = Server::start(free_port()).await else { return };
    let (calls, mut started) = Calls::new();
    let worker = Arc::new(Worker::new(options(&server.url(), 4), Arc::new(calls)));
    let mut events = worker.events();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (w, s) = (worker.clone(), shutdown.clone());
        async move { w.run(s).await }
    });
    until(&mut events, "registration", |e| matches!(e, WorkerEvent::Registered { .. }).then_some(())).await;

    server.dispatch("call-one", r#"{"call_id":"c-1"}"#).await;
    let (job, end) = support::next_job(&mut started, 20).await;
    assert_eq!(job.job.metadata, r#"{"call_id":"c-1"}"#);
    assert_eq!(job.job.agent_name, AGENT);
    assert_eq!(job.job.room.as_ref().unwrap().name, "call-one");
    assert_eq!(job.identity, format!("agent-{}", job.job.id));
    assert!(!job.token.is_empty());
    eventually(&server, "call-one", "JS_RUNNING").await;

    end.send(Ok(())).unwrap();
    let ended = until(&mut events, "the job's end", |e| match e {
        WorkerEvent::JobEnded { job_id, error } => Some((job_id.clone(), error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(ended, (job.job.id.clone(), None));
    server.wait_job_ended(&job.job.id, "JS_SUCCESS", "").await;

    // A job that fails says why.
    server.dispatch("call-two", "{}").await;
    let (failing, end) = support::next_job(&mut started, 20).await;
    end.send(Err("the TTS provider refused the key".into())).unwrap();
    server.wait_job_ended(&failing.job.id, "JS_FAILED", "the TTS provider refused the key").await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_worker_is_offered_nothing_and_a_draining_one_ends_only_after_its_calls() {
    let Some(server) = Server::start(free_port()).await else { return };
    let (calls, mut started) = Calls::new();
    let worker = Arc::new(Worker::new(options(&server.url(), 1), Arc::new(calls)));
    let mut events = worker.events();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (w, s) = (worker.clone(), shutdown.clone());
        async move { w.run(s).await }
    });
    until(&mut events, "registration", |e| matches!(e, WorkerEvent::Registered { .. }).then_some(())).await;
    server.dispatch("call-a", "{}").await;
    let (_, end_a) = support::next_job(&mut started, 20).await;

    // Full (one call at most, status WS_FULL): LiveKit offers it nothing more.
    eventually(&server, "call-a", "JS_RUNNING").await;
    server.dispatch("call-b", "{}").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(started.try_recv().is_err(), "a full worker took a call");
    assert!(server.job_statuses("call-b").await.is_empty(), "call-b was assigned");

    shutdown.cancel();
    until(&mut events, "draining", |e| matches!(e, WorkerEvent::Draining { jobs: 1 }).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!run.is_finished(), "the worker left while a call was live");
    end_a.send(Ok(())).unwrap();
    tokio::time::timeout(Duration::from_secs(10), run).await.expect("drained").unwrap().unwrap();
    assert!(started.try_recv().is_err(), "a job started while draining");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_comes_back_after_the_server_restarts_and_its_call_carries_on() {
    let port = free_port();
    let Some(mut server) = Server::start(port).await else { return };
    let (calls, mut started) = Calls::new();
    let worker = Arc::new(Worker::new(options(&server.url(), 4), Arc::new(calls)));
    let mut events = worker.events();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (w, s) = (worker.clone(), shutdown.clone());
        async move { w.run(s).await }
    });
    let first = until(&mut events, "registration", |e| match e {
        WorkerEvent::Registered { worker_id } => Some(worker_id.clone()),
        _ => None,
    })
    .await;
    server.dispatch("call-live", "{}").await;
    let (job, end) = support::next_job(&mut started, 20).await;

    server.stop();
    until(&mut events, "the disconnection", |e| matches!(e, WorkerEvent::Disconnected { .. }).then_some(()))
        .await;
    drop(server);
    let server = Server::start(port).await.expect("restart");
    let second = until(&mut events, "registration again", |e| match e {
        WorkerEvent::Registered { worker_id } => Some(worker_id.clone()),
        _ => None,
    })
    .await;
    assert_ne!(first, second);
    assert!(!end.is_closed(), "the live call was dropped with the connection");

    // The new server knows nothing of the old job; the worker still takes new ones.
    end.send(Ok(())).unwrap();
    let ended = until(&mut events, "the job's end", |e| match e {
        WorkerEvent::JobEnded { job_id, error } => Some((job_id.clone(), error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(ended, (job.job.id, None));
    server.dispatch("call-next", "{}").await;
    let (next, end) = support::next_job(&mut started, 20).await;
    assert_eq!(next.job.room.unwrap().name, "call-next");
    end.send(Ok(())).unwrap();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run).await.unwrap().unwrap().unwrap();
}
