//! Copilot sessions: one per call or practice run. A session follows its
//! script with `domain`'s [`PhaseEngine`], turns transcript utterances into
//! events (transcript lines, phase advances, objection cards), stores them
//! and pushes them live to whoever watches the session through [`CopilotHub`].
//! Ending a session logs the outcome on the prospect, in one transaction.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use domain::copilot::objection::ObjectionKind;
use domain::copilot::outcome::{CallOutcome, OutcomeReport};
use domain::copilot::script::{Phase, PhaseEngine, ScriptContent, Speaker, Utterance};
use domain::copilot::views::{
    CopilotEvent, HandlerCard, QueueEntry, SessionMode, SessionView, TranscriptLine,
};
use domain::prospect::ProspectStatus;
use domain::{ErrorCode, Locale, Permission};
use entity::{copilot_events as events, copilot_sessions as sessions, prospects, sales_techniques, users};
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::events::EventBus;
use uuid::Uuid;

use super::{knowledge, scripts};
use crate::prospects::{self as prospect_svc, compliance, status_of};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

/// Longest utterance accepted, in characters (a few minutes of speech).
pub const UTTERANCE_MAX_CHARS: usize = 5_000;
/// Events replayed when a dashboard (re)opens a session.
pub const REPLAY_MAX: u64 = 500;

/// Live state of the sessions this process is serving, and the bus their
/// events travel on to watchers on any node.
#[derive(Default)]
pub struct CopilotHub {
    live: Mutex<HashMap<Uuid, Arc<LiveSession>>>,
    /// Objection matching by meaning, when a model is configured.
    semantic: super::Semantic,
    bus: EventBus,
    /// Where organisations' LLMs are reached, for second opinions on the
    /// utterances the classifier is unsure of; unset: none are asked.
    second_opinions: std::sync::OnceLock<crate::credentials::ProviderEnv>,
}

pub struct LiveSession {
    org_id: Uuid,
    state: tokio::sync::Mutex<LiveState>,
    /// Unix seconds of the last use, for evicting abandoned sessions.
    last_used: std::sync::atomic::AtomicI64,
    /// Final utterances waiting for a second opinion.
    reviews: ReviewQueue,
}

/// A session nobody fed for this long leaves memory (it is rebuilt from the
/// database if it comes back).
const IDLE_EVICT_SECS: i64 = 30 * 60;

impl LiveSession {
    fn touch(&self) {
        self.last_used.store(now().timestamp(), std::sync::atomic::Ordering::Relaxed);
    }

    fn idle(&self, at: i64) -> bool {
        // Watchers listen on the bus, not here: evicting only costs a rebuild.
        at - self.last_used.load(std::sync::atomic::Ordering::Relaxed) > IDLE_EVICT_SECS
    }
}

struct LiveState {
    engine: PhaseEngine,
    script: ScriptContent,
    next_seq: i64,
    ended: bool,
}

impl CopilotHub {
    pub fn new(bus: EventBus) -> Arc<Self> {
        Arc::new(CopilotHub { bus, ..Self::default() })
    }

    pub fn with_semantic(semantic: super::Semantic, bus: EventBus) -> Arc<Self> {
        Arc::new(CopilotHub { semantic, bus, ..Self::default() })
    }

    /// [`publish`] on this hub's bus.
    async fn publish(&self, org_id: Uuid, id: Uuid, ev: &CopilotEvent) {
        publish(&self.bus, org_id, id, ev).await
    }

    pub fn semantic(&self) -> &super::Semantic {
        &self.semantic
    }

    /// Lets sessions ask the organisation's LLM (when it has one) about the
    /// utterances the classifier is unsure of. Set once, at startup.
    pub fn ask_second_opinions(&self, env: crate::credentials::ProviderEnv) {
        let _ = self.second_opinions.set(env);
    }

    fn get(&self, id: Uuid) -> Option<Arc<LiveSession>> {
        let s = self.live.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
        if let Some(s) = &s {
            s.touch();
        }
        s
    }

    /// Adds a session (or returns the one another request added first) and
    /// evicts abandoned ones.
    fn insert(&self, id: Uuid, s: Arc<LiveSession>) -> Arc<LiveSession> {
        let at = now().timestamp();
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, s| !s.idle(at));
        let s = live.entry(id).or_insert(s).clone();
        s.touch();
        s
    }

    fn remove(&self, id: Uuid) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// Sessions currently held in memory (metrics, tests).
    pub fn live_count(&self) -> usize {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn mode_of(s: &str) -> SessionMode {
    if s == "call" {
        SessionMode::Call
    } else {
        SessionMode::Practice
    }
}

pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<sessions::Model> {
    let row = sessions::Entity::find_by_id(id)
        .filter(sessions::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    // A rep works their own sessions; admins may watch and steer anyone's.
    // Machines (the voice pipeline, an integration pushing the transcript)
    // serve every rep's, within the workspace permission their callers check.
    let person = ctx.user_id().is_some();
    if person && !ctx.is_user(row.user_id) && !ctx.allows(Permission::ReviewKnowledge) {
        return Err(ServiceError::not_found());
    }
    Ok(row)
}

async fn rep_name<C: ConnectionTrait>(db: &C, user: Option<Uuid>) -> ServiceResult<String> {
    let Some(id) = user else { return Ok(String::new()) };
    Ok(users::Entity::find_by_id(id).one(db).await?.map(|u| u.name).unwrap_or_default())
}

/// Loads (or finds) the live state of a session.
async fn live(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    row: &sessions::Model,
) -> ServiceResult<Arc<LiveSession>> {
    if let Some(s) = hub.get(row.id) {
        return Ok(s);
    }
    let lang_hint = Locale::En;
    let (script_row, content) = match scripts::for_session(db, ctx, row.script_id, lang_hint).await {
        Ok(found) => found,
        // The script was archived since: keep following the default.
        Err(_) => scripts::for_session(db, ctx, None, lang_hint).await?,
    };
    let lang = Locale::parse(&script_row.language).unwrap_or_default();
    let p = prospect_svc::find(db, ctx, row.prospect_id).await?;
    let script = scripts::rendered(
        content,
        &crate::prospects::variables::render_context(&p, &rep_name(db, row.user_id).await?, lang),
    );
    let mut engine = PhaseEngine::new(&script);
    if let Ok(phase) = Phase::parse(&row.phase) {
        engine.go_to(phase);
    }
    let last = events::Entity::find()
        .filter(events::Column::SessionId.eq(row.id))
        .order_by_desc(events::Column::Seq)
        .one(db)
        .await?
        .map_or(0, |e| e.seq);
    let state = LiveState { engine, script, next_seq: last + 1, ended: row.ended_at.is_some() };
    let session = LiveSession {
        org_id: row.org_id,
        state: tokio::sync::Mutex::new(state),
        last_used: std::sync::atomic::AtomicI64::new(now().timestamp()),
        reviews: Default::default(),
    };
    Ok(hub.insert(row.id, Arc::new(session)))
}

/// Starts a session on a prospect with a script (or the default one in the
/// caller's language). A real call is refused when compliance forbids it.
pub async fn start(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    script_id: Option<Uuid>,
    mode: SessionMode,
    lang: Locale,
) -> ServiceResult<SessionView> {
    ctx.require(Permission::UseWorkspace)?;
    let p = prospect_svc::find(db, ctx, prospect_id).await?;
    if mode == SessionMode::Call {
        if let Err(refusal) = compliance::may_call(db, ctx, prospect_id, now()).await? {
            return Err(ServiceError::field(ErrorCode::CallNotAllowed, "prospect_id")
                .with_detail(refusal.to_string()));
        }
    }
    let (script_row, content) = scripts::for_session(db, ctx, script_id, lang).await?;
    let row = new_row(ctx, p.id, &script_row, &content, mode, None).insert(db).await?;
    view(db, hub, ctx, &row).await
}

fn new_row(
    ctx: &OrgCtx,
    prospect_id: Uuid,
    script_row: &entity::scripts::Model,
    content: &ScriptContent,
    mode: SessionMode,
    call_id: Option<Uuid>,
) -> sessions::ActiveModel {
    let first = content.phases.first().map(|p| p.phase).unwrap_or(Phase::Opening);
    sessions::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        user_id: Set(ctx.user_id()),
        prospect_id: Set(prospect_id),
        script_id: Set(Some(script_row.id)),
        script_version: Set(script_row.version),
        mode: Set(mode.as_str().to_string()),
        phase: Set(first.as_str().to_string()),
        started_at: Set(now()),
        ended_at: Set(None),
        outcome: Set(None),
        callback_at: Set(None),
        notes: Set(String::new()),
        technique_ids: Set(json!([])),
        call_id: Set(call_id),
    }
}

/// Writes the session that follows a rep's call `call_id`, in the
/// transaction that writes the call (the caller checked everything).
pub(crate) async fn insert_for_call<C: ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    prospect_id: Uuid,
    script: &(entity::scripts::Model, ScriptContent),
    call_id: Uuid,
) -> Result<sessions::Model, sea_orm::DbErr> {
    new_row(ctx, prospect_id, &script.0, &script.1, SessionMode::Call, Some(call_id)).insert(txn).await
}

/// The call session `id` follows, if any (the caller may see the session).
pub async fn call_of(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Option<Uuid>> {
    Ok(find(db, ctx, id).await?.call_id)
}

/// The session following call `call_id`, if any (the caller's organisation's).
pub async fn of_call<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    call_id: Uuid,
) -> ServiceResult<Option<sessions::Model>> {
    Ok(sessions::Entity::find()
        .filter(sessions::Column::OrgId.eq(ctx.org_id()))
        .filter(sessions::Column::CallId.eq(call_id))
        .one(db)
        .await?)
}

async fn view(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    row: &sessions::Model,
) -> ServiceResult<SessionView> {
    let live = live(db, hub, ctx, row).await?;
    let state = live.state.lock().await;
    let stored = events::Entity::find()
        .filter(events::Column::SessionId.eq(row.id))
        .order_by_desc(events::Column::Seq)
        .limit(REPLAY_MAX)
        .all(db)
        .await?;
    let events = stored.into_iter().rev().filter_map(|e| serde_json::from_value(e.data).ok()).collect();
    Ok(SessionView {
        id: row.id,
        prospect_id: row.prospect_id,
        script_id: row.script_id,
        script_version: row.script_version,
        mode: mode_of(&row.mode),
        phase: state.engine.phase().unwrap_or(Phase::Opening),
        progress: state.engine.progress_percent(),
        started_at: row.started_at,
        ended_at: row.ended_at,
        outcome: row.outcome.as_deref().and_then(CallOutcome::parse),
        script: state.script.clone(),
        events,
        call_id: row.call_id,
    })
}

pub async fn get(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<SessionView> {
    ctx.require(Permission::UseWorkspace)?;
    let row = find(db, ctx, id).await?;
    view(db, hub, ctx, &row).await
}

/// Sends `ev` to session `id`'s watchers, wherever they are connected. The
/// event is already stored (or deliberately not): a failed publication is
/// logged, and watchers catch up when they reload.
async fn publish(bus: &EventBus, org_id: Uuid, id: Uuid, ev: &CopilotEvent) {
    if let Err(e) = bus.publish(org_id, &topic(id), ev).await {
        tracing::warn!(session = %id, code = e.code.as_str(), "copilot event not published");
    }
}

/// The event-bus topic of a session's live events.
pub fn topic(id: Uuid) -> String {
    format!("copilot.session.{id}")
}

/// Subscribes to a session's live events (after authorisation), from
/// whichever node produces them.
pub async fn subscribe(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<impl futures::Stream<Item = CopilotEvent> + Send + 'static> {
    ctx.require(Permission::UseWorkspace)?;
    find(db, ctx, id).await?;
    Ok(hub.bus.subscribe(ctx.org_id(), &topic(id)).filter_map(|ev| {
        let decoded = serde_json::from_value::<CopilotEvent>(ev.payload.clone());
        if decoded.is_err() {
            tracing::warn!(topic = %ev.topic, "undecodable copilot event skipped");
        }
        futures::future::ready(decoded.ok())
    }))
}

async fn persist<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    session: Uuid,
    ev: &CopilotEvent,
    seq: i64,
) -> ServiceResult<()> {
    let kind = match ev {
        CopilotEvent::Transcript(_) => "transcript",
        CopilotEvent::Phase { .. } => "phase",
        CopilotEvent::Objection { .. } => "objection",
        CopilotEvent::Ended { .. } => "ended",
        CopilotEvent::SourceError { .. } => "source_error",
        CopilotEvent::Supervisor { .. } => "supervisor",
    };
    events::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org_id),
        session_id: Set(session),
        seq: Set(seq),
        kind: Set(kind.into()),
        data: Set(serde_json::to_value(ev).map_err(|_| ServiceError::internal())?),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn handler_card(
    db: &DatabaseConnection,
    org_id: Uuid,
    script: &ScriptContent,
    kind: ObjectionKind,
) -> ServiceResult<Option<HandlerCard>> {
    let knowledge = knowledge::handlers_for(db, org_id, kind).await?;
    let scripted = script.handler(kind);
    if scripted.is_none() && knowledge.is_empty() {
        return Ok(None);
    }
    Ok(Some(HandlerCard {
        response: scripted.map(|h| h.response.clone()).unwrap_or_default(),
        examples: scripted.map(|h| h.examples.clone()).unwrap_or_default(),
        knowledge,
    }))
}

/// Feeds one utterance to a session: returns (and publishes) what it caused.
/// Final lines are stored; partials are only published.
pub async fn observe(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
    utterance: Utterance,
) -> ServiceResult<Vec<CopilotEvent>> {
    observe_at(db, hub, ctx, id, utterance, None).await
}

/// Where a line falls in its source's audio, in ms from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTimes {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// [`observe`], for a line whose place in the call's audio is known (a
/// phone call's transcriber).
pub async fn observe_at(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
    utterance: Utterance,
    times: Option<LineTimes>,
) -> ServiceResult<Vec<CopilotEvent>> {
    ctx.require(Permission::UseWorkspace)?;
    if utterance.text.chars().count() > UTTERANCE_MAX_CHARS {
        return Err(
            ServiceError::field(ErrorCode::TextTooLong, "text").with_detail(UTTERANCE_MAX_CHARS.to_string())
        );
    }
    let text = utterance.text.trim().to_string();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let live = match hub.get(id) {
        Some(l) if l.org_id == ctx.org_id() => {
            // Cached, but the caller must still be allowed on this session.
            find(db, ctx, id).await?;
            l
        }
        _ => {
            let row = find(db, ctx, id).await?;
            live(db, hub, ctx, &row).await?
        }
    };
    // Before taking the session's lock: inference takes milliseconds and
    // the next partial line must not wait for it. With a model the
    // classifier judges final lines and partials raise nothing (they are
    // rewritten a moment later); without one — or with no free slot — the
    // phrase rules decide, partials included.
    // `unsure`: the language of a final line the classifier could not
    // settle, for a second opinion after the fact.
    let (judged, unsure) = if utterance.speaker == Speaker::Rep || !hub.semantic.is_ready() {
        (None, None)
    } else if utterance.is_final {
        match hub.semantic.judgement(&text, None).await {
            Some(j) => (Some(j.cards), j.unsure.map(|_| j.language)),
            None => (None, None),
        }
    } else {
        (Some(Vec::new()), None)
    };
    let mut state = live.state.lock().await;
    if state.ended {
        return Err(ServiceError::new(ErrorCode::ConversationEnded));
    }
    let utterance = Utterance { text, ..utterance };
    let obs = match judged {
        Some(judged) => state.engine.observe_judged(&utterance, judged),
        None => state.engine.observe(&utterance),
    };
    let mut out = Vec::new();
    let at = now();
    out.push(CopilotEvent::Transcript(TranscriptLine {
        seq: 0,
        speaker: utterance.speaker,
        text: utterance.text.clone(),
        is_final: utterance.is_final,
        at,
        start_ms: times.map(|t| t.start_ms),
        end_ms: times.map(|t| t.end_ms),
    }));
    for detection in obs.objections {
        let handler = handler_card(db, live.org_id, &state.script, detection.kind).await?;
        out.push(CopilotEvent::Objection { seq: 0, detection, handler });
    }
    if let Some(advance) = obs.advance {
        out.push(CopilotEvent::Phase { seq: 0, advance, progress: state.engine.progress_percent() });
    }
    // Number and store what must survive a reload, in one transaction; then publish.
    let txn = crate::db::begin_write(db).await?;
    for ev in &mut out {
        let persist_it = !matches!(ev, CopilotEvent::Transcript(l) if !l.is_final);
        let seq = state.next_seq;
        match ev {
            CopilotEvent::Transcript(l) => l.seq = seq,
            CopilotEvent::Phase { seq: s, .. } | CopilotEvent::Objection { seq: s, .. } => *s = seq,
            _ => {}
        }
        if persist_it {
            persist(&txn, live.org_id, id, ev, seq).await?;
            state.next_seq += 1;
        }
    }
    if let Some(phase) = state.engine.phase() {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::Phase, Expr::value(phase.as_str()))
            .filter(sessions::Column::Id.eq(id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    for ev in &out {
        hub.publish(live.org_id, id, ev).await;
    }
    drop(state);
    if let (Some(language), Some(env)) = (unsure, hub.second_opinions.get()) {
        if live.reviews.push(utterance.text, language) {
            let review =
                Review { db: db.clone(), bus: hub.bus.clone(), env: env.clone(), ctx: *ctx, id, live };
            tokio::spawn(review.run());
        }
    }
    Ok(out)
}

/// The lines of one session waiting for a second opinion, oldest first.
/// One model call at a time per session and at most [`REVIEW_QUEUE`]
/// waiting, so a talkative prospect cannot pile up model calls; a line said
/// while another is being reviewed waits its turn instead of being lost.
#[derive(Default)]
struct ReviewQueue {
    lines: Mutex<VecDeque<(String, Locale)>>,
    /// A task is working through `lines`.
    busy: std::sync::atomic::AtomicBool,
}

/// How many unsure utterances may wait per session; past that the oldest
/// is dropped (the conversation has moved on from it).
const REVIEW_QUEUE: usize = 4;

impl ReviewQueue {
    fn lines(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Locale)>> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a line; true when no task is working through the queue and
    /// the caller must start one.
    fn push(&self, text: String, language: Locale) -> bool {
        let mut lines = self.lines();
        if lines.len() == REVIEW_QUEUE {
            lines.pop_front();
        }
        lines.push_back((text, language));
        drop(lines);
        !self.busy.swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// The next line for the working task, or None — and then the task is
    /// done. A line queued between the empty check and the flag's release
    /// is not stranded: the task takes the flag back and goes on (unless a
    /// new task took it first).
    fn next(&self) -> Option<(String, Locale)> {
        use std::sync::atomic::Ordering;
        loop {
            if let Some(next) = self.lines().pop_front() {
                return Some(next);
            }
            self.busy.store(false, Ordering::Release);
            if self.lines().is_empty() || self.busy.swap(true, Ordering::AcqRel) {
                return None;
            }
        }
    }
}

/// A second opinion on one utterance, off the live path.
struct Review {
    db: DatabaseConnection,
    bus: EventBus,
    env: crate::credentials::ProviderEnv,
    ctx: OrgCtx,
    id: Uuid,
    live: Arc<LiveSession>,
}

impl Review {
    /// Works through the session's queue, one line at a time.
    async fn run(self) {
        while let Some((text, language)) = self.live.reviews.next() {
            if let Err(e) = self.card(&text, language).await {
                tracing::warn!(session = %self.id, code = e.code.as_str(), "second opinion failed");
            }
        }
    }

    /// Asks the organisation's model; raises the card it confirms, unless
    /// the session ended meanwhile. A late card does not move the script:
    /// the conversation has gone on since.
    async fn card(&self, text: &str, language: Locale) -> ServiceResult<()> {
        let Some((model, name)) = super::ai::pick_llm(&self.db, &self.ctx, &self.env).await? else {
            return Ok(());
        };
        let timeout = self.env.llm_timeout;
        let Some(kind) = super::second_opinion::classify(model.as_ref(), &name, timeout, text).await? else {
            return Ok(());
        };
        let detection = super::second_opinion::late_card(kind, language, text, &name);
        let org_id = self.live.org_id;
        let mut state = self.live.state.lock().await;
        if state.ended {
            return Ok(());
        }
        let handler = handler_card(&self.db, org_id, &state.script, kind).await?;
        let seq = state.next_seq;
        let ev = CopilotEvent::Objection { seq, detection, handler };
        let txn = crate::db::begin_write(&self.db).await?;
        persist(&txn, org_id, self.id, &ev, seq).await?;
        txn.commit().await?;
        state.next_seq += 1;
        publish(&self.bus, org_id, self.id, &ev).await;
        Ok(())
    }
}

/// Tells the rep on session `id` (and its other watchers) that a manager
/// joined or left their call; kept in the session's history.
pub async fn supervisor(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
    name: &str,
    mode: domain::call_views::SuperviseMode,
    joined: bool,
) -> ServiceResult<()> {
    let row = find(db, ctx, id).await?;
    let live = live(db, hub, ctx, &row).await?;
    let mut state = live.state.lock().await;
    let seq = state.next_seq;
    let ev = CopilotEvent::Supervisor { seq, name: name.to_string(), mode, joined };
    let txn = crate::db::begin_write(db).await?;
    persist(&txn, live.org_id, id, &ev, seq).await?;
    txn.commit().await?;
    state.next_seq += 1;
    hub.publish(live.org_id, id, &ev).await;
    Ok(())
}

/// Tells a session's watchers that its live source failed (not stored:
/// the session itself is unaffected and can go on with typed transcript).
pub async fn report_source_error(hub: &CopilotHub, ctx: &OrgCtx, id: Uuid, code: ErrorCode) {
    hub.publish(ctx.org_id(), id, &CopilotEvent::SourceError { code }).await;
}

/// The language of a session's script (what its live source should transcribe).
pub async fn language(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Locale> {
    ctx.require(Permission::UseWorkspace)?;
    let row = find(db, ctx, id).await?;
    if row.ended_at.is_some() {
        return Err(ServiceError::new(ErrorCode::ConversationEnded));
    }
    let script = match row.script_id {
        Some(s) => scripts::find(db, ctx, s).await.ok(),
        None => None,
    };
    Ok(script.and_then(|s| Locale::parse(&s.language)).unwrap_or_default())
}

/// Manual navigation in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "to", content = "phase")]
pub enum Nav {
    Next,
    Previous,
    Phase(Phase),
}

pub async fn navigate(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    id: Uuid,
    nav: Nav,
) -> ServiceResult<Option<CopilotEvent>> {
    ctx.require(Permission::UseWorkspace)?;
    let row = find(db, ctx, id).await?;
    let live = live(db, hub, ctx, &row).await?;
    let mut state = live.state.lock().await;
    if state.ended {
        return Err(ServiceError::new(ErrorCode::ConversationEnded));
    }
    let advance = match nav {
        Nav::Next => state.engine.next_phase(),
        Nav::Previous => state.engine.previous_phase(),
        Nav::Phase(p) => {
            if !state.script.phases.iter().any(|s| s.phase == p) {
                return Err(ServiceError::field(ErrorCode::UnknownPhase, "phase").with_detail(p.as_str()));
            }
            state.engine.go_to(p)
        }
    };
    let Some(advance) = advance else { return Ok(None) };
    let seq = state.next_seq;
    let ev = CopilotEvent::Phase { seq, advance: advance.clone(), progress: state.engine.progress_percent() };
    let txn = crate::db::begin_write(db).await?;
    persist(&txn, live.org_id, id, &ev, seq).await?;
    sessions::Entity::update_many()
        .col_expr(sessions::Column::Phase, Expr::value(advance.to.as_str()))
        .filter(sessions::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.next_seq += 1;
    hub.publish(live.org_id, id, &ev).await;
    Ok(Some(ev))
}

/// Ends a session with its outcome: the prospect's status follows the
/// outcome, the call is logged on the prospect's timeline (with the rep's
/// notes as a note), all in one transaction. Ending twice is refused without
/// changing anything.
pub async fn end(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    clock: &crate::clock::SharedClock,
    ctx: &OrgCtx,
    id: Uuid,
    report: OutcomeReport,
) -> ServiceResult<SessionView> {
    ctx.require(Permission::UseWorkspace)?;
    let at = now();
    report.validate(at)?;
    let notes = report.notes.trim().to_string();
    let row = find(db, ctx, id).await?;
    let lang = scripts::find(db, ctx, row.script_id.unwrap_or_default())
        .await
        .ok()
        .and_then(|s| Locale::parse(&s.language))
        .unwrap_or_default();
    let live = live(db, hub, ctx, &row).await?;
    // Held across the transaction: no utterance slips in after the end.
    let mut state = live.state.lock().await;
    let txn = crate::db::begin_write(db).await?;
    // The claim: only one end can move ended_at from NULL.
    let claimed = sessions::Entity::update_many()
        .col_expr(sessions::Column::EndedAt, Expr::value(Some(at)))
        .col_expr(sessions::Column::Outcome, Expr::value(Some(report.outcome.as_str())))
        .col_expr(sessions::Column::CallbackAt, Expr::value(report.callback_at))
        .col_expr(sessions::Column::Notes, Expr::value(notes.clone()))
        .filter(sessions::Column::Id.eq(id))
        .filter(sessions::Column::OrgId.eq(ctx.org_id()))
        .filter(sessions::Column::EndedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Err(ServiceError::new(ErrorCode::ConversationEnded));
    }
    // Techniques shown: the library entries of every phase the call went through.
    let mut visited: Vec<String> = vec![row.phase.clone()];
    let phase_events = events::Entity::find()
        .filter(events::Column::SessionId.eq(id))
        .filter(events::Column::Kind.eq("phase"))
        .all(&txn)
        .await?;
    for e in phase_events {
        if let Ok(CopilotEvent::Phase { advance, .. }) = serde_json::from_value::<CopilotEvent>(e.data) {
            visited.push(advance.from.as_str().to_string());
            visited.push(advance.to.as_str().to_string());
        }
    }
    visited.sort();
    visited.dedup();
    let technique_ids: Vec<Uuid> = sales_techniques::Entity::find()
        .select_only()
        .column(sales_techniques::Column::Id)
        .filter(sales_techniques::Column::OrgId.eq(ctx.org_id()))
        .filter(sales_techniques::Column::Language.eq(lang.as_str()))
        .filter(sales_techniques::Column::Phase.is_in(visited))
        .into_tuple()
        .all(&txn)
        .await?;
    sessions::Entity::update_many()
        .col_expr(sessions::Column::TechniqueIds, Expr::value(json!(technique_ids)))
        .filter(sessions::Column::Id.eq(id))
        .exec(&txn)
        .await?;

    // Both modes log on the prospect: "practice" names the live source (the
    // rep's microphone, e.g. beside a desk phone), not a pretend call. A
    // session that followed a phone call logs that call, and the outcome
    // lands on the call too (unless someone gave it one on the call page).
    let logged = match row.call_id {
        Some(call) => {
            crate::calls::rep::outcome_from_session(&txn, ctx, call, &report, &notes, at).await?;
            prospect_svc::outcome::LoggedCall::Call(call)
        }
        None => prospect_svc::outcome::LoggedCall::Session(id),
    };
    prospect_svc::outcome::log(&txn, ctx, row.prospect_id, logged, &report, at).await?;
    let seq = state.next_seq;
    let ev = CopilotEvent::Ended { outcome: report.outcome };
    persist(&txn, ctx.org_id(), id, &ev, seq).await?;
    // A phone call is analysed from its own transcript once it ends
    // (`calls::lifecycle`); a practice session from its lines, now — due on
    // the job runner's clock (the session's own times are the wall
    // clock's; a test's runner may keep another time).
    if row.call_id.is_none() {
        let subject = crate::analysis::Subject::Session(id);
        crate::analysis::request(&txn, clock, ctx.org_id(), subject, clock.now()).await?;
    }
    crate::analytics::rollup::touch(&txn, ctx.org_id(), row.started_at).await?;
    txn.commit().await?;
    state.next_seq += 1;
    state.ended = true;
    hub.publish(ctx.org_id(), id, &ev).await;
    drop(state);
    let row = find(db, ctx, id).await?;
    let out = view(db, hub, ctx, &row).await;
    // Nobody needs the engine any more; watchers listen on the bus.
    hub.remove(id);
    out
}

/// The caller's queue: callbacks that are due, new prospects, interested
/// ones, future callbacks, then contacted ones. Assigned to the caller or to
/// nobody; never do-not-call, opted out, not interested or already booked.
pub async fn queue(db: &DatabaseConnection, ctx: &OrgCtx, limit: u64) -> ServiceResult<Vec<QueueEntry>> {
    ctx.require(Permission::UseWorkspace)?;
    let open = [
        ProspectStatus::New,
        ProspectStatus::Contacted,
        ProspectStatus::Interested,
        ProspectStatus::CallbackScheduled,
    ];
    let rows = prospects::Entity::find()
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::DeletedAt.is_null())
        .filter(prospects::Column::DoNotCall.eq(false))
        .filter(prospects::Column::OptedOut.eq(false))
        .filter(prospects::Column::Status.is_in(open.map(|s| s.as_str())))
        .filter(
            Condition::any()
                .add(prospects::Column::OwnerId.eq(ctx.user_id()))
                .add(prospects::Column::OwnerId.is_null()),
        )
        .order_by_asc(prospects::Column::CreatedAt)
        .limit(1_000)
        .all(db)
        .await?;
    let callback_ids: Vec<Uuid> =
        rows.iter().filter(|p| status_of(p) == ProspectStatus::CallbackScheduled).map(|p| p.id).collect();
    let mut callbacks: HashMap<Uuid, chrono::DateTime<chrono::Utc>> = HashMap::new();
    if !callback_ids.is_empty() {
        let rows = sessions::Entity::find()
            .filter(sessions::Column::OrgId.eq(ctx.org_id()))
            .filter(sessions::Column::ProspectId.is_in(callback_ids.clone()))
            .filter(sessions::Column::CallbackAt.is_not_null())
            .order_by_asc(sessions::Column::EndedAt)
            .all(db)
            .await?;
        // The latest logged callback wins, whoever logged it: a rep's
        // session or a phone call (an AI agent's).
        let mut logged: HashMap<Uuid, (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> =
            HashMap::new();
        let mut keep =
            |prospect: Uuid, when: chrono::DateTime<chrono::Utc>, at: chrono::DateTime<chrono::Utc>| {
                if logged.get(&prospect).is_none_or(|(w, _)| *w <= when) {
                    logged.insert(prospect, (when, at));
                }
            };
        for s in rows {
            if let (Some(at), Some(when)) = (s.callback_at, s.ended_at) {
                keep(s.prospect_id, when, at);
            }
        }
        let calls = entity::calls::Entity::find()
            .filter(entity::calls::Column::OrgId.eq(ctx.org_id()))
            .filter(entity::calls::Column::ProspectId.is_in(callback_ids))
            .filter(entity::calls::Column::CallbackAt.is_not_null())
            .all(db)
            .await?;
        for c in calls {
            if let (Some(at), Some(p)) = (c.callback_at, c.prospect_id) {
                keep(p, c.updated_at, at);
            }
        }
        callbacks.extend(logged.into_iter().map(|(p, (_, at))| (p, at)));
    }
    let at = now();
    let mut entries: Vec<(u8, i64, QueueEntry)> = rows
        .into_iter()
        .map(|p| {
            let status = status_of(&p);
            let callback_at = callbacks.get(&p.id).copied();
            let (rank, reason, key) = match (status, callback_at) {
                (ProspectStatus::CallbackScheduled, Some(c)) if c <= at => (0, "callback_due", c.timestamp()),
                (ProspectStatus::New, _) => (1, "new", p.created_at.timestamp()),
                (ProspectStatus::Interested, _) => (2, "interested", p.updated_at.timestamp()),
                (ProspectStatus::CallbackScheduled, Some(c)) => (3, "callback", c.timestamp()),
                (ProspectStatus::CallbackScheduled, None) => (3, "callback", i64::MAX),
                _ => (4, "contacted", p.updated_at.timestamp()),
            };
            let name = format!("{} {}", p.first_name, p.last_name).trim().to_string();
            (
                rank,
                key,
                QueueEntry {
                    prospect_id: p.id,
                    name,
                    company: p.company,
                    phone: p.phone,
                    status,
                    reason: reason.to_string(),
                    callback_at,
                },
            )
        })
        .collect();
    entries.sort_by_key(|(rank, key, _)| (*rank, *key));
    Ok(entries.into_iter().take(limit.clamp(1, 200) as usize).map(|(_, _, e)| e).collect())
}

/// Past sessions on a prospect (call history in the brief), newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PastSession {
    pub id: Uuid,
    pub mode: SessionMode,
    pub rep: Option<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub outcome: Option<CallOutcome>,
    pub notes: String,
}

pub async fn history(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    prospect_id: Uuid,
) -> ServiceResult<Vec<PastSession>> {
    ctx.require(Permission::UseWorkspace)?;
    prospect_svc::find(db, ctx, prospect_id).await?;
    let rows = sessions::Entity::find()
        .filter(sessions::Column::OrgId.eq(ctx.org_id()))
        .filter(sessions::Column::ProspectId.eq(prospect_id))
        .filter(sessions::Column::EndedAt.is_not_null())
        .order_by_desc(sessions::Column::StartedAt)
        .limit(50)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.user_id).collect();
    let names = prospect_svc::user_names(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| PastSession {
            id: r.id,
            mode: mode_of(&r.mode),
            rep: r.user_id.and_then(|u| names.get(&u).cloned()),
            started_at: r.started_at,
            outcome: r.outcome.as_deref().and_then(CallOutcome::parse),
            notes: r.notes,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: &ReviewQueue, text: &str) -> bool {
        q.push(text.to_string(), Locale::En)
    }

    #[test]
    fn lines_said_during_a_review_wait_their_turn() {
        let q = ReviewQueue::default();
        assert!(line(&q, "first"), "the first line starts a task");
        assert!(!line(&q, "second"), "the task is running: no second one");
        assert_eq!(q.next().map(|l| l.0).as_deref(), Some("first"));
        assert!(!line(&q, "third"), "still running while it reviews");
        assert_eq!(q.next().map(|l| l.0).as_deref(), Some("second"));
        assert_eq!(q.next().map(|l| l.0).as_deref(), Some("third"));
        assert_eq!(q.next(), None, "empty: the task is done");
        assert!(line(&q, "fourth"), "the next line starts a new task");
    }

    #[test]
    fn a_full_queue_drops_its_oldest_line() {
        let q = ReviewQueue::default();
        for i in 0..REVIEW_QUEUE + 2 {
            line(&q, &i.to_string());
        }
        let mut seen = Vec::new();
        while let Some((t, _)) = q.next() {
            seen.push(t);
        }
        let want: Vec<String> = (2..REVIEW_QUEUE + 2).map(|i| i.to_string()).collect();
        assert_eq!(seen, want);
    }
}
