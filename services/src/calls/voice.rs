//! The voice agent's side of a call, for the worker that runs in the
//! server's process (or in the `voice` binary on the same database): which
//! dispatched jobs it may take, what the agent needs at job start (its
//! settings, the prompt and first message rendered for this prospect, its
//! own provider clients), and where what it does goes — turns, collected
//! data, notes, transfer, and the report and hang-up at the end. Everything
//! runs as the call's organisation with a system principal, through the
//! same services the REST API uses.

use std::sync::Arc;

use domain::agent::{AgentSettings, TtsChoice, Voicemail};
use domain::agent_report::{AgentReport, EndReason};
use domain::call::CallEvent;
use domain::call_views::{CallTurn, TurnsAdded};
use domain::copilot::outcome::{CallOutcome, OutcomeReport};
use domain::copilot::script::ScriptContent;
use domain::data_schema::CollectedData;
use domain::template::{fill, RenderContext};
use domain::ErrorCode;
use entity::{calls, prospects};
use providers::stt::SpeechToText;
use providers::tts::TextToSpeech;
use providers::ChatModel;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::lifecycle::{apply, CallUpdate, Happened, CALLS_TOPIC};
use crate::credentials::{self, ProviderEnv};
use crate::events::EventBus;
use crate::telephony::livekit::Project;
use crate::telephony::settings::client;
use crate::telephony::TelephonyEnv;
use crate::{agents, now, playground, OrgCtx, ServiceError, ServiceResult};

/// Who the agent's writes are attributed to (notes, timeline, audit).
pub const ACTOR: &str = "voice_agent";

/// The job's mode: an AI agent holds the conversation.
pub const MODE_AGENT: &str = "agent";
/// The job's mode on a rep's call: listen only, transcribe both sides.
pub const MODE_TRANSCRIBE: &str = "transcribe";

/// What the dial puts in the job it dispatches (see `place::dial`).
#[derive(Debug, Clone, Deserialize)]
pub struct JobMetadata {
    pub call_id: Uuid,
    pub org_id: Uuid,
    #[serde(default)]
    pub recording_disclosure: Option<String>,
    /// [`MODE_AGENT`] (absent: jobs dispatched before modes existed) or
    /// [`MODE_TRANSCRIBE`].
    #[serde(default)]
    pub mode: Option<String>,
}

impl JobMetadata {
    /// Whether the job is a rep's call's transcriber.
    pub fn transcribes(&self) -> bool {
        self.mode.as_deref() == Some(MODE_TRANSCRIBE)
    }
}

impl JobMetadata {
    pub fn parse(s: &str) -> ServiceResult<JobMetadata> {
        serde_json::from_str(s).map_err(|_| ServiceError::field(ErrorCode::Validation, "metadata"))
    }
}

/// Everything the agent needs for one conversation, read once at its start.
pub struct VoiceAgent {
    pub settings: AgentSettings,
    /// Rendered for this prospect, with what the data schema asks for.
    pub system_prompt: String,
    /// The disclosure (when the call is recorded), then the rendered first message.
    pub first_message: String,
    /// The voicemail setting with its message rendered.
    pub voicemail: Voicemail,
    pub llm: Arc<dyn ChatModel>,
    pub stt: Arc<dyn SpeechToText>,
    /// The agent's voice, then the fallbacks that could be set up, in order.
    pub voices: Vec<AgentVoice>,
}

/// One voice the agent may speak with, and the client that synthesises it.
pub struct AgentVoice {
    pub choice: TtsChoice,
    pub tts: Arc<dyn TextToSpeech>,
}

/// Whether the worker serving `served` may take the job for `room` with
/// `meta`: the call must be the organisation's, in that room, still open,
/// with an agent — and the organisation's calls must go through that very
/// project. A tenant's LiveKit server can dispatch anything it likes to a
/// worker connected to it; this is what keeps it to its own calls.
pub async fn accept(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    served: &Project,
    room: &str,
    meta: &JobMetadata,
) -> ServiceResult<(OrgCtx, calls::Model)> {
    let ctx = OrgCtx::system(meta.org_id, ACTOR);
    let call = super::find(db, &ctx, meta.call_id).await?;
    // An agent's job needs the call's agent; a transcriber's, a rep's call.
    let fits = if meta.transcribes() { call.rep_user_id.is_some() } else { call.agent_id.is_some() };
    if call.room_name != room || !fits {
        return Err(ServiceError::not_found());
    }
    if super::status_of(&call).is_final() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition).with_detail("the call has ended"));
    }
    let own = client(db, &ctx, env).await?;
    let p = own.project();
    if p.url != served.url || p.api_key != served.api_key {
        return Err(ServiceError::not_found());
    }
    Ok((ctx, call))
}

/// The agent's settings, texts and provider clients for `call`.
pub async fn prepare(
    db: &DatabaseConnection,
    env: &ProviderEnv,
    ctx: &OrgCtx,
    call: &calls::Model,
    disclosure: Option<&str>,
) -> ServiceResult<VoiceAgent> {
    let agent_id = call.agent_id.ok_or_else(ServiceError::not_found)?;
    let settings = agents::get(db, ctx, agent_id).await?.settings;
    let lang = settings.locale();
    let prospect = match call.prospect_id {
        Some(p) => {
            prospects::Entity::find_by_id(p).filter(prospects::Column::OrgId.eq(ctx.org_id())).one(db).await?
        }
        None => None,
    };
    let mut vars = match &prospect {
        Some(p) => crate::prospects::variables::render_context(p, &settings.name, lang),
        None => crate::prospects::variables::number_context(&call.to_number, &settings.name, lang),
    };
    // The variables the call was placed with (a campaign's per-prospect
    // values, an API caller's): `{{call.<name>}}`. `place` stores them
    // under `call`, beside the prospect and agent it rendered for.
    if let Some(extra) = call.variables.get("call").and_then(|v| v.as_object()) {
        vars.call = extra
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect();
    }
    // The script the call was given (a campaign's), at the version pinned
    // when it was dialled.
    let script = match (call.script_id, call.script_version) {
        (Some(id), Some(version)) => {
            let found = crate::copilot::scripts::pinned(db, ctx.org_id(), id, version).await?;
            if found.is_none() {
                tracing::warn!(call = %call.id, script = %id, version, "the call's script version is gone");
            }
            found
        }
        _ => None,
    };
    agent_for(db, env, ctx, settings, &vars, script, disclosure).await
}

/// The agent for an in-browser test call: the playground's sample prospect,
/// no call row; only an active voice agent.
pub async fn prepare_test(
    db: &DatabaseConnection,
    env: &ProviderEnv,
    ctx: &OrgCtx,
    agent_id: Uuid,
) -> ServiceResult<VoiceAgent> {
    ctx.require(domain::Permission::UseWorkspace)?;
    let agent = agents::get_dispatchable(db, ctx, agent_id).await?;
    if agent.settings.kind != domain::agent::AgentKind::Voice {
        return Err(ServiceError::field(ErrorCode::Validation, "agent_id").with_detail("not a voice agent"));
    }
    let vars = playground::render_context(&agent.settings, &Default::default());
    agent_for(db, env, ctx, agent.settings, &vars, None, None).await
}

async fn agent_for(
    db: &DatabaseConnection,
    env: &ProviderEnv,
    ctx: &OrgCtx,
    settings: AgentSettings,
    vars: &RenderContext,
    script: Option<ScriptContent>,
    disclosure: Option<&str>,
) -> ServiceResult<VoiceAgent> {
    let mut system_prompt = playground::system_prompt(&settings, vars);
    if let Some(script) = script {
        let script = crate::copilot::scripts::rendered(script, vars);
        system_prompt.push_str(&domain::copilot::script_prompt::agent_instructions(&script));
    }
    let greeting = fill(&settings.first_message, vars);
    let first_message = match disclosure.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!("{d} {greeting}").trim().to_string(),
        None => greeting,
    };
    let voicemail = match &settings.voicemail {
        Voicemail::LeaveMessage { text } => Voicemail::LeaveMessage { text: fill(text, vars) },
        Voicemail::HangUp => Voicemail::HangUp,
    };
    let unusable = |what: &'static str| {
        move |e: providers::ProviderError| ServiceError::new(e.code()).with_detail(format!("{what}: {e}"))
    };
    let llm_endpoint = credentials::endpoint(db, ctx, env, &settings.llm.provider).await?;
    let llm = providers::chat_model(env.http.clone(), &settings.llm.provider, llm_endpoint)
        .map_err(unusable("llm"))?;
    let (Some(stt_choice), Some(tts_choice)) = (&settings.stt, &settings.tts) else {
        return Err(
            ServiceError::field(ErrorCode::Validation, "stt").with_detail("a voice agent needs speech")
        );
    };
    let stt_endpoint = credentials::endpoint(db, ctx, env, &stt_choice.provider).await?;
    let stt = providers::speech_to_text(env.http.clone(), &stt_choice.provider, stt_endpoint)
        .map_err(unusable("stt"))?;
    let voice = |choice: TtsChoice| async move {
        let endpoint = credentials::endpoint(db, ctx, env, &choice.provider).await?;
        let tts = providers::text_to_speech(env.http.clone(), &choice.provider, endpoint)
            .map_err(unusable("tts"))?;
        Ok::<_, ServiceError>(AgentVoice { choice, tts: Arc::from(tts) })
    };
    let mut voices = vec![voice(tts_choice.clone()).await?];
    for choice in &settings.fallback_voices {
        // A fallback that cannot be set up (its vendor's key was removed
        // since the agent was saved) is left out: the call still has its
        // own voice, and a missing spare is no reason not to call.
        match voice(choice.clone()).await {
            Ok(v) => voices.push(v),
            Err(e) => tracing::warn!(provider = %choice.provider, error = %e, "fallback voice left out"),
        }
    }
    Ok(VoiceAgent {
        settings,
        system_prompt,
        first_message,
        voicemail,
        llm: Arc::from(llm),
        stt: Arc::from(stt),
        voices,
    })
}

/// What the agent used on the call, for billing: the model's tokens, speech
/// seconds and characters, once per call (its minutes are the call's,
/// recorded as it ends: [`super::lifecycle`]).
async fn record_usage(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    call: &calls::Model,
    report: &AgentReport,
) -> ServiceResult<()> {
    let model = match call.agent_id {
        Some(a) => entity::agents::Entity::find_by_id(a)
            .one(db)
            .await?
            .and_then(|a| serde_json::from_value::<AgentSettings>(a.settings).ok())
            .map(|s| format!("{}/{}", s.llm.provider, s.llm.model)),
        None => None,
    };
    let whole = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let usage = domain::billing::Usage {
        call_seconds: 0,
        llm_input_tokens: whole(report.usage.llm_input_tokens),
        llm_output_tokens: whole(report.usage.llm_output_tokens),
        stt_seconds: report.usage.stt_seconds.max(0.0).ceil().min(i64::MAX as f64) as i64,
        tts_characters: whole(report.usage.tts_characters),
    };
    let r = crate::billing::usage::Record {
        org_id: call.org_id,
        source: crate::billing::usage::Source::CallAgent(call.id),
        agent_id: call.agent_id,
        agent_kind: Some("voice"),
        api_key_id: call.placed_by_api_key,
        model,
        usage,
        at: env.clock.now(),
    };
    crate::billing::usage::record(db, &env.billing, r).await?;
    Ok(())
}

/// Tells the call's open pages that it changed (a turn, a value).
async fn touched(db: &DatabaseConnection, bus: &EventBus, ctx: &OrgCtx, call_id: Uuid) {
    let Ok(call) = super::find(db, ctx, call_id).await else { return };
    let update = CallUpdate { call: super::view(&call) };
    if let Err(e) = bus.publish(ctx.org_id(), CALLS_TOPIC, &update).await {
        tracing::debug!(call = %call_id, error = %e, "call update not published");
    }
}

/// Stores one turn as soon as it is over.
pub async fn turn(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    call_id: Uuid,
    turn: CallTurn,
) -> ServiceResult<TurnsAdded> {
    let added = super::transcript::add_turns(db, ctx, call_id, vec![turn]).await?;
    touched(db, bus, ctx, call_id).await;
    Ok(added)
}

/// Records a value the agent collected (already checked against the schema).
pub async fn collect(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    call_id: Uuid,
    field: &str,
    value: Value,
) -> ServiceResult<()> {
    let values: CollectedData = [(field.to_string(), value)].into_iter().collect();
    super::transcript::collect(db, ctx, call_id, values).await?;
    touched(db, bus, ctx, call_id).await;
    Ok(())
}

/// A note from the agent: on the prospect when the call has one, else on the call.
pub async fn note(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    call_id: Uuid,
    prospect_id: Option<Uuid>,
    text: &str,
) -> ServiceResult<()> {
    match prospect_id {
        Some(p) => {
            crate::prospects::timeline::add_note(db, ctx, p, text).await?;
        }
        None => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > domain::copilot::outcome::NOTES_MAX_CHARS {
                return Err(ServiceError::field(ErrorCode::Validation, "text"));
            }
            let call = super::find(db, ctx, call_id).await?;
            let notes =
                if call.notes.is_empty() { text.to_string() } else { format!("{}\n{text}", call.notes) };
            if notes.chars().count() > domain::copilot::outcome::NOTES_MAX_CHARS {
                return Err(ServiceError::field(ErrorCode::TextTooLong, "text"));
            }
            calls::Entity::update_many()
                .col_expr(calls::Column::Notes, Expr::value(notes))
                .col_expr(calls::Column::UpdatedAt, Expr::value(now()))
                .filter(calls::Column::Id.eq(call_id))
                .filter(calls::Column::OrgId.eq(ctx.org_id()))
                .exec(db)
                .await?;
            touched(db, bus, ctx, call_id).await;
        }
    }
    Ok(())
}

/// The agent's `transferCall`: the calls service's cold transfer (to the
/// agent's configured number, and nowhere else).
pub async fn transfer(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    ctx: &OrgCtx,
    call_id: Uuid,
) -> ServiceResult<()> {
    super::control::transfer(db, ctx, env, bus, call_id).await.map(|_| ())
}

/// The call is over on the agent's side: its report is stored (once), a
/// voicemail left or heard becomes the outcome when none was logged, and
/// the room is deleted — the agent leaving would not end a phone call.
pub async fn finish(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    ctx: &OrgCtx,
    call_id: Uuid,
    report: &AgentReport,
) -> ServiceResult<()> {
    let stored = serde_json::to_value(report).map_err(|_| ServiceError::internal())?;
    let first = calls::Entity::update_many()
        .col_expr(calls::Column::AgentReport, Expr::value(stored))
        .col_expr(calls::Column::UpdatedAt, Expr::value(now()))
        .filter(calls::Column::Id.eq(call_id))
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::AgentReport.is_null())
        .exec(db)
        .await?
        .rows_affected
        == 1;
    let call = super::find(db, ctx, call_id).await?;
    if first {
        record_usage(db, env, &call, report).await?;
    }
    if matches!(report.end, EndReason::Voicemail { .. }) && super::status_of(&call).is_final() {
        // Ended (and its campaign attempt settled) before the report came.
        crate::campaigns::dialer::resettle_voicemail(db, env, bus, &call).await?;
    }
    // The agent is done: its transcript is whole, the analysis may run.
    crate::analysis::request(
        db,
        &env.clock,
        ctx.org_id(),
        crate::analysis::Subject::Call(call_id),
        env.clock.now(),
    )
    .await?;
    // A transferred callee talks to someone else now: the room stays theirs.
    if !matches!(report.end, EndReason::Transferred { .. }) && !super::status_of(&call).is_final() {
        let lk = client(db, ctx, env).await?;
        match lk.delete_room(&call.room_name).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            // The room empties and closes by itself (its empty timeout);
            // the call still ends here.
            Err(e) => tracing::warn!(call = %call_id, error = %e, "the agent's room was not deleted"),
        }
        let h = Happened {
            event: CallEvent::HungUp,
            source: "agent",
            kind: "agent_ended".into(),
            event_id: None,
            data: json!({ "end": report.end, "duration_ms": report.duration_ms }),
            at: env.clock.now(),
            failure_reason: None,
        };
        apply(db, env, bus, ctx.org_id(), call_id, h).await?;
    }
    if let EndReason::Voicemail { message_left } = report.end {
        let notes = if message_left { "Voicemail: message left." } else { "Voicemail: hung up." };
        let outcome =
            OutcomeReport { outcome: CallOutcome::Voicemail, callback_at: None, notes: notes.into() };
        match super::outcome::set(db, bus, ctx, call_id, outcome).await {
            // Someone logged one already: theirs stands.
            Err(e) if e.code == ErrorCode::Conflict => {}
            r => {
                r?;
            }
        }
    }
    touched(db, bus, ctx, call_id).await;
    Ok(())
}
