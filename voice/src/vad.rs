//! Voice activity detection: Silero VAD (the ONNX model from PyPI's
//! `silero-vad`) run by ONNX Runtime (`libonnxruntime.so` from PyPI's
//! `onnxruntime`, loaded at run time through `ort`'s `load-dynamic`).
//!
//! The model is stateless between calls to it — its recurrent state is an
//! input and an output — so one [`SileroModel`] (a few ONNX sessions behind
//! locks, one thread each) serves every call of a worker, and each call keeps
//! only its own [`VadStream`]: 256 floats of state and 64 of context.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::Tensor;

/// The rate the model runs at.
pub const VAD_RATE: u32 = 16_000;
/// Samples per inference: 32 ms at 16 kHz (what the model was trained on).
pub const CHUNK: usize = 512;
/// The previous chunk's tail the model sees before each chunk (as Silero's
/// own `OnnxWrapper` prepends it).
const CONTEXT: usize = 64;
const STATE: usize = 2 * 128;
const CHUNK_MS: u64 = (CHUNK as u64 * 1000) / VAD_RATE as u64;

#[derive(Debug, thiserror::Error)]
pub enum VadError {
    #[error("ONNX Runtime is not at {0} (set HANDOO_ONNXRUNTIME_LIB; scripts/setup.sh installs it from PyPI's onnxruntime)")]
    MissingLibrary(PathBuf),
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    Library { path: PathBuf, reason: String },
    #[error("ONNX Runtime is already loaded from {0}")]
    OtherLibrary(PathBuf),
    #[error("the Silero VAD model is not at {0} (set HANDOO_VAD_MODEL; scripts/setup.sh installs it from PyPI's silero-vad)")]
    MissingModel(PathBuf),
    #[error("cannot load the Silero VAD model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("voice activity detection failed: {0}")]
    Run(String),
}

/// The process's ONNX Runtime (one per process, as ONNX Runtime wants).
static RUNTIME: OnceLock<(PathBuf, ort::environment::Environment)> = OnceLock::new();

fn runtime(library: &Path) -> Result<&'static ort::environment::Environment, VadError> {
    if let Some((path, env)) = RUNTIME.get() {
        return if path == library { Ok(env) } else { Err(VadError::OtherLibrary(path.clone())) };
    }
    if !library.is_file() {
        return Err(VadError::MissingLibrary(library.to_path_buf()));
    }
    let failed =
        |e: &dyn std::fmt::Display| VadError::Library { path: library.to_path_buf(), reason: e.to_string() };
    let env = ort::init_from(library)
        .map_err(|e| failed(&e))?
        .with_name("handoo-voice")
        .build()
        .map_err(|e| failed(&e))?;
    let _ = RUNTIME.set((library.to_path_buf(), env));
    let (path, env) = RUNTIME.get().expect("set above");
    if path == library {
        Ok(env)
    } else {
        Err(VadError::OtherLibrary(path.clone()))
    }
}

/// The Silero model, shared by every call of the process.
pub struct SileroModel {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for SileroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroModel").field("sessions", &self.sessions.len()).finish()
    }
}

impl SileroModel {
    /// Loads the runtime (once per process) and `sessions` copies of the
    /// model (one per core is plenty: an inference takes a fraction of a
    /// millisecond).
    pub fn load(library: &Path, model: &Path, sessions: usize) -> Result<SileroModel, VadError> {
        let env = runtime(library)?;
        if !model.is_file() {
            return Err(VadError::MissingModel(model.to_path_buf()));
        }
        let failed = |e: String| VadError::Model { path: model.to_path_buf(), reason: e };
        let mut out = Vec::new();
        for _ in 0..sessions.max(1) {
            let session = Session::builder(env)
                .map_err(|e| failed(e.to_string()))?
                .with_intra_threads(1)
                .map_err(|e| failed(e.to_string()))?
                .with_inter_threads(1)
                .map_err(|e| failed(e.to_string()))?
                .commit_from_file(model)
                .map_err(|e| failed(e.to_string()))?;
            let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
            if inputs != ["input", "state", "sr"] {
                return Err(failed(format!(
                    "unexpected inputs {inputs:?} (a Silero VAD v5 or later model is needed)"
                )));
            }
            out.push(Mutex::new(session));
        }
        Ok(SileroModel { sessions: out, next: AtomicUsize::new(0) })
    }

    /// From `HANDOO_ONNXRUNTIME_LIB` and `HANDOO_VAD_MODEL`.
    pub fn from_env(sessions: usize) -> Result<SileroModel, VadError> {
        let var = |name: &str| PathBuf::from(std::env::var(name).unwrap_or_default());
        Self::load(&var("HANDOO_ONNXRUNTIME_LIB"), &var("HANDOO_VAD_MODEL"), sessions)
    }

    /// The speech probability of one chunk (`CONTEXT + CHUNK` samples in
    /// [-1, 1]); `state` is read and replaced.
    fn infer(&self, input: &[f32], state: &mut [f32; STATE]) -> Result<f32, VadError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.sessions.len();
        // A free session if there is one, else wait for the next in turn.
        let mut guard = (0..n)
            .find_map(|i| self.sessions[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| self.sessions[start % n].lock().unwrap_or_else(|p| p.into_inner()));
        let run = |e: ort::Error| VadError::Run(e.to_string());
        let outputs = guard
            .run(ort::inputs![
                "input" => Tensor::from_array(([1usize, CONTEXT + CHUNK], input.to_vec())).map_err(run)?,
                "state" => Tensor::from_array(([2usize, 1, 128], state.to_vec())).map_err(run)?,
                "sr" => Tensor::from_array(([1usize], vec![i64::from(VAD_RATE)])).map_err(run)?,
            ])
            .map_err(run)?;
        let (_, p) = outputs["output"].try_extract_tensor::<f32>().map_err(run)?;
        let (_, s) = outputs["stateN"].try_extract_tensor::<f32>().map_err(run)?;
        if s.len() != STATE || p.is_empty() {
            return Err(VadError::Run(format!("unexpected output sizes {} and {}", p.len(), s.len())));
        }
        state.copy_from_slice(s);
        Ok(p[0])
    }
}

/// How speech is told from silence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// A chunk is speech from this probability up (Silero's default 0.5).
    pub threshold: f32,
    /// Speech starts after this much of it (one or two chunks).
    pub min_speech_ms: u64,
    /// Speech ends after this much silence (the turn's end is decided
    /// later, on the agent's own end-of-turn silence).
    pub min_silence_ms: u64,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig { threshold: 0.5, min_speech_ms: 32, min_silence_ms: 96 }
    }
}

/// What the detector saw; times are milliseconds of audio since the stream began.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VadEvent {
    /// Speech began at `at_ms` (the start of its first chunk).
    SpeechStart { at_ms: u64 },
    /// Speech ended at `at_ms` (the end of its last chunk).
    SpeechEnd { at_ms: u64 },
}

/// One call's detector: feed it 16 kHz audio in any slices.
pub struct VadStream {
    model: std::sync::Arc<SileroModel>,
    config: VadConfig,
    state: [f32; STATE],
    /// Context then the chunk being filled.
    window: Vec<f32>,
    /// Chunks processed.
    chunks: u64,
    speaking: bool,
    voiced_run: u64,
    silent_run: u64,
    last_voiced_end: u64,
    /// The last chunk's probability (tests, metrics).
    pub last_probability: f32,
}

impl VadStream {
    pub fn new(model: std::sync::Arc<SileroModel>, config: VadConfig) -> VadStream {
        VadStream {
            model,
            config,
            state: [0.0; STATE],
            window: vec![0.0; CONTEXT],
            chunks: 0,
            speaking: false,
            voiced_run: 0,
            silent_run: 0,
            last_voiced_end: 0,
            last_probability: 0.0,
        }
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Milliseconds of audio seen.
    pub fn position_ms(&self) -> u64 {
        self.chunks * CHUNK_MS + ((self.window.len() - CONTEXT) as u64 * 1000) / VAD_RATE as u64
    }

    pub fn push(&mut self, pcm: &[i16]) -> Result<Vec<VadEvent>, VadError> {
        let mut events = Vec::new();
        for &s in pcm {
            self.window.push(f32::from(s) / 32768.0);
            if self.window.len() == CONTEXT + CHUNK {
                let p = self.model.infer(&self.window, &mut self.state);
                // Moved on either way: one failed chunk must not stop the stream.
                self.window.drain(..CHUNK);
                self.chunk(p?, &mut events);
            }
        }
        Ok(events)
    }

    fn chunk(&mut self, p: f32, events: &mut Vec<VadEvent>) {
        self.last_probability = p;
        let start_ms = self.chunks * CHUNK_MS;
        self.chunks += 1;
        let end_ms = self.chunks * CHUNK_MS;
        // Hysteresis, as Silero's own iterator: speech from `threshold` up,
        // silence below `threshold - 0.15`, the band between keeps the state.
        let voiced = if p >= self.config.threshold {
            true
        } else if p < self.config.threshold - 0.15 {
            false
        } else {
            self.speaking
        };
        if voiced {
            self.voiced_run += 1;
            self.silent_run = 0;
            self.last_voiced_end = end_ms;
            if !self.speaking && self.voiced_run * CHUNK_MS >= self.config.min_speech_ms {
                self.speaking = true;
                events
                    .push(VadEvent::SpeechStart { at_ms: start_ms + CHUNK_MS - self.voiced_run * CHUNK_MS });
            }
        } else {
            self.voiced_run = 0;
            if self.speaking {
                self.silent_run += 1;
                if self.silent_run * CHUNK_MS >= self.config.min_silence_ms {
                    self.speaking = false;
                    events.push(VadEvent::SpeechEnd { at_ms: self.last_voiced_end });
                }
            }
        }
    }
}
