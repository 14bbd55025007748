//! The in-browser test call: talk to a voice agent from the microphone and
//! hear it answer, with no LiveKit project — the voice pipeline's second
//! media transport.
//!
//! `GET /api/v1/orgs/{org}/agents/{id}/test-call` upgrades to a WebSocket.
//! The browser sends its microphone as binary frames of 16 kHz 16-bit
//! little-endian mono PCM (`/pcm-capture.js`); the server answers with the
//! agent's voice as binary frames of 24 kHz PCM, paced in real time
//! (`/pcm-playback.js` plays them), and text frames of JSON events:
//! `{"type":"clear"}` (barge-in: drop what is queued), `{"type":"hangup"}`,
//! and the conversation's live events (`partial`, `turn`, `data`, `note`,
//! `latency`, `ended`, as `voice::call::LiveEvent` serialises them). A text
//! frame `{"type":"stop"}` or closing the socket hangs up.
//!
//! Nothing is stored: the agent's tools act on the screen only (a test call
//! has no prospect, no call row and no phone line to transfer). Refusals
//! that need no audio (not a member, not an active voice agent, a provider
//! not configured, no VAD on this server) are plain HTTP errors before the
//! upgrade; a revoked session or membership closes the socket with 1008.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::{ErrorCode, Permission};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use voice::call::{CallEffects, LiveEvent, TurnRecord};
use voice::conversation::Conversation;
use voice::media::{pair, Inbound, Outbound};

use crate::rest::{parse_uuid, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::{admit_socket, StreamGuard, REVOKED_REASON};

/// The browser's microphone rate, and the agent's voice rate.
pub const IN_RATE: u32 = 16_000;
pub const OUT_RATE: u32 = 24_000;

/// Largest binary frame accepted (1 s of 16 kHz audio is 32 KB; browsers send 20 ms).
const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The conversation's live events, on their way to the screen; the
/// copilot's classifier hears opt-outs as on a phone call (nothing is
/// recorded: a test call has no prospect).
struct ToScreen(mpsc::UnboundedSender<Value>, services::copilot::Semantic);

#[async_trait]
impl CallEffects for ToScreen {
    async fn turn(&self, _turn: &TurnRecord) {
        // Shown through its live event.
    }

    async fn live(&self, event: &LiveEvent) {
        if let Ok(v) = serde_json::to_value(event) {
            let _ = self.0.send(v);
        }
    }

    async fn add_note(&self, _text: &str) -> Result<(), String> {
        Ok(())
    }

    async fn update_data(&self, _field: &str, _value: &Value) -> Result<(), String> {
        Ok(())
    }

    async fn transfer(&self, _number: &str) -> Result<(), String> {
        Err("a test call has no phone line to transfer".into())
    }

    async fn ended(&self, _report: &voice::call::CallReport) {}

    async fn opts_out(&self, words: &str, locale: domain::Locale) -> bool {
        crate::voice_host::effects::hears_opt_out(&self.1, words, locale).await
    }
}

pub async fn test_call_socket(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    admit_socket(&headers, &ctx, Permission::UseWorkspace)?;
    let id = parse_uuid(&id, "agent_id")?;
    // The agent first: who may, and which agent, before what this server can do.
    let agent =
        services::calls::voice::prepare_test(&state.db, &state.server_ctx.providers, &ctx, id).await?;
    let vad = state.vad.clone().ok_or_else(|| AppError::new(ErrorCode::VoiceAgentUnavailable))?;
    let config = crate::voice_host::runner::call_config(&agent);
    let providers = crate::voice_host::runner::providers_of(&agent);
    let guard = StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace);
    let semantic = state.server_ctx.copilot.semantic().clone();
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let (events_tx, events) = mpsc::unbounded_channel();
            let conversation =
                Conversation::new(config, providers, Arc::new(ToScreen(events_tx, semantic)), vad);
            bridge(socket, conversation, events, guard).await
        })
        .into_response())
}

fn pcm_from(bytes: &[u8]) -> Vec<i16> {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

fn pcm_to(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

async fn bridge(
    mut socket: WebSocket,
    conversation: Conversation,
    mut events: mpsc::UnboundedReceiver<Value>,
    guard: StreamGuard,
) {
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let voice::media::FarEnd { to_agent, mut from_agent, .. } = far;
    let talk = tokio::spawn(conversation.run(session));
    let mut caller_gone = false;
    loop {
        tokio::select! {
            incoming = socket.recv(), if !caller_gone => match incoming {
                Some(Ok(Message::Binary(b))) => {
                    // A full queue means the pipeline is behind: the frame waits, never piles up.
                    if to_agent.send(Inbound::Audio(pcm_from(&b))).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Text(t))) => {
                    if serde_json::from_str::<Value>(&t).is_ok_and(|v| v["type"] == "stop") {
                        caller_gone = true;
                        let _ = to_agent.send(Inbound::Hangup).await;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    caller_gone = true;
                    let _ = to_agent.send(Inbound::Hangup).await;
                }
            },
            out = from_agent.recv() => {
                let sent = match out {
                    Some(Outbound::Audio(frame)) => socket.send(Message::Binary(pcm_to(&frame).into())).await,
                    Some(Outbound::Clear) => socket.send(Message::Text(json!({"type": "clear"}).to_string().into())).await,
                    Some(Outbound::Event(v)) => socket.send(Message::Text(v.to_string().into())).await,
                    Some(Outbound::HangUp) => {
                        let _ = socket.send(Message::Text(json!({"type": "hangup"}).to_string().into())).await;
                        break;
                    }
                    None => break,
                };
                if sent.is_err() {
                    caller_gone = true;
                    let _ = to_agent.send(Inbound::Hangup).await;
                }
            }
            Some(ev) = events.recv() => {
                let _ = socket.send(Message::Text(ev.to_string().into())).await;
            }
            _ = guard.revoked() => {
                let _ = to_agent.send(Inbound::Hangup).await;
                let _ = socket
                    .send(Message::Close(Some(CloseFrame { code: close_code::POLICY, reason: REVOKED_REASON.into() })))
                    .await;
                let _ = talk.await;
                return;
            }
        }
    }
    // The conversation's last events (its report) reach the screen before the socket closes.
    let _ = talk.await;
    while let Ok(ev) = events.try_recv() {
        let _ = socket.send(Message::Text(ev.to_string().into())).await;
    }
    let _ = socket.send(Message::Close(None)).await;
}
