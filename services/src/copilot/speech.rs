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

/// Where a phone call's transcriber (or a stereo feed) puts what it hears:
/// each line into the copilot session (labelled, with its times: phases
/// move, cards rise) and, when the session follows a call, onto the call as
/// numbered turns — what the call page and the post-call analysis read.
pub struct LiveTranscript {
    db: DatabaseConnection,
    hub: std::sync::Arc<CopilotHub>,
    ctx: OrgCtx,
    session_id: Uuid,
    call_id: Option<Uuid>,
    /// The next turn's number on the call (after those already stored: a
    /// transcriber that restarts goes on where the last one stopped).
    next_turn: std::sync::atomic::AtomicU32,
    /// The session ended: lines still go onto the call, not into it.
    ended: std::sync::atomic::AtomicBool,
}

impl LiveTranscript {
    /// For the session following call `call_id`; its language with it.
    pub async fn for_call(
        db: &DatabaseConnection,
        hub: std::sync::Arc<CopilotHub>,
        ctx: &OrgCtx,
        call_id: Uuid,
    ) -> ServiceResult<(LiveTranscript, Locale)> {
        let session = sessions::of_call(db, ctx, call_id).await?.ok_or_else(ServiceError::not_found)?;
        Self::for_session(db, hub, ctx, session.id).await
    }

    /// For session `id` (and its call, if it follows one).
    pub async fn for_session(
        db: &DatabaseConnection,
        hub: std::sync::Arc<CopilotHub>,
        ctx: &OrgCtx,
        id: Uuid,
    ) -> ServiceResult<(LiveTranscript, Locale)> {
        let lang = sessions::language(db, ctx, id).await?;
        let call_id = sessions::call_of(db, ctx, id).await?;
        let next_turn = match call_id {
            Some(call) => crate::calls::transcript::next_seq(db, call).await?,
            None => 0,
        };
        let live = LiveTranscript {
            db: db.clone(),
            hub,
            ctx: *ctx,
            session_id: id,
            call_id,
            next_turn: std::sync::atomic::AtomicU32::new(next_turn),
            ended: Default::default(),
        };
        Ok((live, lang))
    }

    pub fn session_id(&self) -> Uuid {
        self.session_id
    }

    /// Words still being said: shown live, stored nowhere.
    pub async fn partial(&self, speaker: Speaker, text: String) {
        if self.ended.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let u = Utterance { speaker, text, is_final: false };
        if let Err(e) = sessions::observe(&self.db, &self.hub, &self.ctx, self.session_id, u).await {
            self.note_error(&e);
        }
    }

    /// A settled line: into the session, onto the call. False when nobody
    /// wants more (the session ended and there is no call to write on).
    pub async fn line(&self, speaker: Speaker, text: String, start_ms: u64, end_ms: u64) -> bool {
        use std::sync::atomic::Ordering;
        if let Some(call) = self.call_id {
            let turn = domain::call_views::CallTurn {
                seq: self.next_turn.fetch_add(1, Ordering::Relaxed),
                speaker: match speaker {
                    Speaker::Rep => domain::call_views::TurnSpeaker::Rep,
                    _ => domain::call_views::TurnSpeaker::Prospect,
                },
                text: text.chars().take(domain::call_views::TURN_TEXT_MAX).collect(),
                start_ms,
                end_ms,
                interrupted: false,
            };
            if let Err(e) = crate::calls::transcript::add_turns(&self.db, &self.ctx, call, vec![turn]).await {
                tracing::warn!(call = %call, code = e.code.as_str(), "a transcript turn was not stored");
            }
        }
        if !self.ended.load(Ordering::Relaxed) {
            let u = Utterance { speaker, text, is_final: true };
            let times = Some(sessions::LineTimes { start_ms, end_ms });
            if let Err(e) =
                sessions::observe_at(&self.db, &self.hub, &self.ctx, self.session_id, u, times).await
            {
                self.note_error(&e);
            }
        }
        self.call_id.is_some() || !self.ended.load(Ordering::Relaxed)
    }

    /// A source's speech-to-text failed: the rep's screen says so.
    pub async fn failed(&self, code: ErrorCode) {
        sessions::report_source_error(&self.hub, &self.ctx, self.session_id, code).await;
    }

    fn note_error(&self, e: &ServiceError) {
        if e.code == ErrorCode::ConversationEnded {
            self.ended.store(true, std::sync::atomic::Ordering::Relaxed);
        } else {
            tracing::warn!(session = %self.session_id, code = e.code.as_str(), "transcript not applied");
        }
    }
}
