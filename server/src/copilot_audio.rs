//! Live audio into a copilot session: the browser-audio transport.
//!
//! `GET /api/v1/orgs/{org}/copilot/sessions/{id}/audio` upgrades to a
//! WebSocket. The browser (getUserMedia → AudioWorklet → 16 kHz 16-bit mono
//! PCM) sends binary frames; the server streams them to the organisation's
//! speech-to-text provider and feeds every partial and final transcript to
//! the session (`services::copilot::speech` decides what each transcript
//! does), whose events reach the dashboard through its event stream.
//! A text frame `{"type":"stop"}` (or closing the socket) ends the audio; the
//! provider's last finals are still delivered.
//!
//! Refusals that need no audio (not a member, session ended, no STT
//! configured) are plain HTTP errors before the upgrade. A provider failure
//! mid-stream reaches the dashboard as a `source_error` event; the session
//! goes on (typed transcript still works). When the caller's session or
//! membership ends, the socket closes with 1008 "access revoked"
//! ([`crate::stream_guard`]).

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::Permission;
use futures::StreamExt;
use providers::stt::{SpeechToText, SttConfig};
use services::copilot::{sessions, speech};
use services::OrgCtx;
use uuid::Uuid;

use crate::rest::{parse_uuid, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::{admit_socket, StreamGuard, REVOKED_REASON};

/// Largest binary frame accepted (1 s of 16 kHz audio is 32 KB; browsers send 20–100 ms).
const MAX_FRAME_BYTES: usize = 64 * 1024;

pub async fn audio_socket(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    admit_socket(&headers, &ctx, Permission::UseWorkspace)?;
    let id = parse_uuid(&id, "session_id")?;
    let lang = sessions::language(&state.db, &ctx, id).await?;
    let (stt, config) = speech::pick_stt(&state.db, &ctx, &state.server_ctx.providers, lang).await?;
    let guard = StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace);
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move { bridge(socket, state, ctx, id, stt, config, guard).await })
        .into_response())
}

async fn bridge(
    mut socket: WebSocket,
    state: AppState,
    ctx: OrgCtx,
    id: Uuid,
    stt: Box<dyn SpeechToText>,
    config: SttConfig,
    guard: StreamGuard,
) {
    let hub = &state.server_ctx.copilot;
    let Some(session) = speech::start_live(hub, &ctx, id, stt.as_ref(), config).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let audio = session.audio;
    let (mut sink, mut stream) = socket.split();
    // Browser → provider. Dropping `audio` tells the provider the audio ended.
    let pump = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            // Odd-length frames cannot be 16-bit PCM: a broken client, stop.
            let go_on = match msg {
                Message::Binary(b) => b.len() % 2 == 0 && audio.send(b).await.is_ok(),
                Message::Text(t) => !t.as_str().contains("\"stop\""),
                Message::Close(_) => false,
                _ => true,
            };
            if !go_on {
                break;
            }
        }
    });
    // Provider → session, until the audio ends or the caller's access does.
    let end = speech::transcribe(&state.db, hub, &ctx, id, session.events, guard.revoked()).await;
    // Aborting the pump drops `audio`: the provider's session ends too.
    pump.abort();
    let close = (end == speech::LiveEnd::Stopped)
        .then(|| CloseFrame { code: close_code::POLICY, reason: REVOKED_REASON.into() });
    use futures::SinkExt;
    let _ = sink.send(Message::Close(close)).await;
}
