//! The chat playground: talk to an agent in the browser through the same
//! LLM client, tools and data schema a call will use.
//!
//! A user message runs as one *turn*: model → (tools → model)* until the
//! model answers without tools, `endCall` runs, or [`MAX_TOOL_ROUNDS`] is
//! reached. Events stream out as they happen; the turn's transcript, data,
//! notes and usage are saved together at the end, so a failed turn (provider
//! down, client gone) leaves the conversation exactly as it was.

use std::collections::BTreeMap;

use chrono::{Datelike, SecondsFormat};
use domain::agent::AgentSettings;
use domain::playground::{
    ConversationStatus, Note, PlaygroundEvent, Turn, TurnKind, MAX_MESSAGE_CHARS, MAX_TOOL_ROUNDS,
};
use domain::template::{RenderContext, Template};
use domain::tools::{ToolCall, ToolContext};
use domain::{ErrorCode, Locale, Permission};
use entity::playground_conversations as convs;
use futures::StreamExt;
use providers::{ChatEvent, ChatMessage, ChatRequest, ProviderError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use domain::views::{Conversation, ConversationSummary};

use crate::credentials::{self, ProviderEnv};
use crate::{agents, new_id, now, OrgCtx, ServiceError, ServiceResult};

/// Sample prospect used until real prospects exist in the preview/playground.
pub fn sample_prospect() -> BTreeMap<String, String> {
    [
        ("first_name", "Alex"),
        ("last_name", "Martin"),
        ("company", "Martin Logistics"),
        ("title", "Fleet manager"),
        ("phone", "+33612345678"),
        ("email", "alex.martin@example.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The variables for one conversation: sample prospect (with the caller's
/// overrides), the agent's name and today's date in the agent's language.
pub fn render_context(settings: &AgentSettings, prospect: &BTreeMap<String, String>) -> RenderContext {
    let today = chrono::Utc::now().date_naive();
    let locale = Locale::parse(&settings.language).unwrap_or(Locale::En);
    let mut p = sample_prospect();
    p.extend(prospect.iter().map(|(k, v)| (k.clone(), v.clone())));
    RenderContext {
        prospect: p,
        custom: BTreeMap::new(),
        call: BTreeMap::new(),
        agent_name: settings.name.clone(),
        today: locale.format_date(today.year(), today.month(), today.day()),
    }
}

fn render(src: &str, ctx: &RenderContext) -> String {
    // Saved settings were validated, so parsing cannot fail; fall back to the raw text regardless.
    Template::parse(src).map(|t| t.render(ctx).text).unwrap_or_else(|_| src.to_string())
}

/// The system prompt as the model sees it: the agent's prompt plus what the
/// data schema asks it to collect.
pub fn system_prompt(settings: &AgentSettings, ctx: &RenderContext) -> String {
    let mut out = render(&settings.system_prompt, ctx);
    if !settings.data_schema.fields.is_empty() {
        out.push_str("\n\nDuring the conversation, collect the following and record each value with the updateData tool as soon as the prospect gives it:\n");
        for f in &settings.data_schema.fields {
            let req = if f.required { "required" } else { "optional" };
            out.push_str(&format!("- {} ({}, {req}): {}\n", f.name, f.kind.type_name(), f.description));
        }
    }
    out.push_str(&format!(
        "\nReply in the language with code {}. Today is {}.",
        settings.language, ctx.today
    ));
    out
}

fn stamp() -> String {
    now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn decode<T: serde::de::DeserializeOwned>(v: &serde_json::Value, what: &str) -> ServiceResult<T> {
    serde_json::from_value(v.clone()).map_err(|e| {
        tracing::error!(what, error = %e, "stored playground data does not decode");
        ServiceError::internal()
    })
}

fn to_view(m: &convs::Model) -> ServiceResult<Conversation> {
    Ok(Conversation {
        id: m.id,
        agent_id: m.agent_id,
        status: ConversationStatus::parse(&m.status).unwrap_or(ConversationStatus::Ended),
        end_reason: m.end_reason.clone(),
        turns: decode(&m.turns, "turns")?,
        collected_data: decode(&m.collected_data, "collected_data")?,
        notes: decode(&m.notes, "notes")?,
        input_tokens: m.input_tokens.max(0) as u64,
        output_tokens: m.output_tokens.max(0) as u64,
        created_at: m.created_at,
    })
}

async fn row(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<convs::Model> {
    convs::Entity::find_by_id(id)
        .filter(convs::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

/// Opens a conversation; the agent's first message (rendered) is its first turn.
pub async fn start(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    agent_id: Uuid,
    prospect: &BTreeMap<String, String>,
) -> ServiceResult<Conversation> {
    ctx.require(Permission::UseWorkspace)?;
    let agent = agents::get_dispatchable(db, ctx, agent_id).await?;
    let rctx = render_context(&agent.settings, prospect);
    let mut turns = Vec::new();
    let first = render(&agent.settings.first_message, &rctx);
    if !first.trim().is_empty() {
        turns.push(Turn { at: stamp(), kind: TurnKind::Assistant { text: first } });
    }
    let at = now();
    let m = convs::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        agent_id: Set(agent.id),
        user_id: Set(ctx.person()?),
        status: Set(ConversationStatus::Active.as_str().into()),
        end_reason: Set(None),
        turns: Set(serde_json::to_value(&turns).unwrap_or_default()),
        collected_data: Set(serde_json::json!({})),
        notes: Set(serde_json::json!([])),
        input_tokens: Set(0),
        output_tokens: Set(0),
        created_at: Set(at),
        updated_at: Set(at),
        ended_at: Set(None),
    }
    .insert(db)
    .await?;
    to_view(&m)
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<Conversation> {
    ctx.require(Permission::UseWorkspace)?;
    to_view(&row(db, ctx, id).await?)
}

pub async fn list_for_agent(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    agent_id: Uuid,
) -> ServiceResult<Vec<ConversationSummary>> {
    ctx.require(Permission::UseWorkspace)?;
    agents::get(db, ctx, agent_id).await?;
    let rows = convs::Entity::find()
        .filter(convs::Column::OrgId.eq(ctx.org_id()))
        .filter(convs::Column::AgentId.eq(agent_id))
        .order_by_desc(convs::Column::CreatedAt)
        .all(db)
        .await?;
    rows.iter()
        .map(|m| {
            let v = to_view(m)?;
            Ok(ConversationSummary {
                id: v.id,
                status: v.status,
                turn_count: v.turns.len(),
                input_tokens: v.input_tokens,
                output_tokens: v.output_tokens,
                created_at: v.created_at,
            })
        })
        .collect()
}

/// Checks a message before anything runs.
pub fn check_message(text: &str) -> ServiceResult<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ServiceError::field(ErrorCode::RequiredValue, "message"));
    }
    if t.chars().count() > MAX_MESSAGE_CHARS {
        return Err(
            ServiceError::field(ErrorCode::TextTooLong, "message").with_detail(MAX_MESSAGE_CHARS.to_string())
        );
    }
    Ok(t.to_string())
}

/// Rebuilds the model's message list from saved turns.
fn messages(system: String, turns: &[Turn]) -> Vec<ChatMessage> {
    let mut out = vec![ChatMessage::System { content: system }];
    for t in turns {
        match &t.kind {
            TurnKind::User { text } => out.push(ChatMessage::User { content: text.clone() }),
            TurnKind::Assistant { text } => {
                out.push(ChatMessage::Assistant { content: text.clone(), tool_calls: vec![] })
            }
            TurnKind::ToolCall { id, name, arguments } => {
                let call = providers::ToolCallRequest {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: arguments.clone(),
                };
                // Calls from one model response belong to one assistant message.
                match out.last_mut() {
                    Some(ChatMessage::Assistant { tool_calls, .. }) => tool_calls.push(call),
                    _ => out.push(ChatMessage::Assistant { content: String::new(), tool_calls: vec![call] }),
                }
            }
            TurnKind::ToolResult { id, name, ok, content } => out.push(ChatMessage::Tool {
                call_id: id.clone(),
                name: name.clone(),
                content: content.clone(),
                is_error: !ok,
            }),
        }
    }
    out
}

/// Why a turn stopped early.
enum Abort {
    Provider(ProviderError),
    /// The browser went away: stop spending tokens, save nothing.
    ClientGone,
}

/// A checked, ready-to-run turn: everything that can be refused with a
/// plain error (validation, missing key, inactive agent, ended
/// conversation) has been, before any event is streamed.
pub struct PreparedTurn {
    ctx: OrgCtx,
    conv: convs::Model,
    settings: AgentSettings,
    model: Box<dyn providers::ChatModel>,
    text: String,
    /// What the copilot's detector heard in `text` ([`PreparedTurn::heard`]).
    heard: Vec<domain::copilot::objection::Detection>,
    /// Where the turn's tokens are recorded.
    billing: crate::billing::BillingEnv,
}

pub async fn prepare(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    id: Uuid,
    text: &str,
) -> ServiceResult<PreparedTurn> {
    ctx.require(Permission::UseWorkspace)?;
    let text = check_message(text)?;
    let conv = row(db, ctx, id).await?;
    if conv.status != ConversationStatus::Active.as_str() {
        return Err(ServiceError::new(ErrorCode::ConversationEnded));
    }
    let agent = agents::get_dispatchable(db, ctx, conv.agent_id).await?;
    crate::billing::quota::allows(db, &env.billing, ctx.org_id(), domain::billing::usage::Spend::ModelTurn)
        .await?;
    let endpoint = credentials::endpoint(db, ctx, env, &agent.settings.llm.provider).await?;
    let model = providers::chat_model(env.http.clone(), &agent.settings.llm.provider, endpoint)
        .map_err(|e| ServiceError::new(e.code()).with_detail(e.to_string()))?;
    Ok(PreparedTurn {
        ctx: *ctx,
        conv,
        settings: agent.settings,
        model,
        text,
        heard: Vec::new(),
        billing: env.billing.clone(),
    })
}

/// Prepares and runs a turn (tests and non-streaming callers).
pub async fn send(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    id: Uuid,
    text: &str,
    tx: mpsc::Sender<PlaygroundEvent>,
) -> ServiceResult<()> {
    prepare(db, ctx, env, id, text).await?.run(db, tx).await
}

/// The end reason of a conversation the prospect ended by opting out.
pub const OPT_OUT_REASON: &str = "opt_out";

impl PreparedTurn {
    /// The agent's language: what the prospect's words are read in.
    pub fn language(&self) -> Locale {
        Locale::parse(&self.settings.language).unwrap_or(Locale::En)
    }

    /// The prospect's message as the copilot's detector understood it
    /// (`copilot::semantic::judge`, the same judge a live session uses).
    /// An opt-out among it ends the conversation politely without asking
    /// the model: an opt-out must be honoured whatever the prompt says.
    pub fn heard(mut self, heard: Vec<domain::copilot::objection::Detection>) -> Self {
        self.heard = heard;
        self
    }

    /// Runs the turn to completion, sending events to `tx`. Failures during
    /// the turn are sent as [`PlaygroundEvent::Error`] and nothing is saved;
    /// a dropped receiver (the browser left) stops generation.
    pub async fn run(self, db: &DatabaseConnection, tx: mpsc::Sender<PlaygroundEvent>) -> ServiceResult<()> {
        let PreparedTurn { ctx, conv, settings, model, text, heard, billing } = self;
        let opted_out = heard.iter().any(|d| d.kind == domain::copilot::objection::ObjectionKind::OptOut);
        let locale = Locale::parse(&settings.language).unwrap_or(Locale::En);
        let ctx = &ctx;
        let s = &settings;
        let id = conv.id;
        let view = to_view(&conv)?;
        let mut turns = view.turns.clone();
        let mut data = view.collected_data.clone();
        let mut notes = view.notes.clone();
        let mut ended: Option<String> = None;
        let (mut input_tokens, mut output_tokens) = (view.input_tokens, view.output_tokens);
        let said = text.clone();
        turns.push(Turn { at: stamp(), kind: TurnKind::User { text } });

        let rctx = render_context(s, &BTreeMap::new());
        let system = system_prompt(s, &rctx);
        let tools = ToolContext {
            enabled: &s.tools,
            schema: &s.data_schema,
            transfer_number: s.transfer_number.as_deref(),
        };
        let emit = |ev: PlaygroundEvent| {
            let tx = tx.clone();
            async move { tx.send(ev).await.map_err(|_| Abort::ClientGone) }
        };

        let outcome: Result<(), Abort> = async {
            if opted_out {
                let goodbye = domain::copilot::objection::opt_out_goodbye(locale).to_string();
                emit(PlaygroundEvent::Token { text: goodbye.clone() }).await?;
                turns.push(Turn { at: stamp(), kind: TurnKind::Assistant { text: goodbye } });
                let text = domain::copilot::objection::opt_out_note(locale, &said);
                let note = Note { at: stamp(), text };
                notes.push(note.clone());
                emit(PlaygroundEvent::NoteAdded { note }).await?;
                ended = Some(OPT_OUT_REASON.to_string());
                return Ok(());
            }
            for _round in 0..MAX_TOOL_ROUNDS {
                let req = ChatRequest {
                    model: s.llm.model.clone(),
                    messages: messages(system.clone(), &turns),
                    tools: tools.specs(),
                    temperature: Some(s.llm.temperature),
                    max_tokens: Some(s.llm.max_tokens),
                };
                let mut stream = model.stream(req).await.map_err(Abort::Provider)?;
                let mut reply = String::new();
                let mut calls = Vec::new();
                while let Some(ev) = stream.next().await {
                    match ev.map_err(Abort::Provider)? {
                        ChatEvent::TextDelta(t) => {
                            reply.push_str(&t);
                            emit(PlaygroundEvent::Token { text: t }).await?;
                        }
                        ChatEvent::ToolCall(c) => calls.push(c),
                        ChatEvent::Usage(u) => {
                            input_tokens += u64::from(u.input_tokens);
                            output_tokens += u64::from(u.output_tokens);
                        }
                        ChatEvent::Finished(_) => {}
                    }
                }
                if !reply.is_empty() {
                    turns.push(Turn { at: stamp(), kind: TurnKind::Assistant { text: reply } });
                }
                if calls.is_empty() {
                    break;
                }
                for c in calls {
                    turns.push(Turn {
                        at: stamp(),
                        kind: TurnKind::ToolCall {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        },
                    });
                    emit(PlaygroundEvent::ToolCall {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        arguments: c.arguments.clone(),
                    })
                    .await?;
                    let (ok, content) = match tools.parse_call(&c.name, &c.arguments) {
                        Err(e) => (false, format!("Error: {e}")),
                        Ok(ToolCall::AddNote { text }) => {
                            let note = Note { at: stamp(), text };
                            notes.push(note.clone());
                            emit(PlaygroundEvent::NoteAdded { note }).await?;
                            (true, "Note saved.".to_string())
                        }
                        Ok(ToolCall::UpdateData { field, value }) => {
                            data.insert(field.clone(), value.clone());
                            emit(PlaygroundEvent::DataUpdated { field: field.clone(), value: value.clone() })
                                .await?;
                            (true, format!("Saved {field} = {value}."))
                        }
                        Ok(ToolCall::EndCall { reason, .. }) => {
                            ended = Some(reason.clone());
                            (true, "The conversation has ended.".to_string())
                        }
                        Ok(ToolCall::TransferCall { number }) => {
                            ended = Some(format!("transferred to {number}"));
                            (true, format!("Transferring to {number}."))
                        }
                    };
                    turns.push(Turn {
                        at: stamp(),
                        kind: TurnKind::ToolResult {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            ok,
                            content: content.clone(),
                        },
                    });
                    emit(PlaygroundEvent::ToolResult { id: c.id, name: c.name, ok, content }).await?;
                }
                if ended.is_some() {
                    break;
                }
            }
            Ok(())
        }
        .await;

        // What the turn cost, billed whatever becomes of it: the model's
        // tokens are spent even when the browser leaves or the save loses a
        // race (a turn streamed and then abandoned is not free).
        let whole = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let usage = domain::billing::Usage {
            llm_input_tokens: whole(input_tokens.saturating_sub(view.input_tokens)),
            llm_output_tokens: whole(output_tokens.saturating_sub(view.output_tokens)),
            ..Default::default()
        };
        let bill = |turn_id: Uuid| crate::billing::usage::Record {
            org_id: ctx.org_id(),
            source: crate::billing::usage::Source::PlaygroundTurn(turn_id),
            agent_id: Some(conv.agent_id),
            agent_kind: Some(s.kind.as_str()),
            api_key_id: ctx.api_key_id(),
            model: Some(format!("{}/{}", s.llm.provider, s.llm.model)),
            usage,
            at: now(),
        };
        let (billing, bill) = (&billing, &bill);
        let unsaved = |why: &'static str| async move {
            if usage.is_empty() {
                return;
            }
            if let Err(e) = crate::billing::usage::record(db, billing, bill(new_id())).await {
                tracing::error!(conversation = %id, error = %e, why, "an unsaved turn's usage was not recorded");
            }
        };

        match outcome {
            Err(Abort::ClientGone) => {
                tracing::info!(conversation = %id, "client left mid-turn; turn discarded");
                unsaved("client_gone").await;
                return Ok(());
            }
            Err(Abort::Provider(e)) => {
                tracing::warn!(conversation = %id, error = %e, "playground turn failed");
                unsaved("provider_failed").await;
                let _ = tx.send(PlaygroundEvent::Error { code: e.code(), message: e.to_string() }).await;
                return Ok(());
            }
            Ok(()) => {}
        }

        // Save the whole turn at once, and only if nobody else saved a turn of
        // this conversation meanwhile (two tabs sending at the same time);
        // its usage in the same transaction, its id derived from the
        // conversation and the turn's place in it.
        let at = now();
        let status = if ended.is_some() { ConversationStatus::Ended } else { ConversationStatus::Active };
        let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|_| ServiceError::internal());
        let txn = crate::db::begin_write(db).await?;
        let res = convs::Entity::update_many()
            .col_expr(convs::Column::Turns, Expr::value(json(serde_json::to_value(&turns))?))
            .col_expr(convs::Column::CollectedData, Expr::value(json(serde_json::to_value(&data))?))
            .col_expr(convs::Column::Notes, Expr::value(json(serde_json::to_value(&notes))?))
            .col_expr(convs::Column::InputTokens, Expr::value(input_tokens as i64))
            .col_expr(convs::Column::OutputTokens, Expr::value(output_tokens as i64))
            .col_expr(convs::Column::Status, Expr::value(status.as_str()))
            .col_expr(convs::Column::EndReason, Expr::value(ended.clone()))
            .col_expr(convs::Column::EndedAt, Expr::value(ended.as_ref().map(|_| at)))
            .col_expr(convs::Column::UpdatedAt, Expr::value(at))
            .filter(convs::Column::Id.eq(id))
            .filter(convs::Column::OrgId.eq(ctx.org_id()))
            .filter(convs::Column::UpdatedAt.eq(conv.updated_at))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            unsaved("conflict").await;
            let _ = tx
                .send(PlaygroundEvent::Error {
                    code: ErrorCode::Conflict,
                    message: "the conversation changed meanwhile".into(),
                })
                .await;
            return Ok(());
        }
        let turn_id = crate::copilot::defaults::seeded_id(id, &format!("playground-turn/{}", turns.len()));
        crate::billing::usage::record(&txn, billing, bill(turn_id)).await?;
        txn.commit().await?;
        let _ = tx.send(PlaygroundEvent::Usage { input_tokens, output_tokens }).await;
        if let Some(reason) = ended {
            let _ = tx.send(PlaygroundEvent::Ended { reason }).await;
        }
        let _ = tx.send(PlaygroundEvent::Done).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::agent::AgentKind;
    use domain::data_schema::{DataField, DataSchema, FieldKind};

    #[test]
    fn system_prompt_renders_variables_and_lists_fields() {
        let mut s = AgentSettings::new_default(AgentKind::Chat, "fr");
        s.name = "Max".into();
        s.system_prompt = "Tu appelles {{prospect.first_name}} de {{prospect.company}}.".into();
        s.data_schema = DataSchema {
            fields: vec![DataField {
                name: "budget".into(),
                kind: FieldKind::Number,
                description: "mensuel".into(),
                required: true,
            }],
        };
        let mut over = BTreeMap::new();
        over.insert("first_name".to_string(), "Zoé".to_string());
        let ctx = render_context(&s, &over);
        let p = system_prompt(&s, &ctx);
        assert!(p.starts_with("Tu appelles Zoé de Martin Logistics."), "{p}");
        assert!(p.contains("- budget (number, required): mensuel"));
        assert!(p.contains("language with code fr"));
    }

    #[test]
    fn saved_turns_rebuild_the_model_conversation() {
        let t = |kind| Turn { at: "t".into(), kind };
        let turns = vec![
            t(TurnKind::Assistant { text: "Hello".into() }),
            t(TurnKind::User { text: "budget is 3".into() }),
            t(TurnKind::ToolCall { id: "a".into(), name: "updateData".into(), arguments: "{}".into() }),
            t(TurnKind::ToolCall { id: "b".into(), name: "addNote".into(), arguments: "{}".into() }),
            t(TurnKind::ToolResult {
                id: "a".into(),
                name: "updateData".into(),
                ok: true,
                content: "ok".into(),
            }),
            t(TurnKind::ToolResult {
                id: "b".into(),
                name: "addNote".into(),
                ok: false,
                content: "Error".into(),
            }),
        ];
        let m = messages("sys".into(), &turns);
        assert_eq!(m.len(), 6);
        match &m[3] {
            ChatMessage::Assistant { tool_calls, .. } => assert_eq!(tool_calls.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&m[5], ChatMessage::Tool { is_error: true, .. }));
    }

    #[test]
    fn messages_are_checked() {
        assert_eq!(check_message("  hi ").unwrap(), "hi");
        assert_eq!(check_message(" ").unwrap_err().code, ErrorCode::RequiredValue);
        assert_eq!(
            check_message(&"x".repeat(MAX_MESSAGE_CHARS + 1)).unwrap_err().code,
            ErrorCode::TextTooLong
        );
    }
}
