//! One job = one call: check it, prepare the agent, join the room, talk.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::copilot::script::Speaker;
use futures::future::BoxFuture;
use services::calls::voice::{self as svc, JobMetadata, VoiceAgent};
use services::telephony::settings::ServedProject;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use voice::call::{CallConfig, CallReport, EndReason, Providers, Voice};
use voice::conversation::Conversation;
use voice::media::MediaSession;
use voice::transcriber::Source;
use voice::{AssignedJob, JobRunner};

use super::effects::ServiceEffects;
use super::HostParts;

/// How long the agent waits in the room for the callee's voice: the job is
/// dispatched before the dial, so the whole ringing time and a margin.
pub const ANSWER_WAIT: Duration = Duration::from_secs(services::calls::place::RINGING_TIMEOUT.as_secs() + 15);

/// How a job's media is reached: LiveKit's room in production; tests hand
/// the conversation a far end they play the caller through.
#[async_trait]
pub trait MediaConnector: Send + Sync + 'static {
    /// `egress` is set for a tenant's project: where the room is must pass it.
    async fn join(
        &self,
        job: &AssignedJob,
        egress: Option<&providers::EgressPolicy>,
    ) -> Result<(MediaSession, JoinHandle<()>), String>;

    /// Joins a rep's call to listen (the transcriber): the rep's and the
    /// callee's audio as labelled sources, as they appear.
    async fn listen(
        &self,
        job: &AssignedJob,
        egress: Option<&providers::EgressPolicy>,
    ) -> Result<(mpsc::Receiver<Source>, JoinHandle<()>), String>;
}

/// Who a participant of a rep's call is, by the identity we gave them:
/// the rep (`rep-<user>`) or the callee (the SIP leg); nobody else is
/// transcribed (managers, agents).
pub fn party(identity: &str) -> Option<domain::copilot::script::Speaker> {
    use domain::copilot::script::Speaker;
    if services::calls::rep::is_rep_identity(identity) {
        Some(Speaker::Rep)
    } else if identity == services::calls::control::CALLEE {
        Some(Speaker::Prospect)
    } else {
        None
    }
}

/// LiveKit rooms through `liblivekit_ffi.so`.
pub struct LiveKitRooms {
    pub ffi: &'static rtc::FfiClient,
}

#[async_trait]
impl MediaConnector for LiveKitRooms {
    async fn join(
        &self,
        job: &AssignedJob,
        egress: Option<&providers::EgressPolicy>,
    ) -> Result<(MediaSession, JoinHandle<()>), String> {
        if let Some(policy) = egress {
            check_room_url(&job.url, policy).await?;
        }
        let media = voice::livekit::join(self.ffi, &job.url, &job.token, ANSWER_WAIT)
            .await
            .map_err(|e| e.to_string())?;
        Ok((media.session, media.task))
    }

    async fn listen(
        &self,
        job: &AssignedJob,
        egress: Option<&providers::EgressPolicy>,
    ) -> Result<(mpsc::Receiver<Source>, JoinHandle<()>), String> {
        if let Some(policy) = egress {
            check_room_url(&job.url, policy).await?;
        }
        let l =
            voice::livekit::listen(self.ffi, &job.url, &job.token, party).await.map_err(|e| e.to_string())?;
        Ok((l.sources, l.task))
    }
}

/// The assignment may name another URL than the project's: a tenant's
/// server must not send the agent into our own network. (The media library
/// resolves the name again by itself: this check narrows what it connects
/// to, it cannot pin it.)
pub async fn check_room_url(room_url: &str, policy: &providers::EgressPolicy) -> Result<(), String> {
    let url = url::Url::parse(&providers::ws::http_url(room_url)).map_err(|_| "bad room URL".to_string())?;
    let host = url.host_str().ok_or("room URL without a host")?.to_string();
    let port = url.port_or_known_default().ok_or("room URL without a port")?;
    policy.check_url(&url).map_err(|e| e.to_string())?;
    policy.resolve(&host, port).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs the calls one served project dispatches.
pub struct CallRunner {
    pub parts: HostParts,
    pub served: ServedProject,
}

/// The agent's settings as the conversation takes them.
pub fn call_config(vc: &VoiceAgent) -> CallConfig {
    let s = &vc.settings;
    let t = &s.turn_taking;
    CallConfig {
        language: s.language.clone(),
        system_prompt: vc.system_prompt.clone(),
        first_message: vc.first_message.clone(),
        llm_model: s.llm.model.clone(),
        temperature: s.llm.temperature,
        max_tokens: s.llm.max_tokens,
        stt_model: s.stt.as_ref().map(|c| c.model.clone()).unwrap_or_default(),
        voices: vc
            .voices
            .iter()
            .map(|v| Voice { model: v.choice.model.clone(), voice: v.choice.voice.clone() })
            .collect(),
        tools: s.tools.clone(),
        data_schema: s.data_schema.clone(),
        transfer_number: s.transfer_number.clone(),
        interruption: s.interruption,
        end_of_turn_silence_ms: t.end_of_turn_ms as u64,
        stt_final_wait_ms: t.stt_final_wait_ms as u64,
        silence_reprompt_ms: t.silence_reprompt_seconds as u64 * 1000,
        silence_hang_up_ms: t.silence_hang_up_seconds as u64 * 1000,
        max_call_ms: s.max_call_seconds as u64 * 1000,
        voicemail: vc.voicemail.clone(),
    }
}

/// The agent's clients as the conversation takes them.
pub fn providers_of(agent: &VoiceAgent) -> Arc<Providers> {
    Arc::new(Providers {
        llm: agent.llm.clone(),
        stt: agent.stt.clone(),
        tts: agent.voices.iter().map(|v| v.tts.clone()).collect(),
    })
}

impl CallRunner {
    async fn run_call(self: Arc<Self>, job: AssignedJob, cancel: CancellationToken) -> Result<(), String> {
        let p = &self.parts;
        let room = job.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let meta = JobMetadata::parse(&job.job.metadata).map_err(|e| format!("job metadata: {e}"))?;
        let (ctx, call) = svc::accept(&p.db, &p.telephony, &self.served.project, &room, &meta)
            .await
            .map_err(|e| format!("job refused: {e}"))?;
        if meta.transcribes() {
            return self.transcribe(job, ctx, call.id, cancel).await;
        }
        let effects = Arc::new(ServiceEffects::new(
            p.db.clone(),
            p.copilot.semantic().clone(),
            p.telephony.clone(),
            p.bus.clone(),
            ctx,
            call.id,
            call.prospect_id,
        ));
        let vc = match svc::prepare(&p.db, &p.providers, &ctx, &call, meta.recording_disclosure.as_deref())
            .await
        {
            Ok(vc) => vc,
            Err(e) => {
                // Nobody would speak on this call: it is ended, and says why.
                let reason = format!("agent not ready: {e}");
                voice::call::CallEffects::ended(effects.as_ref(), &failed(&reason)).await;
                return Err(reason);
            }
        };
        let config = call_config(&vc);
        let providers = providers_of(&vc);
        let (session, media_task) =
            match p.media.join(&job, self.served.tenant.then_some(&p.providers.egress)).await {
                Ok(m) => m,
                Err(e) => {
                    // Still ringing or never answered: the dial's outcome says
                    // so. Answered with no agent able to join: end it.
                    if let Ok(detail) = services::calls::get(&p.db, &ctx, call.id).await {
                        if detail.call.status.was_answered() && !detail.call.status.is_final() {
                            voice::call::CallEffects::ended(effects.as_ref(), &failed(&e)).await;
                        }
                    }
                    return Err(e);
                }
            };
        let conversation = Conversation::new(config, providers, effects, p.vad.clone());
        // Terminated by LiveKit (the room deleted, the worker told to stop):
        // the conversation ends as a hang-up and still stores its report.
        conversation.run_until(session, cancel.clone()).await;
        if cancel.is_cancelled() {
            media_task.abort();
            return Err("terminated by the server".into());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), media_task).await;
        Ok(())
    }
}

impl CallRunner {
    /// A rep's call: listen to both sides and transcribe them into the
    /// copilot session and onto the call, until the room ends.
    async fn transcribe(
        &self,
        job: AssignedJob,
        ctx: services::OrgCtx,
        call_id: uuid::Uuid,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let p = &self.parts;
        let (live, lang) =
            services::copilot::speech::LiveTranscript::for_call(&p.db, p.copilot.clone(), &ctx, call_id)
                .await
                .map_err(|e| format!("no session to transcribe into: {e}"))?;
        let sink = std::sync::Arc::new(super::transcribe::SessionSink(live));
        let (stt, config) = match services::copilot::speech::pick_stt(&p.db, &ctx, &p.providers, lang).await {
            Ok(s) => s,
            Err(e) => {
                // The call goes on without a transcript; the rep's screen says why.
                voice::transcriber::TranscriptSink::failed(sink.as_ref(), Speaker::Unknown, e.code).await;
                return Err(format!("no speech-to-text: {e}"));
            }
        };
        let (sources, media_task) =
            p.media.listen(&job, self.served.tenant.then_some(&p.providers.egress)).await?;
        let transcriber = voice::transcriber::Transcriber { stt: stt.into(), config };
        transcriber.run(sources, sink, cancel.clone()).await;
        media_task.abort();
        if cancel.is_cancelled() {
            return Err("terminated by the server".into());
        }
        Ok(())
    }
}

fn failed(reason: &str) -> CallReport {
    CallReport {
        duration_ms: 0,
        end: EndReason::Failed { reason: reason.chars().take(500).collect() },
        turns: 0,
        interruptions: 0,
        collected_data: Default::default(),
        usage: Default::default(),
        latencies: Vec::new(),
        barge_ins_ms: Vec::new(),
        outcome: None,
    }
}

impl JobRunner for CallRunner {
    fn run(&self, job: AssignedJob, cancel: CancellationToken) -> BoxFuture<'static, Result<(), String>> {
        let me = Arc::new(CallRunner { parts: self.parts.clone(), served: self.served.clone() });
        Box::pin(async move {
            let id = job.job.id.clone();
            let r = me.run_call(job, cancel).await;
            if let Err(e) = &r {
                tracing::warn!(job = %id, error = %e, "voice job ended in error");
            }
            r
        })
    }
}
