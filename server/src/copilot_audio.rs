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
//! With `?channels=2` the frames are interleaved stereo 16 kHz PCM: the
//! left channel is the rep, the right one the prospect — what a desk phone
//! system or a dialer forking a call's two legs sends. Each channel goes
//! through its own speech-to-text stream (the voice worker's transcriber),
//! so every line is labelled with who said it and when; when the session
//! follows a phone call, the lines are stored on the call as well.
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

use crate::rest::{parse_uuid, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;
use crate::stream_guard::{admit_socket, StreamGuard, REVOKED_REASON};

/// Largest binary frame accepted (1 s of 16 kHz audio is 32 KB; browsers send 20–100 ms).
const MAX_FRAME_BYTES: usize = 64 * 1024;

#[derive(Debug, Default, serde::Deserialize)]
pub struct AudioParams {
    /// 1 (a microphone: one mixed voice) or 2 (stereo: rep left, prospect right).
    #[serde(default)]
    channels: Option<u8>,
}

pub async fn audio_socket(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<AudioParams>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    admit_socket(&headers, &ctx, Permission::UseWorkspace)?;
    let id = parse_uuid(&id, "session_id")?;
    let stereo = match params.channels.unwrap_or(1) {
        1 => false,
        2 => true,
        _ => {
            let e =
                services::ServiceError::field(domain::ErrorCode::OutOfRange, "channels").with_detail("1–2");
            return Err(e.into());
        }
    };
    let lang = sessions::language(&state.db, &ctx, id).await?;
    let (stt, config) = speech::pick_stt(&state.db, &ctx, &state.server_ctx.providers, lang).await?;
    let guard = StreamGuard::start(&state, caller, &ctx, Permission::UseWorkspace);
    let ws = ws.max_message_size(MAX_FRAME_BYTES);
    if stereo {
        let hub = state.server_ctx.copilot.clone();
        let (live, _) = speech::LiveTranscript::for_session(&state.db, hub, &ctx, id).await?;
        return Ok(ws
            .on_upgrade(move |socket| async move { two_sides(socket, live, stt, config, guard).await })
            .into_response());
    }
    Ok(ws
        .on_upgrade(move |socket| async move { bridge(socket, state, ctx, id, stt, config, guard).await })
        .into_response())
}

/// A stereo feed: the rep's and the prospect's channels through the voice
/// worker's transcriber, into the session (and its call).
async fn two_sides(
    socket: WebSocket,
    live: speech::LiveTranscript,
    stt: Box<dyn SpeechToText>,
    config: SttConfig,
    guard: StreamGuard,
) {
    use domain::copilot::script::Speaker;
    use voice::transcriber::{split_stereo, Source, Transcriber};
    let (mut sink, mut stream) = socket.split();
    let (rep_tx, rep) = tokio::sync::mpsc::channel(100);
    let (prospect_tx, prospect) = tokio::sync::mpsc::channel(100);
    let (sources_tx, sources) = tokio::sync::mpsc::channel(2);
    let rate = config.sample_rate;
    let _ = sources_tx.send(Source { speaker: Speaker::Rep, rate, audio: rep }).await;
    let _ = sources_tx.send(Source { speaker: Speaker::Prospect, rate, audio: prospect }).await;
    drop(sources_tx);
    // Socket → the two channels. Dropping the senders ends both sources.
    let pump = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let go_on = match msg {
                // Whole stereo samples only (4 bytes each): else a broken client.
                Message::Binary(b) if b.len() % 4 == 0 => {
                    let (left, right) = split_stereo(&voice::audio::samples(&b));
                    rep_tx.send(left).await.is_ok() && prospect_tx.send(right).await.is_ok()
                }
                Message::Binary(_) => false,
                Message::Text(t) => !t.as_str().contains("\"stop\""),
                Message::Close(_) => false,
                _ => true,
            };
            if !go_on {
                break;
            }
        }
    });
    let transcriber = Transcriber { stt: stt.into(), config };
    let cancel = tokio_util::sync::CancellationToken::new();
    let sink_ = std::sync::Arc::new(crate::voice_host::transcribe::SessionSink(live));
    let revoked = {
        let cancel = cancel.clone();
        let revoked = guard.revoked();
        async move {
            revoked.await;
            cancel.cancel();
        }
    };
    let stopped = tokio::select! {
        _ = transcriber.run(sources, sink_, cancel.clone()) => false,
        _ = revoked => true,
    };
    pump.abort();
    let close = stopped.then(|| CloseFrame { code: close_code::POLICY, reason: REVOKED_REASON.into() });
    use futures::SinkExt;
    let _ = sink.send(Message::Close(close)).await;
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
