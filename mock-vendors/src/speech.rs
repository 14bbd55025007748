//! Speech vendors: OpenAI speech + transcriptions, ElevenLabs streaming,
//! Cartesia's and Deepgram's and AssemblyAI's websockets. The audio they
//! "synthesise" is deterministic PCM (a tone, 16-bit LE) whose length
//! follows the text; what they "hear" is reported as `audio of <ms> ms`,
//! so tests can check that every byte sent arrived.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::{json_error, Fault, Shared, StreamGuard};

/// PCM for `text`: 10 ms of a 440 Hz tone per character, at `rate`.
pub fn tone(text: &str, rate: u32) -> Vec<u8> {
    let samples = (rate as usize / 100) * text.chars().count().max(1);
    let mut out = Vec::with_capacity(samples * 2);
    for i in 0..samples {
        let t = i as f32 / rate as f32;
        let v = ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// What the mock "heard": the duration of 16-bit mono PCM at `rate`.
pub fn heard(bytes: usize, rate: u32) -> String {
    format!("audio of {} ms", bytes as u64 * 1000 / (rate as u64 * 2))
}

fn key_fault(key: &str) -> Option<Fault> {
    Fault::from_key(key)
}

fn pcm_response(state: Shared, pcm: Vec<u8>, fault: Option<Fault>) -> Response {
    let body = async_stream::stream! {
        let mut guard = StreamGuard::new(state);
        for (i, chunk) in pcm.chunks(1024).enumerate() {
            match fault {
                Some(Fault::Stall) if i == 1 => tokio::time::sleep(Duration::from_secs(3600)).await,
                Some(Fault::Slow) => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => {}
            }
            yield Ok::<_, std::io::Error>(Bytes::copy_from_slice(chunk));
        }
        if fault == Some(Fault::Slow) {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                yield Ok(Bytes::from_static(&[0, 0]));
            }
        }
        guard.finish();
    };
    Response::builder().header("content-type", "audio/pcm").body(axum::body::Body::from_stream(body)).unwrap()
}

// ---- OpenAI -----------------------------------------------------------------

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string()
}

fn openai_err(status: StatusCode, message: &str, code: &str) -> Response {
    json_error(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}}),
        None,
    )
}

fn openai_fault(key: &str) -> Option<Response> {
    match key_fault(key) {
        _ if key.is_empty() => {
            Some(openai_err(StatusCode::UNAUTHORIZED, "You didn't provide an API key.", "missing_api_key"))
        }
        Some(Fault::BadKey) => {
            Some(openai_err(StatusCode::UNAUTHORIZED, "Incorrect API key provided.", "invalid_api_key"))
        }
        Some(Fault::RateLimited) | Some(Fault::RateLimitedLong) => {
            let mut r =
                openai_err(StatusCode::TOO_MANY_REQUESTS, "Rate limit reached", "rate_limit_exceeded");
            r.headers_mut().insert("retry-after", "120".parse().unwrap());
            Some(r)
        }
        Some(Fault::Down) => Some(openai_err(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "server_error")),
        _ => None,
    }
}

pub async fn openai_speech(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.record("openai", "/audio/speech".into(), &headers, &body);
    let key = bearer(&headers);
    if let Some(r) = openai_fault(&key) {
        return r;
    }
    let input = body["input"].as_str().unwrap_or_default();
    if input.is_empty() || body["voice"].as_str().is_none() || body["model"].as_str().is_none() {
        return openai_err(
            StatusCode::BAD_REQUEST,
            "'input', 'model' and 'voice' are required",
            "invalid_request",
        );
    }
    if body["response_format"] != "pcm" {
        return openai_err(
            StatusCode::BAD_REQUEST,
            "this mock only speaks response_format=pcm",
            "invalid_request",
        );
    }
    pcm_response(state, tone(input, 24_000), key_fault(&key))
}

/// `multipart/form-data`: just enough parsing to find fields and the file.
fn multipart_fields(body: &[u8]) -> (std::collections::HashMap<String, String>, usize) {
    let text = String::from_utf8_lossy(body);
    let mut fields = std::collections::HashMap::new();
    let mut file_len = 0;
    for part in text.split("\r\n--") {
        let Some((head, value)) = part.split_once("\r\n\r\n") else { continue };
        let Some(name) = head.split("name=\"").nth(1).and_then(|r| r.split('"').next()) else { continue };
        let value = value.trim_end_matches("\r\n");
        if name == "file" {
            // The WAV header is 44 bytes; count the rest in raw bytes.
            let start = body.windows(4).position(|w| w == b"RIFF").unwrap_or(0);
            let data_len = body
                .get(start + 40..start + 44)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
                .unwrap_or(0);
            file_len = data_len;
        } else {
            fields.insert(name.to_string(), value.to_string());
        }
    }
    (fields, file_len)
}

pub async fn openai_transcriptions(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (fields, pcm_len) = multipart_fields(&body);
    state.record("openai", "/audio/transcriptions".into(), &headers, &json!(fields));
    let key = bearer(&headers);
    if let Some(r) = openai_fault(&key) {
        return r;
    }
    if pcm_len == 0 || !fields.contains_key("model") {
        return openai_err(StatusCode::BAD_REQUEST, "'file' and 'model' are required", "invalid_request");
    }
    let text = heard(pcm_len, 16_000);
    if fields.get("stream").map(String::as_str) == Some("true") {
        let mut frames: Vec<String> = crate::brain::deltas(&text)
            .into_iter()
            .map(|d| format!("data: {}\n\n", json!({"type": "transcript.text.delta", "delta": d})))
            .collect();
        frames.push(format!("data: {}\n\n", json!({"type": "transcript.text.done", "text": text})));
        let error = format!("data: {}\n\n", json!({"type": "error", "error": {"message": "server error"}}));
        return crate::sse_response(state, frames, key_fault(&key), error, 1);
    }
    Json(json!({"text": text})).into_response()
}

// ---- ElevenLabs --------------------------------------------------------------

fn eleven_key(headers: &HeaderMap) -> Result<String, Box<Response>> {
    let key = headers.get("xi-api-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let err = |status, code: &str, message: &str| {
        Box::new(json_error(status, json!({"detail": {"status": code, "message": message}}), None))
    };
    match key_fault(&key) {
        _ if key.is_empty() || key_fault(&key) == Some(Fault::BadKey) => {
            Err(err(StatusCode::UNAUTHORIZED, "invalid_api_key", "Invalid API key"))
        }
        Some(Fault::RateLimited) | Some(Fault::RateLimitedLong) => Err(err(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_concurrent_requests",
            "Too many concurrent requests",
        )),
        Some(Fault::Down) => Err(err(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error")),
        _ => Ok(key),
    }
}

pub async fn eleven_stream(
    State(state): State<Shared>,
    Path(voice): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.record("elevenlabs", format!("/text-to-speech/{voice}/stream"), &headers, &body);
    let key = match eleven_key(&headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let rate =
        match q.get("output_format").and_then(|f| f.strip_prefix("pcm_")).and_then(|r| r.parse::<u32>().ok())
        {
            Some(r) => r,
            None => {
                return json_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"detail": [{"msg": "output_format must be pcm_<rate> here"}]}),
                    None,
                )
            }
        };
    let Some(text) = body["text"].as_str().filter(|t| !t.is_empty()) else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{"loc": ["body", "text"], "msg": "Field required"}]}),
            None,
        );
    };
    if voice == "missing" {
        return json_error(
            StatusCode::NOT_FOUND,
            json!({"detail": {"status": "voice_not_found", "message": "A voice with the voice_id missing was not found."}}),
            None,
        );
    }
    pcm_response(state, tone(text, rate), key_fault(&key))
}

pub async fn eleven_voices(State(state): State<Shared>, headers: HeaderMap) -> Response {
    state.record("elevenlabs", "/voices".into(), &headers, &Value::Null);
    if let Err(r) = eleven_key(&headers) {
        return *r;
    }
    Json(json!({"voices": [
        {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "labels": {"accent": "american", "language": "en"}},
        {"voice_id": "mockFrenchVoice01", "name": "Camille", "labels": {"language": "fr"}}
    ]}))
    .into_response()
}

// ---- Cartesia ----------------------------------------------------------------

fn cartesia_auth(
    headers: &HeaderMap,
    q: &std::collections::HashMap<String, String>,
) -> Result<String, Box<Response>> {
    // `X-API-Key` (older clients), `Authorization: Bearer` (the current
    // official SDK), or `api_key` in a WebSocket's query.
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| Some(bearer(headers)).filter(|k| !k.is_empty()))
        .or_else(|| q.get("api_key").cloned())
        .unwrap_or_default();
    if headers.get("cartesia-version").is_none() && !q.contains_key("cartesia_version") {
        return Err(Box::new(json_error(
            StatusCode::BAD_REQUEST,
            json!({"error": "Cartesia-Version header is required"}),
            None,
        )));
    }
    if key.is_empty() || key_fault(&key) == Some(Fault::BadKey) {
        return Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Invalid API key"}),
            None,
        )));
    }
    Ok(key)
}

/// Cursor pages as Cartesia's: the voices after `starting_after` (its
/// official SDK reads pages until an empty one).
pub async fn cartesia_voices(
    State(state): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    state.record("cartesia", "/voices".into(), &headers, &json!(q));
    if let Err(r) = cartesia_auth(&headers, &Default::default()) {
        return *r;
    }
    let voices = [
        json!({"id": "694f9389-aac1-45b6-b726-9d9369183238", "name": "Sarah", "language": "en"}),
        json!({"id": "mock-fr-0001", "name": "Hélène", "language": "fr"}),
    ];
    let from = match q.get("starting_after") {
        Some(after) => voices.iter().position(|v| v["id"] == after.as_str()).map_or(voices.len(), |i| i + 1),
        None => 0,
    };
    Json(json!({"data": voices[from..], "has_more": false})).into_response()
}

pub async fn cartesia_ws(
    State(state): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    state.record("cartesia", "/tts/websocket".into(), &headers, &json!(q));
    let key = match cartesia_auth(&headers, &q) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let fault = key_fault(&key);
    ws.on_upgrade(move |mut socket| async move {
        while let Some(Ok(msg)) = socket.recv().await {
            let Message::Text(text) = msg else { continue };
            let req: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            let ctx = req["context_id"].clone();
            let rate = req["output_format"]["sample_rate"].as_u64().unwrap_or(16_000) as u32;
            let Some(transcript) = req["transcript"].as_str().filter(|t| !t.is_empty()) else {
                let e = json!({"type": "error", "context_id": ctx, "status_code": 400, "done": true, "error": "transcript is required"});
                let _ = socket.send(Message::Text(e.to_string().into())).await;
                continue;
            };
            let pcm = tone(transcript, rate);
            for (i, chunk) in pcm.chunks(1024).enumerate() {
                if fault == Some(Fault::MidstreamError) && i == 1 {
                    let e = json!({"type": "error", "context_id": ctx, "status_code": 500, "done": true, "error": "internal error"});
                    let _ = socket.send(Message::Text(e.to_string().into())).await;
                    return;
                }
                if fault == Some(Fault::Stall) && i == 1 {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let m = json!({"type": "chunk", "context_id": ctx, "status_code": 206, "done": false, "step_time": 1.0, "data": B64.encode(chunk)});
                if socket.send(Message::Text(m.to_string().into())).await.is_err() {
                    return;
                }
            }
            if fault == Some(Fault::Truncated) {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1011, reason: "gone".into() }))).await;
                return;
            }
            let done = json!({"type": "done", "context_id": ctx, "status_code": 200, "done": true});
            let _ = socket.send(Message::Text(done.to_string().into())).await;
        }
    })
}

// ---- Deepgram ----------------------------------------------------------------

pub async fn deepgram_listen(
    State(state): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    state.record("deepgram", "/listen".into(), &headers, &json!(q));
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "))
        .unwrap_or_default()
        .to_string();
    if key.is_empty() || key_fault(&key) == Some(Fault::BadKey) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})),
        )
            .into_response();
    }
    if q.get("encoding").map(String::as_str) != Some("linear16") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"err_code": "Bad Request", "err_msg": "encoding must be linear16 here"})),
        )
            .into_response();
    }
    let rate: u32 = q.get("sample_rate").and_then(|r| r.parse().ok()).unwrap_or(16_000);
    let interim = q.get("interim_results").map(String::as_str) == Some("true");
    let fault = key_fault(&key);
    ws.on_upgrade(move |socket| deepgram_session(socket, state, rate, interim, fault))
}

/// Splits incoming PCM into stretches of speech by energy: a 20 ms frame is
/// voiced above [`VOICE_RMS`]; a stretch ends after 300 ms of silence.
struct Segmenter {
    frame: usize,
    pending: Vec<i16>,
    in_speech: bool,
    silent_frames: usize,
    voiced_frames: usize,
}

const VOICE_RMS: f64 = 300.0;
const END_SILENCE_FRAMES: usize = 15;

enum SegmentEvent {
    /// Still speaking; `voiced_frames` so far in this stretch.
    Speaking(usize),
    Ended,
}

impl Segmenter {
    fn new(rate: u32) -> Self {
        Segmenter {
            frame: (rate as usize / 50).max(1),
            pending: Vec::new(),
            in_speech: false,
            silent_frames: 0,
            voiced_frames: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Vec<SegmentEvent> {
        self.pending.extend(bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        let mut out = Vec::new();
        while self.pending.len() >= self.frame {
            let frame: Vec<i16> = self.pending.drain(..self.frame).collect();
            let rms = (frame.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / frame.len() as f64).sqrt();
            if rms > VOICE_RMS {
                self.in_speech = true;
                self.silent_frames = 0;
                self.voiced_frames += 1;
                out.push(SegmentEvent::Speaking(self.voiced_frames));
            } else if self.in_speech {
                self.silent_frames += 1;
                if self.silent_frames >= END_SILENCE_FRAMES {
                    self.in_speech = false;
                    self.voiced_frames = 0;
                    out.push(SegmentEvent::Ended);
                }
            }
        }
        out
    }
}

/// The first words of `text`: a growing partial.
fn first_words(text: &str, n: usize) -> String {
    text.split_whitespace().take(n.max(1)).collect::<Vec<_>>().join(" ")
}

/// A scripted session (see `State::stt_script`): partials every 0.5 s of
/// speech, the utterance as final when the stretch ends.
async fn scripted_session(mut socket: WebSocket, state: Shared, rate: u32, interim: bool) {
    let mut seg = Segmenter::new(rate);
    let next = |state: &Shared| state.stt_script.lock().unwrap().as_ref().and_then(|q| q.front().cloned());
    // Registered once, from the start: a drop asked for while a frame is
    // being handled (not awaited) is not missed.
    let dropped = state.stt_drop.notified();
    tokio::pin!(dropped);
    dropped.as_mut().enable();
    loop {
        let msg = tokio::select! {
            m = socket.recv() => m,
            // Dropped without a close frame, as a broken connection is.
            _ = &mut dropped => return,
        };
        let Some(Ok(msg)) = msg else { return };
        match msg {
            Message::Binary(b) => {
                for ev in seg.push(&b) {
                    let out = match ev {
                        SegmentEvent::Speaking(n) if interim && n % 25 == 0 => {
                            next(&state).map(|t| dg_results(&first_words(&t, 2 * n / 25), false, false))
                        }
                        SegmentEvent::Speaking(_) => None,
                        SegmentEvent::Ended => {
                            let popped =
                                state.stt_script.lock().unwrap().as_mut().and_then(|q| q.pop_front());
                            popped.map(|t| dg_results(&t, true, true))
                        }
                    };
                    if let Some(m) = out {
                        if socket.send(m).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Message::Text(t) if t.as_str().contains("CloseStream") => {
                let last = if seg.in_speech {
                    state.stt_script.lock().unwrap().as_mut().and_then(|q| q.pop_front())
                } else {
                    None
                };
                if let Some(t) = last {
                    let _ = socket.send(dg_results(&t, true, true)).await;
                }
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
                return;
            }
            _ => {}
        }
    }
}

fn dg_results(text: &str, is_final: bool, speech_final: bool) -> Message {
    let v = json!({"type": "Results", "channel_index": [0, 1], "duration": 0.5, "start": 0.0, "is_final": is_final, "speech_final": speech_final,
        "channel": {"alternatives": [{"transcript": text, "confidence": 0.97, "words": []}]}});
    Message::Text(v.to_string().into())
}

async fn deepgram_session(
    mut socket: WebSocket,
    state: Shared,
    rate: u32,
    interim: bool,
    fault: Option<Fault>,
) {
    if fault.is_none() && state.stt_script.lock().unwrap().is_some() {
        return scripted_session(socket, state, rate, interim).await;
    }
    let mut received = 0usize;
    let mut next_partial = rate as usize; // every 0.5 s of audio
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Binary(b) => {
                received += b.len();
                if fault == Some(Fault::MidstreamError) {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1011,
                            reason: "internal error".into(),
                        })))
                        .await;
                    return;
                }
                if interim && received >= next_partial {
                    next_partial += rate as usize;
                    if socket.send(dg_results(&heard(received, rate), false, false)).await.is_err() {
                        return;
                    }
                }
            }
            Message::Text(t) if t.as_str().contains("CloseStream") => {
                let _ = socket.send(dg_results(&heard(received, rate), true, true)).await;
                let meta = json!({"type": "Metadata", "duration": received as f64 / (rate as f64 * 2.0)});
                let _ = socket.send(Message::Text(meta.to_string().into())).await;
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
                return;
            }
            _ => {}
        }
    }
}

// ---- AssemblyAI ----------------------------------------------------------------

pub async fn assemblyai_ws(
    State(state): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    state.record("assemblyai", "/ws".into(), &headers, &json!(q));
    let key = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let rate: u32 = q.get("sample_rate").and_then(|r| r.parse().ok()).unwrap_or(16_000);
    let fault = key_fault(&key);
    ws.on_upgrade(move |mut socket| async move {
        // AssemblyAI accepts the upgrade, then closes with a policy code on a bad key.
        if key.is_empty() || fault == Some(Fault::BadKey) {
            let _ = socket.send(Message::Close(Some(CloseFrame { code: 1008, reason: "Invalid API key".into() }))).await;
            return;
        }
        let begin = json!({"type": "Begin", "id": "mock-session", "expires_at": 1_764_000_000});
        let _ = socket.send(Message::Text(begin.to_string().into())).await;
        let mut received = 0usize;
        let mut next_partial = rate as usize;
        let mut order = 0;
        while let Some(Ok(msg)) = socket.recv().await {
            match msg {
                Message::Binary(b) => {
                    received += b.len();
                    if received >= next_partial {
                        next_partial += rate as usize;
                        let t = json!({"type": "Turn", "turn_order": order, "transcript": heard(received, rate), "end_of_turn": false, "turn_is_formatted": false, "end_of_turn_confidence": 0.1, "words": []});
                        if socket.send(Message::Text(t.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                Message::Text(t) if t.as_str().contains("Terminate") => {
                    let text = heard(received, rate);
                    let unformatted = json!({"type": "Turn", "turn_order": order, "transcript": text.to_lowercase(), "end_of_turn": true, "turn_is_formatted": false, "end_of_turn_confidence": 0.9, "words": []});
                    let formatted = json!({"type": "Turn", "turn_order": order, "transcript": text, "end_of_turn": true, "turn_is_formatted": true, "end_of_turn_confidence": 0.9, "words": []});
                    order += 1;
                    let _ = socket.send(Message::Text(unformatted.to_string().into())).await;
                    let _ = socket.send(Message::Text(formatted.to_string().into())).await;
                    let term = json!({"type": "Termination", "audio_duration_seconds": received / (rate as usize * 2), "session_duration_seconds": 1});
                    let _ = socket.send(Message::Text(term.to_string().into())).await;
                    let _ = order;
                    return;
                }
                _ => {}
            }
        }
    })
}

/// The speech routes, one router per vendor prefix.
pub struct SpeechRouters {
    pub openai: Router<Shared>,
    pub elevenlabs: Router<Shared>,
    pub cartesia: Router<Shared>,
    pub deepgram: Router<Shared>,
    pub assemblyai: Router<Shared>,
}

pub fn routers() -> SpeechRouters {
    SpeechRouters {
        openai: Router::new()
            .route("/audio/speech", post(openai_speech))
            .route("/audio/transcriptions", post(openai_transcriptions)),
        elevenlabs: Router::new()
            .route("/text-to-speech/{voice}/stream", post(eleven_stream))
            .route("/voices", get(eleven_voices)),
        cartesia: Router::new()
            .route("/tts/websocket", get(cartesia_ws))
            .route("/voices", get(cartesia_voices)),
        deepgram: Router::new().route("/listen", get(deepgram_listen)),
        assemblyai: Router::new().route("/ws", get(assemblyai_ws)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_stretches_end_after_300_ms_of_silence() {
        let rate = 16_000;
        let mut seg = Segmenter::new(rate);
        let speech = tone(
            "one second of speech here, more or less......................................................",
            rate,
        );
        let silence = vec![0u8; rate as usize / 5 * 2]; // 200 ms
        let voiced = seg.push(&speech).into_iter().filter(|e| matches!(e, SegmentEvent::Speaking(_))).count();
        assert!(voiced >= 45, "{voiced} voiced frames");
        // 200 ms of silence is a pause, not the end…
        assert!(!seg.push(&silence).iter().any(|e| matches!(e, SegmentEvent::Ended)));
        // …another 200 ms ends the stretch, once.
        let ended = seg.push(&silence).into_iter().filter(|e| matches!(e, SegmentEvent::Ended)).count();
        assert_eq!(ended, 1);
        assert!(seg.push(&silence).is_empty());
        assert_eq!(first_words("Yes I have a minute", 2), "Yes I");
    }
}
