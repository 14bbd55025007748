//! A call's media through LiveKit: the agent joins the job's room with the
//! assignment's token through LiveKit's own Rust SDK (prebuilt
//! `liblivekit_ffi.so`, driven by `rtc`), hears the caller — the first
//! remote participant's microphone track, which on a phone call is the SIP
//! participant's — at 16 kHz, resampled by the library, and speaks through
//! a published audio source. The conversation sees a plain
//! [`MediaSession`].

use std::time::Duration;

use rtc::proto::{room_event, TrackKind};
use rtc::{AudioSource, AudioStream, FfiClient, OwnedHandle, Room, RoomOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::media::{pair, Inbound, MediaSession, Outbound};

/// The caller's audio, as the VAD and STT want it.
pub const CALLER_RATE: u32 = 16_000;
/// What the agent's voice is published at (LiveKit encodes it to Opus).
pub const AGENT_RATE: u32 = 24_000;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot join the room: {0}")]
    Join(String),
    #[error("cannot publish the agent's voice: {0}")]
    Publish(String),
    #[error("nobody with a microphone joined the room within {0:?}")]
    NoCaller(Duration),
    #[error("cannot read the caller's audio: {0}")]
    Listen(String),
}

/// The job's room, joined: its media session and the task that carries it
/// (ends when the call does).
pub struct LiveKitMedia {
    pub session: MediaSession,
    pub task: JoinHandle<()>,
}

/// Joins `url` with `token`, waits up to `answer_timeout` for the caller's
/// audio (on a phone call: the callee's, once they answer — the job is
/// dispatched before the dial), and starts carrying the call's audio.
pub async fn join(
    client: &'static FfiClient,
    url: &str,
    token: &str,
    answer_timeout: Duration,
) -> Result<LiveKitMedia, MediaError> {
    let options = RoomOptions { auto_subscribe: true, connect_timeout_ms: 15_000 };
    let mut room = Room::connect(client, &providers::ws::ws_url(url), token, options)
        .await
        .map_err(|e| MediaError::Join(e.to_string()))?;
    // A fifth of a second queued in the library at most: our own pacing
    // keeps it short, so a barge-in's clear leaves little in flight.
    let source =
        AudioSource::new(client, AGENT_RATE, 1, 200).map_err(|e| MediaError::Publish(e.to_string()))?;
    let publication =
        room.publish_audio(&source, "agent-voice").await.map_err(|e| MediaError::Publish(e.to_string()))?;
    let (identity, track) = tokio::time::timeout(answer_timeout, async {
        while let Some(event) = room.next_event().await {
            if let room_event::Message::TrackSubscribed(sub) = event {
                if sub.track.info.kind() == TrackKind::KindAudio {
                    return Some((sub.participant_identity, sub.track));
                }
                drop(OwnedHandle::new(&sub.track.handle));
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or(MediaError::NoCaller(answer_timeout))?;
    let stream =
        AudioStream::open(client, track, CALLER_RATE, 1).map_err(|e| MediaError::Listen(e.to_string()))?;
    let (session, far) = pair(CALLER_RATE, AGENT_RATE);
    let task = tokio::spawn(carry(client, room, source, publication, far, (identity, stream)));
    Ok(LiveKitMedia { session, task })
}

async fn carry(
    client: &'static FfiClient,
    mut room: Room,
    source: AudioSource,
    _publication: rtc::Publication,
    far: crate::media::FarEnd,
    (identity, stream): (String, AudioStream),
) {
    let crate::media::FarEnd { to_agent, mut from_agent, .. } = far;
    let mut caller = (identity, tokio::spawn(hear(stream, to_agent.clone())));
    loop {
        tokio::select! {
            event = room.next_event() => {
                let Some(event) = event else {
                    let _ = to_agent.send(Inbound::Hangup).await;
                    break;
                };
                match event {
                    room_event::Message::TrackSubscribed(sub) => {
                        let track = sub.track;
                        // Only the caller's audio; theirs again after a re-publish.
                        if sub.participant_identity != caller.0 || track.info.kind() != TrackKind::KindAudio {
                            drop(OwnedHandle::new(&track.handle));
                            continue;
                        }
                        match AudioStream::open(client, track, CALLER_RATE, 1) {
                            Ok(stream) => {
                                caller.1.abort();
                                caller.1 = tokio::spawn(hear(stream, to_agent.clone()));
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot read the caller's audio"),
                        }
                    }
                    room_event::Message::ParticipantDisconnected(p) if caller.0 == p.participant_identity => {
                        let _ = to_agent.send(Inbound::Hangup).await;
                        break;
                    }
                    room_event::Message::Disconnected(_) | room_event::Message::Eos(_) => {
                        let _ = to_agent.send(Inbound::Hangup).await;
                        break;
                    }
                    _ => {}
                }
            }
            out = from_agent.recv() => match out {
                Some(Outbound::Audio(frame)) => {
                    if let Err(e) = source.capture(&frame).await {
                        tracing::warn!(error = %e, "cannot send the agent's audio");
                    }
                }
                Some(Outbound::Clear) => {
                    let _ = source.clear();
                }
                Some(Outbound::Event(_)) => {}
                Some(Outbound::HangUp) | None => break,
            },
        }
    }
    caller.1.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), room.disconnect()).await;
}

async fn hear(mut stream: AudioStream, to_agent: mpsc::Sender<Inbound>) {
    while let Some(frame) = stream.next().await {
        if to_agent.send(Inbound::Audio(frame.data)).await.is_err() {
            return;
        }
    }
}

/// A call's room, joined to listen (the transcriber): each audio track of a
/// participant `label` names is a [`crate::transcriber::Source`]; the
/// others (managers, agents) are not heard. The channel closes when the
/// room does; the task carries the room until then.
pub struct LiveKitListening {
    pub sources: mpsc::Receiver<crate::transcriber::Source>,
    pub task: JoinHandle<()>,
}

/// Joins `url` with `token` without publishing anything; see [`LiveKitListening`].
pub async fn listen(
    client: &'static FfiClient,
    url: &str,
    token: &str,
    label: impl Fn(&str) -> Option<domain::copilot::script::Speaker> + Send + 'static,
) -> Result<LiveKitListening, MediaError> {
    let options = RoomOptions { auto_subscribe: true, connect_timeout_ms: 15_000 };
    let room = Room::connect(client, &providers::ws::ws_url(url), token, options)
        .await
        .map_err(|e| MediaError::Join(e.to_string()))?;
    let (tx, sources) = mpsc::channel(8);
    let task = tokio::spawn(carry_listening(client, room, tx, label));
    Ok(LiveKitListening { sources, task })
}

async fn carry_listening(
    client: &'static FfiClient,
    mut room: Room,
    sources: mpsc::Sender<crate::transcriber::Source>,
    label: impl Fn(&str) -> Option<domain::copilot::script::Speaker>,
) {
    let mut streams: Vec<JoinHandle<()>> = Vec::new();
    while let Some(event) = room.next_event().await {
        match event {
            room_event::Message::TrackSubscribed(sub) => {
                let track = sub.track;
                let speaker = label(&sub.participant_identity);
                let (Some(speaker), TrackKind::KindAudio) = (speaker, track.info.kind()) else {
                    drop(OwnedHandle::new(&track.handle));
                    continue;
                };
                let stream = match AudioStream::open(client, track, CALLER_RATE, 1) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read a participant's audio");
                        continue;
                    }
                };
                let (audio_tx, audio) = mpsc::channel(100);
                let source = crate::transcriber::Source { speaker, rate: CALLER_RATE, audio };
                if sources.send(source).await.is_err() {
                    break;
                }
                streams.push(tokio::spawn(async move {
                    let mut stream = stream;
                    while let Some(frame) = stream.next().await {
                        if audio_tx.send(frame.data).await.is_err() {
                            return;
                        }
                    }
                }));
            }
            room_event::Message::Disconnected(_) | room_event::Message::Eos(_) => break,
            _ => {}
        }
    }
    // The streams end with their tracks; the room is gone, so end them now.
    for s in streams {
        s.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), room.disconnect()).await;
}
