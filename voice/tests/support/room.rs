//! A call through a LiveKit project, media and all: the job runner that
//! joins the dispatched room through `liblivekit_ffi.so` and holds the
//! conversation, and a caller — another participant of the room, through
//! the same library — that speaks (paced in real time) and listens. Used by
//! livekit_call.rs (LiveKit's own server, and an opt-in real project) and by
//! benches/livekit.rs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use livekit_api::access_token::{AccessToken, VideoGrants};
use rtc::proto::{room_event, TrackKind};
use rtc::{AudioSource, AudioStream, FfiClient, OwnedHandle, Room, RoomOptions};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use voice::call::{CallConfig, CallReport, Providers};
use voice::conversation::Conversation;
use voice::simulate::CallRecord;
use voice::vad::SileroModel;
use voice::{AssignedJob, JobRunner, WorkerOptions};

/// `liblivekit_ffi.so` from `LIVEKIT_FFI_LIB`; skipped without it, except with CI=true.
pub fn ffi() -> Option<&'static FfiClient> {
    match std::env::var("LIVEKIT_FFI_LIB") {
        Ok(path) if std::path::Path::new(&path).exists() => {
            Some(FfiClient::load(&path).expect("liblivekit_ffi.so"))
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("LIVEKIT_FFI_LIB is not set and CI=true (source scripts/venv)")
        }
        _ => {
            eprintln!("SKIPPED: no LIVEKIT_FFI_LIB (source scripts/venv)");
            None
        }
    }
}

/// A LiveKit project: its URL, an API key pair, and the agent name our
/// worker registers (and dispatches are made to).
#[derive(Debug, Clone)]
pub struct Project {
    pub url: String,
    pub key: String,
    pub secret: String,
    pub agent: String,
}

impl Project {
    /// The project named by `LIVEKIT_URL`, `LIVEKIT_API_KEY` and
    /// `LIVEKIT_API_SECRET`, if all three are set. Its worker registers
    /// under a name of its own, so a project in use neither sends it real
    /// calls nor loses one to it.
    pub fn from_env() -> Option<Project> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Some(Project {
            url: get("LIVEKIT_URL")?,
            key: get("LIVEKIT_API_KEY")?,
            secret: get("LIVEKIT_API_SECRET")?,
            agent: format!(
                "handoo-smoke-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .subsec_micros()
            ),
        })
    }

    fn http_url(&self) -> String {
        self.url.replacen("wss://", "https://", 1).replacen("ws://", "http://", 1)
    }

    /// Calls one of the project's Twirp methods with JSON.
    pub async fn twirp(&self, service: &str, method: &str, body: Value) -> Value {
        let token = AccessToken::with_api_key(&self.key, &self.secret)
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
            .post(format!("{}/twirp/livekit.{service}/{method}", self.http_url()))
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
    pub async fn dispatch(&self, room: &str, metadata: &str) {
        self.twirp("RoomService", "CreateRoom", json!({"name": room})).await;
        self.twirp(
            "AgentDispatchService",
            "CreateDispatch",
            json!({"room": room, "agent_name": self.agent, "metadata": metadata}),
        )
        .await;
    }

    /// A participant's token for `room`.
    pub fn token(&self, room: &str, identity: &str) -> String {
        AccessToken::with_api_key(&self.key, &self.secret)
            .with_identity(identity)
            .with_grants(VideoGrants { room_join: true, room: room.into(), ..Default::default() })
            .to_jwt()
            .unwrap()
    }

    /// A worker for this project, quick to notice and to come back.
    pub fn worker_options(&self, max_jobs: usize) -> WorkerOptions {
        let mut o = WorkerOptions::new(&self.url, &self.key, &self.secret, &self.agent);
        o.max_jobs = max_jobs;
        o.status_interval = Duration::from_millis(500);
        o.backoff = Duration::from_millis(100);
        o.max_backoff = Duration::from_millis(500);
        o
    }
}

/// The calls' records by room, live.
pub type Records = Arc<Mutex<Vec<(String, Arc<CallRecord>)>>>;

/// The calls' reports by room, as each job ends.
pub type Reports = Arc<Mutex<Vec<(String, CallReport)>>>;

/// Each job: join the room, hold the conversation with `config`, keep its
/// record (live, in `records`, by room) and its report.
pub struct Agent {
    pub client: &'static FfiClient,
    pub config: CallConfig,
    pub providers: Arc<Providers>,
    pub vad: Arc<SileroModel>,
    pub records: Records,
    pub reports: Reports,
}

impl Agent {
    pub fn new(
        client: &'static FfiClient,
        config: CallConfig,
        providers: Arc<Providers>,
        vad: Arc<SileroModel>,
    ) -> Agent {
        Agent { client, config, providers, vad, records: Default::default(), reports: Default::default() }
    }
}

impl JobRunner for Agent {
    fn run(&self, job: AssignedJob, cancel: CancellationToken) -> BoxFuture<'static, Result<(), String>> {
        let (client, vad, reports) = (self.client, self.vad.clone(), self.reports.clone());
        let (config, providers) = (self.config.clone(), self.providers.clone());
        let record = Arc::new(CallRecord::default());
        let room = job.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        self.records.lock().unwrap().push((room.clone(), record.clone()));
        Box::pin(async move {
            let media = voice::livekit::join(client, &job.url, &job.token, Duration::from_secs(30))
                .await
                .map_err(|e| e.to_string())?;
            let conversation = Conversation::new(config, providers, record, vad);
            // Terminated (the room deleted): ended as a hang-up, reported all the same.
            let report = conversation.run_until(media.session, cancel.clone()).await;
            reports.lock().unwrap().push((room, report));
            if cancel.is_cancelled() {
                media.task.abort();
                return Err("terminated".into());
            }
            let _ = media.task.await;
            Ok(())
        })
    }
}

/// The caller's side: publishes speech paced in real time, notes what it
/// heard (10 ms frames' loudness) and when each line started going out.
pub struct Phone {
    pub room_task: tokio::task::JoinHandle<()>,
    pub heard: Arc<Mutex<Vec<(Instant, f64)>>>,
    /// When the first frame of each line goes out (leaves the source's queue).
    pub sent: Arc<Mutex<Vec<Instant>>>,
    say: tokio::sync::mpsc::UnboundedSender<Vec<i16>>,
}

/// Joins `url` as a caller (48 kHz mono out, 16 kHz in).
pub async fn phone(client: &'static FfiClient, url: &str, token: &str) -> Phone {
    let mut room = Room::connect(client, &providers::ws::ws_url(url), token, RoomOptions::default())
        .await
        .expect("the caller joins");
    let source = AudioSource::new(client, 48_000, 1, 200).unwrap();
    let publication = room.publish_audio(&source, "microphone").await.expect("the caller publishes");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (say, mut lines) = tokio::sync::mpsc::unbounded_channel::<Vec<i16>>();
    // Speech and silence, 20 ms at a time, paced by the source's queue.
    let s = sent.clone();
    tokio::spawn(async move {
        let _keep = publication;
        let frame = 960;
        let mut current: VecDeque<i16> = Default::default();
        let started = Instant::now();
        let mut clock = 0u64;
        loop {
            if current.is_empty() {
                if let Ok(l) = lines.try_recv() {
                    current.extend(l);
                    // When this frame leaves the source's queue: the frames
                    // before it play out in real time from the start.
                    s.lock().unwrap().push((started + Duration::from_millis(clock)).max(Instant::now()));
                }
            }
            let mut out: Vec<i16> = current.drain(..frame.min(current.len())).collect();
            out.resize(frame, 0);
            if source.capture(&out).await.is_err() {
                return;
            }
            clock += 20;
            // Never run ahead of real time by more than the queue.
            let ahead = clock as i64 - started.elapsed().as_millis() as i64;
            if ahead > 100 {
                tokio::time::sleep(Duration::from_millis(ahead as u64 - 100)).await;
            }
        }
    });
    let h = heard.clone();
    let room_task = tokio::spawn(async move {
        while let Some(event) = room.next_event().await {
            if let room_event::Message::TrackSubscribed(sub) = event {
                let track = sub.track;
                if track.info.kind() != TrackKind::KindAudio {
                    drop(OwnedHandle::new(&track.handle));
                    continue;
                }
                let mut stream = AudioStream::open(client, track, 16_000, 1).unwrap();
                let h = h.clone();
                tokio::spawn(async move {
                    while let Some(frame) = stream.next().await {
                        h.lock().unwrap().push((Instant::now(), voice::audio::rms(&frame.data)));
                    }
                });
            }
        }
    });
    Phone { room_task, heard, sent, say }
}

/// Louder than this (RMS of 16-bit samples) is the agent speaking.
pub const LOUD: f64 = 500.0;

impl Phone {
    pub fn say(&self, pcm: Vec<i16>) {
        self.say.send(pcm).expect("the caller's line is open");
    }

    /// Seconds of loud audio heard since `since`.
    pub fn loud_seconds(&self, since: Instant) -> f64 {
        self.heard.lock().unwrap().iter().filter(|(t, rms)| *t >= since && *rms > LOUD).count() as f64 * 0.01
    }

    /// When the first loud frame after `t` arrived.
    pub fn first_loud_after(&self, t: Instant) -> Option<Instant> {
        self.heard.lock().unwrap().iter().find(|(at, rms)| *at > t && *rms > LOUD).map(|(at, _)| *at)
    }

    /// When the agent's audio stopped after `t`: the first of 5 quiet frames
    /// in a row (50 ms, longer than any gap inside its speech).
    pub fn quiet_after(&self, t: Instant) -> Option<Instant> {
        let heard = self.heard.lock().unwrap();
        let after: Vec<&(Instant, f64)> = heard.iter().filter(|(at, _)| *at > t).collect();
        after.windows(5).find(|w| w.iter().all(|(_, rms)| *rms <= LOUD)).map(|w| w[0].0)
    }

    /// Until the caller has heard `secs` of loud audio since `since`.
    pub async fn wait_heard(&self, since: Instant, secs: f64, within: Duration, what: &str) {
        let deadline = Instant::now() + within;
        while self.loud_seconds(since) < secs {
            assert!(Instant::now() < deadline, "the caller never heard {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Agent {
    /// The record of the call in `room`, once its job has started.
    pub async fn record_of(
        records: &Mutex<Vec<(String, Arc<CallRecord>)>>,
        room: &str,
        within: Duration,
    ) -> Arc<CallRecord> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((_, r)) = records.lock().unwrap().iter().find(|(name, _)| name == room) {
                return r.clone();
            }
            assert!(Instant::now() < deadline, "no job started in {room}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
