//! Post-call analysis as a job: after a call with a transcript — an AI
//! agent's phone call, or a rep's copilot call — one structured request to
//! the organisation's model (`domain::analysis` writes the prompt and
//! checks the answer). A malformed answer or a provider failure is retried
//! (three attempts, backing off), then the analysis is marked failed with
//! the reason; an organisation with no model gets `no_model` at once, not a
//! retry loop. Managers may correct the result; each edit is audited.

use chrono::{DateTime, Utc};
use domain::analysis::{self, AnalysisEdit, AnalysisState, AnalysisView, CallAnalysis, Line};
use domain::copilot::script::{Phase, ScriptContent};
use domain::data_schema::DataSchema;
use domain::{ErrorCode, Permission};
use entity::{call_analyses as rows, calls, copilot_events, copilot_sessions};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::credentials::ProviderEnv;
use crate::jobs::{self, JobFailure, NewJob};
use crate::{new_id, OrgCtx, ServiceError, ServiceResult};

pub const ANALYSIS_JOB: &str = "calls.analyse";

/// Attempts before an analysis is marked failed.
pub const ATTEMPTS: i32 = 3;

/// What is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A phone call (`calls`).
    Call(Uuid),
    /// A rep's copilot call (`copilot_sessions`).
    Session(Uuid),
}

impl Subject {
    fn key(self) -> String {
        match self {
            Subject::Call(id) => format!("analysis:call:{id}"),
            Subject::Session(id) => format!("analysis:session:{id}"),
        }
    }

    fn payload(self) -> Value {
        match self {
            Subject::Call(id) => json!({ "call_id": id }),
            Subject::Session(id) => json!({ "session_id": id }),
        }
    }

    fn filter(self) -> sea_orm::Condition {
        match self {
            Subject::Call(id) => sea_orm::Condition::all().add(rows::Column::CallId.eq(id)),
            Subject::Session(id) => sea_orm::Condition::all().add(rows::Column::SessionId.eq(id)),
        }
    }
}

/// Queues the analysis of `subject`, in the caller's transaction: one row
/// and one job, however often it is asked (a call ends once, but its end
/// and its agent's report both ask).
pub(crate) async fn request<C: ConnectionTrait>(
    txn: &C,
    clock: &SharedClock,
    org_id: Uuid,
    subject: Subject,
    run_at: DateTime<Utc>,
) -> ServiceResult<()> {
    let now = clock.now();
    let (call_id, session_id) = match subject {
        Subject::Call(id) => (Some(id), None),
        Subject::Session(id) => (None, Some(id)),
    };
    let row = rows::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org_id),
        call_id: Set(call_id),
        session_id: Set(session_id),
        state: Set(AnalysisState::Pending.as_str().into()),
        result: Set(None),
        model: Set(None),
        attempts: Set(0),
        error: Set(None),
        sentiment: Set(None),
        sentiment_score: Set(None),
        score_opening: Set(None),
        score_discovery: Set(None),
        score_presentation: Set(None),
        score_objection_handling: Set(None),
        score_closing: Set(None),
        edited_by: Set(None),
        edited_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let conflict = match subject {
        Subject::Call(_) => rows::Column::CallId,
        Subject::Session(_) => rows::Column::SessionId,
    };
    rows::Entity::insert(row)
        .on_conflict(OnConflict::column(conflict).do_nothing().to_owned())
        .do_nothing()
        .exec_without_returning(txn)
        .await?;
    let mut job = NewJob::new(ANALYSIS_JOB, Some(org_id), subject.payload());
    job.run_at = Some(run_at);
    job.max_attempts = ATTEMPTS;
    job.dedupe_key = Some(subject.key());
    jobs::enqueue(txn, clock, job).await?;
    Ok(())
}

/// Runs `calls.analyse` jobs.
pub struct AnalysisHandler {
    pub providers: ProviderEnv,
    pub clock: SharedClock,
}

#[derive(Deserialize)]
struct Payload {
    call_id: Option<Uuid>,
    session_id: Option<Uuid>,
}

#[async_trait::async_trait]
impl jobs::Handler for AnalysisHandler {
    async fn run(&self, job: &jobs::RunningJob) -> Result<(), JobFailure> {
        let p: Payload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Fatal(format!("payload: {e}")))?;
        let subject = match (p.call_id, p.session_id) {
            (Some(id), _) => Subject::Call(id),
            (None, Some(id)) => Subject::Session(id),
            _ => return Err(JobFailure::Fatal("nothing to analyse".into())),
        };
        let org = job.org_id.ok_or_else(|| JobFailure::Fatal("no organisation".into()))?;
        let failed = |why: String| async move {
            let _ =
                set_state(job.db(), subject, AnalysisState::Pending, job.attempt, Some(&why), &self.clock)
                    .await;
            JobFailure::Retry(why)
        };
        match analyse(job.db(), &self.providers, org, subject).await {
            Ok(Outcome::Done(analysis, model)) => {
                store(job.db(), subject, &analysis, &model, job.attempt, &self.clock)
                    .await
                    .map_err(JobFailure::from)
            }
            Ok(Outcome::Nothing(state)) => {
                set_state(job.db(), subject, state, job.attempt, None, &self.clock)
                    .await
                    .map_err(JobFailure::from)
            }
            Err(Failure::Malformed(m)) => Err(failed(format!("malformed answer: {m}")).await),
            Err(Failure::Service(e)) if e.code == ErrorCode::NotFound => {
                Err(JobFailure::Fatal(e.to_string()))
            }
            Err(Failure::Service(e)) => {
                Err(failed(format!("model request failed: {}", e.code.as_str())).await)
            }
        }
    }

    /// Attempts spent: the analysis is failed, its last reason kept.
    async fn gave_up(&self, db: &DatabaseConnection, job: &jobs::JobInfo, payload: &Value) {
        let subject = match serde_json::from_value::<Payload>(payload.clone()) {
            Ok(Payload { call_id: Some(id), .. }) => Subject::Call(id),
            Ok(Payload { session_id: Some(id), .. }) => Subject::Session(id),
            _ => return,
        };
        let why = job.last_error.clone().unwrap_or_else(|| "gave up".into());
        if let Err(e) =
            set_state(db, subject, AnalysisState::Failed, job.attempts, Some(&why), &self.clock).await
        {
            tracing::warn!(error = %e, "failed analysis not recorded");
        }
    }
}

enum Outcome {
    Done(CallAnalysis, String),
    Nothing(AnalysisState),
}

enum Failure {
    Malformed(analysis::Malformed),
    Service(ServiceError),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure::Service(e)
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::Service(e.into())
    }
}

/// What an analysis reads.
struct Material {
    lines: Vec<Line>,
    /// The data schema to extract against.
    schema: DataSchema,
    /// The language to write in.
    language: String,
    /// The script the caller followed, at the version the call pinned.
    script: Option<ScriptContent>,
}

async fn material(db: &DatabaseConnection, org: Uuid, subject: Subject) -> ServiceResult<Material> {
    match subject {
        Subject::Call(id) => {
            let call = calls::Entity::find_by_id(id)
                .filter(calls::Column::OrgId.eq(org))
                .one(db)
                .await?
                .ok_or_else(ServiceError::not_found)?;
            let lines = crate::calls::transcript::turns_of(db, id)
                .await?
                .into_iter()
                .filter(|t| !t.text.trim().is_empty())
                .map(|t| Line {
                    speaker: match t.speaker {
                        domain::call_views::TurnSpeaker::Agent => "Agent",
                        domain::call_views::TurnSpeaker::Rep => "Rep",
                        domain::call_views::TurnSpeaker::Prospect => "Prospect",
                    }
                    .into(),
                    text: t.text,
                })
                .collect();
            let settings = agent_settings(db, call.agent_id).await?;
            let schema = settings.as_ref().map(|s| s.data_schema.clone()).unwrap_or_default();
            let script_row = match call.script_id {
                Some(id) => {
                    entity::scripts::Entity::find_by_id(id)
                        .filter(entity::scripts::Column::OrgId.eq(org))
                        .one(db)
                        .await?
                }
                None => None,
            };
            // The agent's language; on a rep's call, the script's they followed.
            let language = match (&settings, &script_row) {
                (Some(s), _) => language_name(&s.language),
                (None, Some(s)) => language_name(&s.language),
                _ => "English",
            };
            let script = match (call.script_id, call.script_version) {
                (Some(id), Some(version)) => crate::copilot::scripts::pinned(db, org, id, version).await?,
                _ => None,
            };
            Ok(Material { lines, schema, language: language.into(), script })
        }
        Subject::Session(id) => {
            let session = copilot_sessions::Entity::find_by_id(id)
                .filter(copilot_sessions::Column::OrgId.eq(org))
                .one(db)
                .await?
                .ok_or_else(ServiceError::not_found)?;
            // The rep spoke the script's language: the analysis is written in it.
            let language = match session.script_id {
                Some(script) => entity::scripts::Entity::find_by_id(script)
                    .filter(entity::scripts::Column::OrgId.eq(org))
                    .one(db)
                    .await?
                    .map(|s| language_name(&s.language))
                    .unwrap_or("English"),
                None => "English",
            };
            let events = copilot_events::Entity::find()
                .filter(copilot_events::Column::SessionId.eq(id))
                .filter(copilot_events::Column::Kind.eq("transcript"))
                .order_by_asc(copilot_events::Column::Seq)
                .all(db)
                .await?;
            let lines = events
                .into_iter()
                .filter_map(|e| match serde_json::from_value(e.data) {
                    Ok(domain::copilot::views::CopilotEvent::Transcript(l))
                        if l.is_final && !l.text.trim().is_empty() =>
                    {
                        let speaker = match l.speaker {
                            domain::copilot::script::Speaker::Rep => "Rep",
                            domain::copilot::script::Speaker::Prospect => "Prospect",
                            domain::copilot::script::Speaker::Unknown => "Speaker",
                        };
                        Some(Line { speaker: speaker.into(), text: l.text })
                    }
                    _ => None,
                })
                .collect();
            let script = match session.script_id {
                Some(id) => crate::copilot::scripts::pinned(db, org, id, session.script_version).await?,
                None => None,
            };
            Ok(Material { lines, schema: DataSchema::default(), language: language.into(), script })
        }
    }
}

/// A language tag (`en_us`, `fr-FR`) as the prompt names it.
fn language_name(tag: &str) -> &'static str {
    if tag.to_ascii_lowercase().starts_with("fr") {
        "French"
    } else {
        "English"
    }
}

async fn analyse(
    db: &DatabaseConnection,
    providers: &ProviderEnv,
    org: Uuid,
    subject: Subject,
) -> Result<Outcome, Failure> {
    let Material { lines, schema, language, script } = material(db, org, subject).await?;
    if lines.is_empty() {
        return Ok(Outcome::Nothing(AnalysisState::NoTranscript));
    }
    let ctx = OrgCtx::system(org, "analysis");
    let Some((model, name)) = crate::copilot::ai::pick_llm(db, &ctx, providers).await? else {
        return Ok(Outcome::Nothing(AnalysisState::NoModel));
    };
    let (system, user) = analysis::prompt(&lines, &schema, &language, script.as_ref());
    let budget = crate::copilot::ai::Budget { temperature: 0.2, max_tokens: 1_500 };
    let text =
        crate::copilot::ai::ask(model.as_ref(), &name, providers.llm_timeout, system, user, budget).await?;
    match analysis::parse(&text, &lines, &schema) {
        Ok(a) => Ok(Outcome::Done(a, name)),
        Err(m) => {
            tracing::warn!(?subject, error = %m, "the model's analysis was malformed");
            Err(Failure::Malformed(m))
        }
    }
}

fn score_of(a: &CallAnalysis, phase: Phase) -> Option<i16> {
    a.phases.iter().find(|p| p.phase == phase).and_then(|p| p.score).map(i16::from)
}

/// Writes `a` and the columns analytics read.
fn columns(a: &CallAnalysis) -> Vec<(rows::Column, sea_orm::sea_query::SimpleExpr)> {
    vec![
        (rows::Column::Result, Expr::value(serde_json::to_value(a).unwrap_or_default())),
        (rows::Column::Sentiment, Expr::value(a.sentiment.as_str())),
        (rows::Column::SentimentScore, Expr::value(f64::from(a.sentiment_score))),
        (rows::Column::ScoreOpening, Expr::value(score_of(a, Phase::Opening))),
        (rows::Column::ScoreDiscovery, Expr::value(score_of(a, Phase::Discovery))),
        (rows::Column::ScorePresentation, Expr::value(score_of(a, Phase::Presentation))),
        (rows::Column::ScoreObjectionHandling, Expr::value(score_of(a, Phase::ObjectionHandling))),
        (rows::Column::ScoreClosing, Expr::value(score_of(a, Phase::Closing))),
    ]
}

async fn store(
    db: &DatabaseConnection,
    subject: Subject,
    a: &CallAnalysis,
    model: &str,
    attempts: i32,
    clock: &SharedClock,
) -> ServiceResult<()> {
    let mut q = rows::Entity::update_many()
        .col_expr(rows::Column::State, Expr::value(AnalysisState::Done.as_str()))
        .col_expr(rows::Column::Model, Expr::value(model.chars().take(200).collect::<String>()))
        .col_expr(rows::Column::Attempts, Expr::value(attempts))
        .col_expr(rows::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(rows::Column::UpdatedAt, Expr::value(clock.now()));
    for (col, v) in columns(a) {
        q = q.col_expr(col, v);
    }
    let txn = crate::db::begin_write(db).await?;
    // A manager's edit made meanwhile stands.
    let stored = q.filter(subject.filter()).filter(rows::Column::EditedAt.is_null()).exec(&txn).await?;
    if stored.rows_affected > 0 {
        touch(&txn, subject).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Marks the day of `subject` for the dashboard's rollups: its sentiment
/// and phase scores changed.
async fn touch<C: ConnectionTrait>(txn: &C, subject: Subject) -> ServiceResult<()> {
    let found: Option<(Uuid, DateTime<Utc>)> = match subject {
        Subject::Call(id) => calls::Entity::find_by_id(id).one(txn).await?.map(|c| (c.org_id, c.created_at)),
        Subject::Session(id) => {
            copilot_sessions::Entity::find_by_id(id).one(txn).await?.map(|s| (s.org_id, s.started_at))
        }
    };
    if let Some((org, at)) = found {
        crate::analytics::rollup::touch(txn, org, at).await?;
    }
    Ok(())
}

async fn set_state(
    db: &DatabaseConnection,
    subject: Subject,
    state: AnalysisState,
    attempts: i32,
    error: Option<&str>,
    clock: &SharedClock,
) -> ServiceResult<()> {
    rows::Entity::update_many()
        .col_expr(rows::Column::State, Expr::value(state.as_str()))
        .col_expr(rows::Column::Attempts, Expr::value(attempts))
        .col_expr(rows::Column::Error, Expr::value(error.map(|e| e.chars().take(400).collect::<String>())))
        .col_expr(rows::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(subject.filter())
        .filter(rows::Column::State.ne(AnalysisState::Done.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

fn view(r: rows::Model) -> AnalysisView {
    AnalysisView {
        state: AnalysisState::parse(&r.state).unwrap_or(AnalysisState::Pending),
        analysis: r.result.and_then(|v| serde_json::from_value(v).ok()),
        model: r.model,
        attempts: r.attempts,
        error: r.error,
        edited_by: r.edited_by,
        edited_at: r.edited_at,
        updated_at: r.updated_at,
    }
}

/// The settings of the agent that made a call (none for a deleted agent
/// or a call without one).
async fn agent_settings(
    db: &DatabaseConnection,
    agent: Option<Uuid>,
) -> ServiceResult<Option<domain::agent::AgentSettings>> {
    let Some(agent) = agent else { return Ok(None) };
    Ok(entity::agents::Entity::find_by_id(agent)
        .one(db)
        .await?
        .and_then(|a| serde_json::from_value::<domain::agent::AgentSettings>(a.settings).ok()))
}

/// Checks that `subject` is the organisation's (404 otherwise), and gives
/// the agent whose data schema an edit of its analysis is checked against
/// (a copilot call has none).
async fn owned(db: &DatabaseConnection, ctx: &OrgCtx, subject: Subject) -> ServiceResult<Option<Uuid>> {
    match subject {
        Subject::Call(id) => Ok(crate::calls::find(db, ctx, id).await?.agent_id),
        Subject::Session(id) => {
            copilot_sessions::Entity::find_by_id(id)
                .filter(copilot_sessions::Column::OrgId.eq(ctx.org_id()))
                .one(db)
                .await?
                .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "session_id"))?;
            Ok(None)
        }
    }
}

/// The analysis of a call or a copilot session (404 when none was asked
/// for: it has not ended, or nobody answered).
pub async fn of(db: &DatabaseConnection, ctx: &OrgCtx, subject: Subject) -> ServiceResult<AnalysisView> {
    ctx.require(Permission::UseWorkspace)?;
    owned(db, ctx, subject).await?;
    rows::Entity::find()
        .filter(rows::Column::OrgId.eq(ctx.org_id()))
        .filter(subject.filter())
        .one(db)
        .await?
        .map(view)
        .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "analysis"))
}

/// A manager's correction of an analysis (the whole of it), audited with
/// what it replaced.
pub async fn edit(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    clock: &SharedClock,
    subject: Subject,
    edit: AnalysisEdit,
) -> ServiceResult<AnalysisView> {
    ctx.require(Permission::ManageCampaigns)?;
    let me = ctx.person()?;
    let agent = owned(db, ctx, subject).await?;
    let schema = agent_settings(db, agent).await?.map(|s| s.data_schema).unwrap_or_default();
    let a = analysis::check_edit(edit.analysis, &schema)?;
    let txn = crate::db::begin_write(db).await?;
    let before = rows::Entity::find()
        .filter(rows::Column::OrgId.eq(ctx.org_id()))
        .filter(subject.filter())
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "analysis"))?;
    let now = clock.now();
    let mut q = rows::Entity::update_many()
        .col_expr(rows::Column::State, Expr::value(AnalysisState::Done.as_str()))
        .col_expr(rows::Column::Error, Expr::value(None::<String>))
        .col_expr(rows::Column::EditedBy, Expr::value(Some(me)))
        .col_expr(rows::Column::EditedAt, Expr::value(Some(now)))
        .col_expr(rows::Column::UpdatedAt, Expr::value(now));
    for (col, v) in columns(&a) {
        q = q.col_expr(col, v);
    }
    q.filter(rows::Column::Id.eq(before.id)).exec(&txn).await?;
    touch(&txn, subject).await?;
    let mut detail = subject.payload();
    detail["before"] = before.result.unwrap_or(Value::Null);
    detail["after"] = json!(a);
    crate::audit::record(
        &txn,
        ctx.org_id(),
        ctx.actor(),
        crate::audit::action::ANALYSIS_EDITED,
        None,
        detail,
    )
    .await?;
    txn.commit().await?;
    of(db, ctx, subject).await
}
