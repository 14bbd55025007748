//! The organisation's speech-to-text for live copilot sources (practice
//! mode's microphone): a provider with a key (the organisation's own first)
//! that speaks the session's language, preferring real-time streaming
//! vendors (Deepgram, AssemblyAI) over OpenAI's, which only transcribes once
//! the audio ends — and the pump that feeds what it hears into the session.
//! Transports (the browser's WebSocket today, a phone call's media later)
//! only carry the audio bytes; what a transcript does is decided here.

use std::future::Future;

use domain::catalogue::{self, Capability};
use domain::copilot::script::{Speaker, Utterance};
use domain::{ErrorCode, Locale};
use futures::StreamExt;
use providers::stt::{SpeechToText, SttConfig, SttSession, TranscriptEvent, TranscriptStream};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::sessions::{self, CopilotHub};
use crate::credentials::{self, ProviderEnv};
use crate::{OrgCtx, ServiceError, ServiceResult};

/// Sample rate the browser sends (16-bit mono PCM).
pub const SAMPLE_RATE: u32 = 16_000;

pub async fn pick_stt(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    lang: Locale,
) -> ServiceResult<(Box<dyn SpeechToText>, SttConfig)> {
    let mut usable = credentials::configured(db, ctx, env, Capability::Stt).await?;
    // Stable sort: the organisation's own keys stay first within each group.
    usable.sort_by_key(|p| p.protocol == catalogue::Protocol::OpenAi);
    for p in usable {
        if !p.speaks(lang.as_str()) {
            continue;
        }
        let Some(model) = p.models(Capability::Stt).first() else { continue };
        let endpoint = credentials::endpoint(db, ctx, env, p.id).await?;
        match providers::speech_to_text(env.http.clone(), p.id, endpoint) {
            Ok(stt) => {
                let config = SttConfig {
                    model: model.to_string(),
                    language: lang.as_str().to_string(),
                    sample_rate: SAMPLE_RATE,
                    interim: true,
                };
                return Ok((stt, config));
            }
            Err(e) => tracing::warn!(provider = p.id, error = %e, "configured STT unusable"),
        }
    }
    Err(ServiceError::field(ErrorCode::ProviderNotConfigured, "provider").with_detail("speech-to-text"))
}

/// Opens the provider's streaming session for a live source of session
/// `id`. A provider that refuses is reported to the dashboard as a
/// `source_error` event (the session goes on; typed lines still work).
pub async fn start_live(
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
    stt: &dyn SpeechToText,
    config: SttConfig,
) -> Option<SttSession> {
    match stt.start(config).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(session = %id, error = %e, "speech-to-text did not start");
            sessions::report_source_error(hub, ctx, id, e.code()).await;
            None
        }
    }
}

/// Why [`transcribe`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEnd {
    /// The provider's stream ended: the audio stopped and its last finals arrived.
    AudioEnded,
    /// `stop` resolved first (the caller's access was revoked).
    Stopped,
    /// The session ended while audio was still flowing.
    SessionEnded,
    /// The provider failed mid-stream; the dashboard got a `source_error` event.
    ProviderFailed,
}

/// Feeds every partial and final transcript of a live source into session
/// `id` (its events reach the dashboard through the hub) until the stream
/// ends, `stop` resolves, the session ends or the provider fails.
pub async fn transcribe<Stop: Future>(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
    mut transcripts: TranscriptStream,
    stop: Stop,
) -> LiveEnd {
    tokio::pin!(stop);
    loop {
        let ev = tokio::select! {
            biased;
            _ = &mut stop => return LiveEnd::Stopped,
            ev = transcripts.next() => ev,
        };
        let Some(ev) = ev else { return LiveEnd::AudioEnded };
        let (text, is_final) = match ev {
            Ok(TranscriptEvent::Partial { text }) => (text, false),
            Ok(TranscriptEvent::Final { text, .. }) => (text, true),
            Ok(TranscriptEvent::EndOfTurn) => continue,
            Err(e) => {
                tracing::warn!(session = %id, error = %e, "speech-to-text failed mid-stream");
                sessions::report_source_error(hub, ctx, id, e.code()).await;
                return LiveEnd::ProviderFailed;
            }
        };
        // A microphone does not say who is speaking.
        let u = Utterance { speaker: Speaker::Unknown, text, is_final };
        match sessions::observe(db, hub, ctx, id, u).await {
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::ConversationEnded => return LiveEnd::SessionEnded,
            Err(e) => tracing::warn!(session = %id, code = e.code.as_str(), "transcript not applied"),
        }
    }
}
