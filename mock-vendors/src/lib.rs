#![recursion_limit = "256"]

//! Mock LLM / STT / TTS vendors on one local port, each under its own path
//! prefix and speaking that vendor's real wire format:
//!
//! | vendor    | base URL to configure                  |
//! |-----------|----------------------------------------|
//! | OpenAI    | `http://{addr}/openai/v1`              |
//! | Anthropic | `http://{addr}/anthropic/v1`           |
//! | Gemini    | `http://{addr}/gemini/v1beta`          |
//! | ElevenLabs| `http://{addr}/elevenlabs/v1`          |
//! | Cartesia  | `ws://{addr}/cartesia`                 |
//! | Deepgram  | `ws://{addr}/deepgram/v1`              |
//! | AssemblyAI| `ws://{addr}/assemblyai/v3`            |
//! | LiveKit   | `http://{addr}` (Twirp at `/twirp/…`, agents at `/agent`) |
//!
//! The API key selects a failure to reproduce (see [`Fault`]); any other
//! non-empty key works. Every request is recorded for assertions.

pub mod anthropic;
pub mod brain;
pub mod gemini;
pub mod livekit;
pub mod livekit_agent;
pub mod openai;
pub mod polar;
pub mod speech;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

/// A failure chosen by the API key the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `bad-key`: 401 with the vendor's auth error body.
    BadKey,
    /// `rate-limited`: 429 with `retry-after: 1`.
    RateLimited,
    /// `rate-limited-long`: 429 with `retry-after: 120`.
    RateLimitedLong,
    /// `down`: 503 every time.
    Down,
    /// `flaky`: 503 on the first request of each kind, then fine.
    Flaky,
    /// `stall`: headers, one delta, then silence.
    Stall,
    /// `malformed`: a data line that is not JSON.
    Malformed,
    /// `truncated`: the stream stops before the vendor's end marker.
    Truncated,
    /// `slow`: a delta every 50 ms, for a long time (cancellation tests).
    Slow,
    /// `midstream-error`: a few deltas, then the vendor's in-stream error event.
    MidstreamError,
}

impl Fault {
    pub fn from_key(key: &str) -> Option<Fault> {
        Some(match key {
            "bad-key" => Fault::BadKey,
            "rate-limited" => Fault::RateLimited,
            "rate-limited-long" => Fault::RateLimitedLong,
            "down" => Fault::Down,
            "flaky" => Fault::Flaky,
            "stall" => Fault::Stall,
            "malformed" => Fault::Malformed,
            "truncated" => Fault::Truncated,
            "slow" => Fault::Slow,
            "midstream-error" => Fault::MidstreamError,
            _ => return None,
        })
    }
}

/// The model name that answers 404 on every vendor.
pub const MISSING_MODEL: &str = "no-such-model";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub vendor: &'static str,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    /// When it arrived (benchmarks time our requests by it).
    pub at: std::time::Instant,
}

#[derive(Debug, Default)]
pub struct State {
    pub requests: Mutex<Vec<Recorded>>,
    /// Streams whose client went away before the end (cancellation).
    pub disconnects: AtomicUsize,
    /// Per-vendor request counters (for `flaky`).
    pub hits: Mutex<std::collections::HashMap<String, usize>>,
    /// Scripted speech-to-text (`POST /__control/stt-script`): when set, each
    /// stretch of speech the streaming STT hears (energy above a threshold,
    /// ended by 300 ms of silence) is transcribed as the next of these
    /// utterances, with growing partials while it lasts. The mock cannot
    /// recognise speech; this is how tests feed it real audio (espeak-ng in
    /// Chromium's fake microphone) and still get known words back.
    pub stt_script: Mutex<Option<std::collections::VecDeque<String>>>,
    /// Cuts every open scripted STT socket (`POST /__control/stt-drop`):
    /// a network failure in the middle of what the caller says.
    pub stt_drop: tokio::sync::Notify,
    /// The LiveKit stand-in's rooms, trunks, dispatches (see [`livekit`]).
    pub livekit: Mutex<livekit::LiveKitState>,
    /// Agent workers connected to the LiveKit stand-in's `/agent` (see [`livekit_agent`]).
    pub agents: livekit_agent::Agents,
    /// The Polar stand-in's products, checkouts, subscriptions (see [`polar`]).
    pub polar: Mutex<polar::PolarState>,
}

impl State {
    pub(crate) fn record(&self, vendor: &'static str, path: String, headers: &HeaderMap, body: &Value) {
        self.requests.lock().unwrap().push(Recorded {
            vendor,
            path,
            headers: headers.clone(),
            body: body.clone(),
            at: std::time::Instant::now(),
        });
    }

    /// 1 for the first request to `vendor`, 2 for the second…
    pub(crate) fn hit(&self, vendor: &str) -> usize {
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(vendor.to_string()).or_default();
        *n += 1;
        *n
    }

    pub fn requests_for(&self, vendor: &str) -> Vec<Recorded> {
        self.requests.lock().unwrap().iter().filter(|r| r.vendor == vendor).cloned().collect()
    }

    pub fn disconnects(&self) -> usize {
        self.disconnects.load(Ordering::SeqCst)
    }

    /// Sets (or with `None` clears) the scripted transcript.
    pub fn script_stt(&self, utterances: Option<Vec<String>>) {
        *self.stt_script.lock().unwrap() = utterances.map(Into::into);
    }
}

#[derive(serde::Deserialize)]
struct SttScript {
    utterances: Option<Vec<String>>,
}

async fn control_stt_script(
    axum::extract::State(state): axum::extract::State<Shared>,
    axum::Json(body): axum::Json<SttScript>,
) -> StatusCode {
    state.script_stt(body.utterances);
    StatusCode::NO_CONTENT
}

async fn control_stt_drop(axum::extract::State(state): axum::extract::State<Shared>) -> StatusCode {
    state.stt_drop.notify_waiters();
    StatusCode::NO_CONTENT
}

pub type Shared = Arc<State>;

pub fn router(state: Shared) -> Router {
    let speech = speech::routers();
    Router::new()
        .nest("/openai/v1", openai::router().merge(speech.openai))
        .nest("/elevenlabs/v1", speech.elevenlabs)
        .nest("/cartesia", speech.cartesia)
        .nest("/deepgram/v1", speech.deepgram)
        .nest("/assemblyai/v3", speech.assemblyai)
        .nest("/anthropic/v1", anthropic::router())
        .nest("/gemini/v1beta", gemini::router())
        .route("/__control/stt-script", axum::routing::post(control_stt_script))
        .route("/__control/stt-drop", axum::routing::post(control_stt_drop))
        .merge(livekit::router())
        .merge(livekit_agent::router())
        .merge(polar::router())
        .with_state(state)
}

/// A running mock server (for tests); it stops when the runtime does.
pub struct MockVendors {
    pub addr: SocketAddr,
    pub state: Shared,
}

impl MockVendors {
    pub async fn start() -> MockVendors {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> MockVendors {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind mock vendors");
        let addr = listener.local_addr().unwrap();
        let state = Shared::default();
        let app = router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        MockVendors { addr, state }
    }

    pub fn base_url(&self, vendor: &str) -> String {
        match vendor {
            "openai" => format!("http://{}/openai/v1", self.addr),
            "anthropic" => format!("http://{}/anthropic/v1", self.addr),
            "gemini" => format!("http://{}/gemini/v1beta", self.addr),
            "elevenlabs" => format!("http://{}/elevenlabs/v1", self.addr),
            "cartesia" => format!("ws://{}/cartesia", self.addr),
            "deepgram" => format!("ws://{}/deepgram/v1", self.addr),
            "assemblyai" => format!("ws://{}/assemblyai/v3", self.addr),
            "livekit" => format!("http://{}", self.addr),
            "polar" => format!("http://{}/polar", self.addr),
            other => panic!("unknown mock vendor {other}"),
        }
    }
}

/// Increments `disconnects` when dropped before [`StreamGuard::finish`]:
/// axum drops the body stream when the client goes away.
pub(crate) struct StreamGuard {
    state: Shared,
    finished: bool,
}

impl StreamGuard {
    pub(crate) fn new(state: Shared) -> Self {
        StreamGuard { state, finished: false }
    }
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.disconnects.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub(crate) fn json_error(status: StatusCode, body: Value, retry_after: Option<u64>) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(s) = retry_after {
        resp.headers_mut().insert("retry-after", s.to_string().parse().unwrap());
    }
    resp
}

/// An SSE response from pre-rendered frames, honouring the stream faults.
/// `truncate_tail`: how many final frames `truncated` drops (enough to lose
/// the vendor's completion marker).
pub(crate) fn sse_response(
    state: Shared,
    frames: Vec<String>,
    fault: Option<Fault>,
    error_frame: String,
    truncate_tail: usize,
) -> Response {
    let body = async_stream::stream! {
        let mut guard = StreamGuard::new(state);
        let n = frames.len();
        for (i, frame) in frames.into_iter().enumerate() {
            match fault {
                Some(Fault::Stall) if i == 1 => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                Some(Fault::Malformed) if i == 1 => {
                    yield Ok::<_, std::io::Error>(bytes::Bytes::from("data: {not json\n\n"));
                    break;
                }
                Some(Fault::Truncated) if i + truncate_tail >= n => break,
                Some(Fault::MidstreamError) if i == 2 => {
                    yield Ok(bytes::Bytes::from(error_frame.clone()));
                    break;
                }
                Some(Fault::Slow) => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => {}
            }
            yield Ok(bytes::Bytes::from(frame));
        }
        if fault == Some(Fault::Slow) {
            // Keep sending until the client hangs up.
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                yield Ok(bytes::Bytes::from(": keep-alive\n\n"));
            }
        }
        guard.finish();
    };
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(axum::body::Body::from_stream(body))
        .unwrap()
}

/// The HTTP-level faults common to every vendor: returns the error response
/// to send instead of a stream, if any. `auth_error` and `overloaded` are the
/// vendor's own bodies.
pub(crate) struct VendorErrors {
    pub auth_status: StatusCode,
    pub auth: Value,
    pub rate: Value,
    pub down_status: StatusCode,
    pub down: Value,
}

pub(crate) fn http_fault(
    state: &Shared,
    vendor: &str,
    fault: Option<Fault>,
    e: VendorErrors,
) -> Option<Response> {
    let VendorErrors { auth_status, auth: auth_error, rate: rate_error, down_status, down: down_error } = e;
    match fault? {
        Fault::BadKey => Some(json_error(auth_status, auth_error, None)),
        Fault::RateLimited => Some(json_error(StatusCode::TOO_MANY_REQUESTS, rate_error, Some(1))),
        Fault::RateLimitedLong => Some(json_error(StatusCode::TOO_MANY_REQUESTS, rate_error, Some(120))),
        Fault::Down => Some(json_error(down_status, down_error, None)),
        Fault::Flaky if state.hit(vendor) == 1 => Some(json_error(down_status, down_error, None)),
        _ => None,
    }
}
