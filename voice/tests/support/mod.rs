//! What the voice tests share: a job runner the test drives, waiting for
//! the worker's events, speech made by espeak-ng. (Each test file uses a part.)
#![allow(dead_code)]

pub mod room;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::agent::{Interruption, Voicemail};
use domain::data_schema::{DataField, DataSchema, FieldKind};
use domain::tools::ToolName;
use providers::Endpoint;
use serde_json::{json, Value};
use voice::call::{CallConfig, Providers, Voice};
use voice::vad::SileroModel;
use voice::WorkerOptions;

use futures::future::BoxFuture;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use voice::{AssignedJob, JobRunner, WorkerEvent};

/// A job as the test sees it start, and how the test ends it.
pub type Started = (AssignedJob, oneshot::Sender<Result<(), String>>);

/// Announces each job to the test, then runs it until the test ends it (or
/// the server terminates it: a failure, "terminated by the server").
pub struct Calls {
    started: Mutex<mpsc::UnboundedSender<Started>>,
}

impl Calls {
    pub fn new() -> (Calls, mpsc::UnboundedReceiver<Started>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Calls { started: Mutex::new(tx) }, rx)
    }
}

impl JobRunner for Calls {
    fn run(&self, job: AssignedJob, cancel: CancellationToken) -> BoxFuture<'static, Result<(), String>> {
        let (end_tx, end_rx) = oneshot::channel();
        let _ = self.started.lock().unwrap().send((job, end_tx));
        Box::pin(async move {
            tokio::select! {
                r = end_rx => r.unwrap_or(Ok(())),
                _ = cancel.cancelled() => Err("terminated by the server".into()),
            }
        })
    }
}

/// A worker running in the background until `shutdown` fires.
pub struct Running {
    pub events: broadcast::Receiver<WorkerEvent>,
    pub shutdown: CancellationToken,
    pub run: tokio::task::JoinHandle<Result<(), voice::worker::WorkerError>>,
}

pub fn run_worker(worker: &Arc<voice::Worker>) -> Running {
    let events = worker.events();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (w, s) = (worker.clone(), shutdown.clone());
        async move { w.run(s).await }
    });
    Running { events, shutdown, run }
}

impl Running {
    /// Shuts the worker down and waits for it to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.run).await.expect("stopped").unwrap().unwrap();
    }
}

/// The next job the worker starts, within `secs`.
pub async fn next_job(started: &mut mpsc::UnboundedReceiver<Started>, secs: u64) -> Started {
    tokio::time::timeout(Duration::from_secs(secs), started.recv()).await.expect("a job").expect("the runner")
}

/// Waits up to `secs` for the event `pick` wants.
pub async fn until<T>(
    events: &mut broadcast::Receiver<WorkerEvent>,
    secs: u64,
    what: &str,
    mut pick: impl FnMut(&WorkerEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {secs} s"))
            .expect("worker events");
        if let Some(t) = pick(&e) {
            return t;
        }
    }
}

// ---- LiveKit's own server ---------------------------------------------------

pub const LK_KEY: &str = "APIvoicetest";
pub const LK_SECRET: &str = "voice-test-secret-of-32-bytes-at-least";
pub const AGENT: &str = "handoo-voice";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct LiveKitServer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl LiveKitServer {
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

    pub async fn start(port: u16) -> Option<LiveKitServer> {
        let binary = Self::binary()?;
        let dir = std::env::temp_dir().join(format!("handoo-voice-lk-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Its media ports are picked free, then bound by the server a moment
        // later; with tests running side by side another socket can take one
        // in between ("address already in use"). Then it starts again on others.
        for _ in 0..5 {
            let config = format!(
                "port: {port}\nbind_addresses: [\"127.0.0.1\"]\nrtc:\n  tcp_port: {}\n  udp_port: {}\n  \
                 use_external_ip: false\n  node_ip: 127.0.0.1\nkeys:\n  {LK_KEY}: {LK_SECRET}\nlogging:\n  level: info\n",
                free_port(),
                free_port(),
            );
            let path = dir.join("livekit.yaml");
            std::fs::write(&path, config).unwrap();
            let log = std::fs::File::create(dir.join("livekit.log")).unwrap();
            let child = Command::new(&binary)
                .arg("--config")
                .arg(&path)
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start livekit-server");
            let mut server = LiveKitServer { child, port, dir: dir.clone() };
            let http = reqwest::Client::new();
            for _ in 0..200 {
                if http.get(server.url()).send().await.is_ok_and(|r| r.status().is_success()) {
                    return Some(server);
                }
                if server.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let log = std::fs::read_to_string(dir.join("livekit.log")).unwrap_or_default();
            if !log.contains("address already in use") {
                panic!("livekit-server did not start; its log: {log:?}");
            }
            // Not dropped: that would remove the directory.
            server.stop();
            std::mem::forget(server);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("livekit-server found its ports taken five times over")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// This server as a project our worker and callers use.
    pub fn project(&self) -> room::Project {
        room::Project { url: self.url(), key: LK_KEY.into(), secret: LK_SECRET.into(), agent: AGENT.into() }
    }

    /// Calls one of the server's Twirp methods with JSON.
    pub async fn twirp(&self, service: &str, method: &str, body: Value) -> Value {
        self.project().twirp(service, method, body).await
    }

    /// Creates `room` and dispatches our agent to it with `metadata`.
    pub async fn dispatch(&self, room: &str, metadata: &str) {
        self.project().dispatch(room, metadata).await
    }

    /// The status LiveKit holds for the jobs of `room`'s dispatches (what
    /// the assignment set: the server keeps a job's end in the worker's
    /// state only, see [`Server::job_ended`]).
    pub async fn job_statuses(&self, room: &str) -> Vec<String> {
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
    pub fn job_ended(&self, job: &str, status: &str, error: &str) -> bool {
        let log = std::fs::read_to_string(self.dir.join("livekit.log")).unwrap_or_default();
        log.lines()
            .any(|l| l.contains("job ended") && l.contains(job) && l.contains(status) && l.contains(error))
    }

    pub async fn wait_job_ended(&self, job: &str, status: &str, error: &str) {
        for _ in 0..100 {
            if self.job_ended(job, status, error) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("LiveKit never logged {job} ending {status} {error:?}");
    }
}

impl Drop for LiveKitServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A worker for the test server, quick to notice and to come back.
pub fn worker_options(url: &str, max_jobs: usize) -> WorkerOptions {
    let mut o = WorkerOptions::new(url, LK_KEY, LK_SECRET, AGENT);
    o.max_jobs = max_jobs;
    o.status_interval = Duration::from_millis(500);
    o.backoff = Duration::from_millis(100);
    o.max_backoff = Duration::from_millis(500);
    o
}

// ---- a call's configuration and providers ----------------------------------

/// An English agent that collects a budget, takes notes, ends and transfers.
pub fn call_config() -> CallConfig {
    CallConfig {
        language: "en".into(),
        system_prompt: "You are Handoo's agent.".into(),
        first_message: "Hello, this is Handoo. Do you have a minute?".into(),
        llm_model: "gpt-4.1-mini".into(),
        temperature: 0.2,
        max_tokens: 200,
        stt_model: "nova-3".into(),
        voices: vec![Voice { model: "gpt-4o-mini-tts".into(), voice: "alloy".into() }],
        tools: vec![ToolName::AddNote, ToolName::UpdateData, ToolName::EndCall, ToolName::TransferCall],
        data_schema: DataSchema {
            fields: vec![DataField {
                name: "budget".into(),
                kind: FieldKind::String,
                description: "Their budget".into(),
                required: false,
            }],
        },
        transfer_number: Some("+33180000000".into()),
        interruption: Interruption::Medium,
        end_of_turn_silence_ms: 400,
        stt_final_wait_ms: 1500,
        silence_reprompt_ms: 30_000,
        silence_hang_up_ms: 60_000,
        max_call_ms: 120_000,
        voicemail: Voicemail::HangUp,
    }
}

/// The mock vendors at `addr` (host:port): OpenAI chat and speech, Deepgram.
pub fn mock_providers(addr: &str) -> Arc<Providers> {
    let http = reqwest::Client::new();
    let e = |base: String| Endpoint::new(base, Some("sk-test".to_string()));
    Arc::new(Providers {
        llm: providers::chat_model(http.clone(), "openai", e(format!("http://{addr}/openai/v1")))
            .unwrap()
            .into(),
        stt: providers::speech_to_text(http.clone(), "deepgram", e(format!("ws://{addr}/deepgram/v1")))
            .unwrap()
            .into(),
        tts: vec![providers::text_to_speech(http, "openai", e(format!("http://{addr}/openai/v1")))
            .unwrap()
            .into()],
    })
}

/// The VAD from the setup step's files; skipped without them, except with CI=true.
pub fn vad() -> Option<Arc<SileroModel>> {
    match SileroModel::from_env(2) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// Polls `check` every 20 ms for up to `secs`.
pub async fn wait_for(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {what}");
}
