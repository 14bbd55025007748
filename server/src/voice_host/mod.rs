//! The voice agent inside the server's process (the embedded default; the
//! `voice` binary runs the same host on its own).
//!
//! One [`voice::Worker`] per LiveKit project calls may go through — the
//! operator's `LIVEKIT_*` one and each organisation's own — registered
//! under the agent name the dial dispatches to. Each job is a call: the
//! runner checks that this project may run it (`services::calls::voice::
//! accept`), reads the agent's settings with the prospect's variables and
//! its own provider clients, joins the room through LiveKit's media
//! library and holds the conversation; what the agent does goes through
//! the calls services ([`effects`]). The set of projects is re-read every
//! [`RECONCILE`]: a new organisation project gets a worker, a removed one
//! drains.

pub mod effects;
pub mod runner;
pub mod transcribe;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use services::credentials::ProviderEnv;
use services::events::EventBus;
use services::telephony::settings::{served_projects, ServedProject};
use services::telephony::TelephonyEnv;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use voice::vad::SileroModel;
use voice::{Worker, WorkerOptions};

pub use runner::{CallRunner, LiveKitRooms, MediaConnector};

/// How often the set of projects is re-read.
pub const RECONCILE: Duration = Duration::from_secs(30);

/// What every job of every project shares.
#[derive(Clone)]
pub struct HostParts {
    pub db: DatabaseConnection,
    /// The copilot's live sessions (a rep's call is transcribed into its
    /// session) and its objection classifier (empty without the model).
    /// In the embedded default, the web server's own hub.
    pub copilot: Arc<services::copilot::CopilotHub>,
    pub providers: ProviderEnv,
    pub telephony: TelephonyEnv,
    pub bus: EventBus,
    pub vad: Arc<SileroModel>,
    pub media: Arc<dyn MediaConnector>,
    pub max_calls: usize,
}

/// Loads the VAD model (once per process): a wrong file is a start-up
/// error naming it, not a failure on the first call.
pub fn load_vad(files: Option<&crate::config::VadFiles>) -> anyhow::Result<Option<Arc<SileroModel>>> {
    let Some(f) = files else { return Ok(None) };
    let vad = SileroModel::load(&f.onnxruntime_lib, &f.vad_model, 2)
        .map_err(|e| anyhow::anyhow!("voice pipeline (HANDOO_ONNXRUNTIME_LIB / HANDOO_VAD_MODEL): {e}"))?;
    Ok(Some(Arc::new(vad)))
}

/// Loads LiveKit's media library, likewise.
pub fn load_rooms(config: &crate::config::VoiceAgentConfig) -> anyhow::Result<Arc<LiveKitRooms>> {
    let ffi = rtc::FfiClient::load(&config.ffi_lib.to_string_lossy())
        .map_err(|e| anyhow::anyhow!("voice agent (LIVEKIT_FFI_LIB={}): {e}", config.ffi_lib.display()))?;
    Ok(Arc::new(LiveKitRooms { ffi }))
}

/// The running host.
pub struct VoiceHost {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl VoiceHost {
    /// Stops taking calls and waits for the live ones to end.
    pub async fn drain(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Starts the host when the configuration has the voice agent on.
pub fn start(config: &crate::Config, state: &crate::AppState) -> anyhow::Result<Option<VoiceHost>> {
    let Some(voice) = &config.voice else { return Ok(None) };
    let ctx = &state.server_ctx;
    let envs = crate::Envs {
        providers: ctx.providers.clone(),
        telephony: ctx.telephony.clone(),
        bus: ctx.bus.clone(),
    };
    let copilot = state.server_ctx.copilot.clone();
    Ok(Some(spawn(parts(voice, state.vad.clone(), state.db.clone(), copilot, envs)?)))
}

/// The host's parts from the configuration (loads the libraries).
pub fn parts(
    voice: &crate::config::VoiceAgentConfig,
    vad: Option<Arc<SileroModel>>,
    db: DatabaseConnection,
    copilot: Arc<services::copilot::CopilotHub>,
    envs: crate::Envs,
) -> anyhow::Result<HostParts> {
    let vad = match vad {
        Some(v) => v,
        None => load_vad(Some(&crate::config::VadFiles {
            onnxruntime_lib: voice.onnxruntime_lib.clone(),
            vad_model: voice.vad_model.clone(),
        }))?
        .ok_or_else(|| anyhow::anyhow!("voice pipeline: no VAD files"))?,
    };
    let rooms = load_rooms(voice)?;
    Ok(HostParts {
        db,
        copilot,
        providers: envs.providers,
        telephony: envs.telephony,
        bus: envs.bus,
        vad,
        media: rooms,
        max_calls: voice.max_calls,
    })
}

/// Runs the host in the background.
pub fn spawn(parts: HostParts) -> VoiceHost {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(parts, shutdown.clone()));
    VoiceHost { shutdown, task }
}

struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

fn key(p: &ServedProject) -> String {
    use sha2::Digest;
    let secret = hex::encode(sha2::Sha256::digest(p.project.api_secret.as_bytes()));
    format!("{}|{}|{secret}", p.project.url, p.project.api_key)
}

fn start_worker(parts: &HostParts, served: ServedProject) -> Running {
    let p = &served.project;
    let mut options = WorkerOptions::new(
        p.url.as_str(),
        &p.api_key,
        &p.api_secret,
        services::telephony::trunks::AGENT_NAME,
    );
    options.max_jobs = parts.max_calls;
    options.egress = served.tenant.then(|| parts.providers.egress.clone());
    let runner = Arc::new(CallRunner { parts: parts.clone(), served: served.clone() });
    let worker = Worker::new(options, runner);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let shutdown = shutdown.clone();
        let url = p.url.to_string();
        async move {
            tracing::info!(project = %url, "voice agent worker starting");
            if let Err(e) = worker.run(shutdown).await {
                tracing::error!(project = %url, error = %e, "voice agent worker stopped");
            }
        }
    });
    Running { shutdown, task }
}

/// Keeps one worker per served project until `shutdown`, then drains them
/// all (no new call; live ones finish) and returns.
pub async fn run(parts: HostParts, shutdown: CancellationToken) {
    let mut workers: HashMap<String, Running> = HashMap::new();
    // Removed projects' workers, finishing their calls.
    let mut draining: Vec<Running> = Vec::new();
    let mut tick = tokio::time::interval(RECONCILE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => break,
        }
        let projects = match served_projects(&parts.db, &parts.telephony).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "the LiveKit projects could not be read; trying again soon");
                continue;
            }
        };
        let wanted: HashMap<String, ServedProject> = projects.into_iter().map(|p| (key(&p), p)).collect();
        let gone: Vec<String> = workers
            .iter()
            .filter(|(k, w)| !wanted.contains_key(*k) || w.task.is_finished())
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            if let Some(w) = workers.remove(&k) {
                // Removed (or changed): it drains in the background.
                w.shutdown.cancel();
                draining.push(w);
            }
        }
        draining.retain(|w| !w.task.is_finished());
        for (k, served) in wanted {
            workers.entry(k).or_insert_with(|| start_worker(&parts, served));
        }
    }
    let all: Vec<Running> = workers.into_values().chain(draining).collect();
    for w in &all {
        w.shutdown.cancel();
    }
    for w in all {
        let _ = w.task.await;
    }
}
