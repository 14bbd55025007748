//! The playground page: transcript with streamed replies and inline tool
//! calls, the collected-data panel, notes, usage, and saved conversations.

use domain::playground::{ConversationStatus, Note, PlaygroundEvent, Turn, TurnKind};
use domain::views::{Agent, Conversation};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;
use uuid::Uuid;

use super::api::StartConversation;
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, Card, ErrorNotice, FormError, Skeleton, Tone};
use crate::AppError;

#[component]
pub fn PlaygroundPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let agent_id = params.read_untracked().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let Some(agent_id) = agent_id else {
        return view! { <leptos_router::components::Redirect path="/app/agents"/> }.into_any();
    };
    let conversation_id = Memo::new(move |_| query.read().get("c").and_then(|s| s.parse::<Uuid>().ok()));
    let agent = Resource::new(|| (), move |_| crate::features::agents::api::get_agent(org_id, agent_id));
    let refresh = RwSignal::new(0u32);
    let history = Resource::new(
        move || (refresh.get(), conversation_id.get()),
        move |_| super::api::list_conversations(org_id, agent_id),
    );
    let conversation = Resource::new(
        move || conversation_id.get(),
        move |c| async move {
            match c {
                Some(c) => super::api::get_conversation(org_id, c).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let start = ServerAction::<StartConversation>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(c)) = start.value().get() {
            navigate(&format!("/app/agents/{agent_id}/playground?c={}", c.id), Default::default());
        }
    });
    let start_err =
        Signal::derive(move || start.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    let locale = use_locale();

    view! {
        <div class="space-y-4">
            <Suspense fallback=|| view! { <Skeleton lines=2/> }>
                {move || agent.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(a) => view! {
                        <div class="flex flex-wrap items-center justify-between gap-3">
                            <div>
                                <A href=format!("/app/agents/{agent_id}") attr:class="text-sm text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, playground.back_to_agent)}</A>
                                <h1 class="text-2xl font-bold" data-testid="playground-title">{t!(i18n, playground.title, name = a.settings.name.clone())}</h1>
                            </div>
                            <Button busy=start.pending() attr:data-testid="new-conversation" on:click=move |_| { start.dispatch(StartConversation { org_id, agent_id }); }>
                                {t!(i18n, playground.new_conversation)}
                            </Button>
                        </div>
                    }.into_any(),
                })}
            </Suspense>
            <FormError message=start_err/>
            <div class="grid gap-6 lg:grid-cols-[1fr_20rem]">
                <Suspense fallback=|| view! { <Skeleton lines=6/> }>
                    {move || match (conversation.get(), agent.get()) {
                        (Some(Ok(Some(c))), Some(Ok(a))) => view! { <Chat org_id agent=a conversation=c on_turn=Callback::new(move |_| refresh.update(|n| *n += 1))/> }.into_any(),
                        (Some(Err(e)), _) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        (Some(Ok(None)), _) => view! {
                            <Card><p class="text-sm text-slate-500" data-testid="playground-empty">{t!(i18n, playground.empty)}</p></Card>
                        }.into_any(),
                        _ => view! { <Skeleton lines=6/> }.into_any(),
                    }}
                </Suspense>
                <aside>
                    <Card title=Signal::derive(move || t_string!(i18n, playground.history).to_string())>
                        <Transition fallback=|| view! { <Skeleton lines=3/> }>
                            {move || history.get().map(|r| match r {
                                Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-500">{t!(i18n, playground.no_history)}</p> }.into_any(),
                                Ok(list) => view! {
                                    <ul class="divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="conversation-history">
                                        {list.into_iter().map(|c| {
                                            let at = c.created_at;
                                            let current = conversation_id.get_untracked() == Some(c.id);
                                            view! {
                                                <li class="py-2">
                                                    <A href=format!("/app/agents/{agent_id}/playground?c={}", c.id) attr:class=if current { "font-semibold text-indigo-700 dark:text-indigo-300" } else { "text-indigo-600 hover:underline dark:text-indigo-400" }>
                                                        {move || crate::format::datetime(locale.get(), at)}
                                                    </A>
                                                    <span class="ml-2 text-xs text-slate-500">{t!(i18n, playground.turns, count = c.turn_count)}</span>
                                                    {(c.status == ConversationStatus::Ended).then(|| view! { <span class="ml-1"><Badge tone=Tone::Neutral>{t!(i18n, playground.ended)}</Badge></span> })}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                            })}
                        </Transition>
                    </Card>
                </aside>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn Chat(org_id: Uuid, agent: Agent, conversation: Conversation, on_turn: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let conversation_id = conversation.id;
    let turns = RwSignal::new(conversation.turns.clone());
    let streaming = RwSignal::new(String::new());
    let data = RwSignal::new(conversation.collected_data.clone());
    let notes = RwSignal::new(conversation.notes.clone());
    let ended = RwSignal::new(
        conversation.end_reason.clone().filter(|_| conversation.status == ConversationStatus::Ended),
    );
    let usage = RwSignal::new((conversation.input_tokens, conversation.output_tokens));
    let input = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let schema = agent.settings.data_schema.clone();

    let apply = move |ev: PlaygroundEvent| {
        let flush = move || {
            let text = streaming.get_untracked();
            if !text.is_empty() {
                streaming.set(String::new());
                turns.update(|t| t.push(Turn { at: String::new(), kind: TurnKind::Assistant { text } }));
            }
        };
        match ev {
            PlaygroundEvent::Token { text } => streaming.update(|s| s.push_str(&text)),
            PlaygroundEvent::ToolCall { id, name, arguments } => {
                flush();
                turns.update(|t| {
                    t.push(Turn { at: String::new(), kind: TurnKind::ToolCall { id, name, arguments } })
                });
            }
            PlaygroundEvent::ToolResult { id, name, ok, content } => {
                turns.update(|t| {
                    t.push(Turn { at: String::new(), kind: TurnKind::ToolResult { id, name, ok, content } })
                });
            }
            PlaygroundEvent::DataUpdated { field, value } => data.update(|d| {
                d.insert(field, value);
            }),
            PlaygroundEvent::NoteAdded { note } => notes.update(|n| n.push(note)),
            PlaygroundEvent::Ended { reason } => ended.set(Some(reason)),
            PlaygroundEvent::Usage { input_tokens, output_tokens } => {
                usage.set((input_tokens, output_tokens))
            }
            PlaygroundEvent::Done => flush(),
            PlaygroundEvent::Error { code, message: _ } => {
                streaming.set(String::new());
                error.set(Some(AppError::new(code)));
            }
        }
    };

    let send = move || {
        let text = input.get_untracked();
        if text.trim().is_empty() || busy.get_untracked() {
            return;
        }
        error.set(None);
        busy.set(true);
        // Snapshot: a failed turn is not saved, so the view returns to it.
        let before = (turns.get_untracked(), data.get_untracked(), notes.get_untracked());
        turns.update(|t| {
            t.push(Turn { at: String::new(), kind: TurnKind::User { text: text.trim().to_string() } })
        });
        input.set(String::new());
        #[cfg(feature = "hydrate")]
        {
            let url = super::api::messages_url(org_id, conversation_id);
            let body = serde_json::json!({ "text": text }).to_string();
            leptos::task::spawn_local(async move {
                let result = super::stream::post_events(&url, body, apply).await;
                if let Err(e) = result {
                    error.set(Some(e));
                }
                if error.get_untracked().is_some() {
                    turns.set(before.0);
                    data.set(before.1);
                    notes.set(before.2);
                    input.set(text);
                }
                busy.set(false);
                on_turn.run(());
            });
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (before, org_id, conversation_id, apply, on_turn);
        }
    };

    view! {
        <div class="grid gap-4 xl:grid-cols-[1fr_16rem]">
            <Card>
                <div class="flex h-[32rem] flex-col">
                    <ol class="flex-1 space-y-3 overflow-y-auto pr-1" data-testid="transcript" aria-live="polite">
                        {move || turns.get().into_iter().map(|t| view! { <TurnView turn=t/> }).collect_view()}
                        {move || {
                            let s = streaming.get();
                            (!s.is_empty()).then(|| view! {
                                <li class="max-w-[85%] rounded-lg bg-slate-100 px-3 py-2 text-sm dark:bg-slate-800" data-testid="streaming">{s}<span class="animate-pulse">"▍"</span></li>
                            })
                        }}
                    </ol>
                    {move || ended.get().map(|reason| view! {
                        <p class="mt-3 rounded-md bg-slate-100 p-2 text-sm dark:bg-slate-800" data-testid="conversation-ended">{t!(i18n, playground.ended_because, reason = reason.clone())}</p>
                    })}
                    <div class="mt-3"><ErrorNotice error=Signal::derive(move || error.get())/></div>
                    <form class="mt-3 flex gap-2" on:submit=move |ev| { ev.prevent_default(); send(); }>
                        <label for="playground-input" class="sr-only">{t!(i18n, playground.message)}</label>
                        <input id="playground-input" data-testid="playground-input" autocomplete="off"
                            class="min-w-0 flex-1 rounded-md border-0 bg-white px-3 py-2 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 disabled:opacity-50 dark:bg-slate-800 dark:ring-slate-600"
                            placeholder=move || t_string!(i18n, playground.placeholder).to_string()
                            disabled=move || ended.get().is_some()
                            prop:value=move || input.get() on:input=move |ev| input.set(event_target_value(&ev))/>
                        <Button submit=true busy=Signal::derive(move || busy.get()) disabled=Signal::derive(move || ended.get().is_some()) attr:data-testid="playground-send">{t!(i18n, playground.send)}</Button>
                    </form>
                </div>
            </Card>
            <div class="space-y-4">
                <Card title=Signal::derive(move || t_string!(i18n, playground.collected).to_string())>
                    {if schema.fields.is_empty() {
                        view! { <p class="text-sm text-slate-500">{t!(i18n, playground.no_schema)}</p> }.into_any()
                    } else {
                        view! {
                            <dl class="space-y-2 text-sm" data-testid="collected-data">
                                {schema.fields.clone().into_iter().map(|f| {
                                    let name = f.name.clone();
                                    let n2 = f.name.clone();
                                    view! {
                                        <div data-testid=format!("data-{}", f.name)>
                                            <dt class="font-mono text-xs text-slate-500">{name}{f.required.then_some(" *")}</dt>
                                            <dd class="font-medium" data-testid=format!("data-value-{}", f.name)>{move || data.get().get(&n2).map(display_value).unwrap_or_else(|| "—".into())}</dd>
                                        </div>
                                    }
                                }).collect_view()}
                            </dl>
                        }.into_any()
                    }}
                </Card>
                <Card title=Signal::derive(move || t_string!(i18n, playground.notes).to_string())>
                    <ul class="space-y-2 text-sm" data-testid="notes">
                        {move || {
                            let list: Vec<Note> = notes.get();
                            if list.is_empty() {
                                view! { <li class="text-slate-500">{t!(i18n, playground.no_notes)}</li> }.into_any()
                            } else {
                                list.into_iter().map(|n| view! { <li class="rounded bg-amber-50 p-2 dark:bg-amber-950">{n.text}</li> }).collect_view().into_any()
                            }
                        }}
                    </ul>
                </Card>
                <p class="text-xs text-slate-500" data-testid="usage">{move || { let (i, o) = usage.get(); t_string!(i18n, playground.usage, input = i, output = o).to_string() }}</p>
            </div>
        </div>
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
fn TurnView(turn: Turn) -> impl IntoView {
    let i18n = use_i18n();
    match turn.kind {
        TurnKind::User { text } => view! {
            <li class="ml-auto max-w-[85%] rounded-lg bg-indigo-600 px-3 py-2 text-sm text-white" data-testid="turn-user">{text}</li>
        }.into_any(),
        TurnKind::Assistant { text } => view! {
            <li class="max-w-[85%] whitespace-pre-wrap rounded-lg bg-slate-100 px-3 py-2 text-sm dark:bg-slate-800" data-testid="turn-assistant">{text}</li>
        }.into_any(),
        TurnKind::ToolCall { name, arguments, .. } => view! {
            <li class="max-w-[85%] rounded-md border border-dashed border-slate-300 px-3 py-1.5 font-mono text-xs dark:border-slate-600" data-testid="turn-tool-call">
                <span class="font-semibold">{t!(i18n, playground.tool_call)} " " {name}</span> " " {arguments}
            </li>
        }.into_any(),
        TurnKind::ToolResult { ok, content, .. } => view! {
            <li class=format!("max-w-[85%] rounded-md px-3 py-1.5 text-xs {}", if ok { "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300" } else { "bg-red-50 text-red-700 dark:bg-red-950 dark:text-red-300" })
                data-testid=if ok { "turn-tool-ok" } else { "turn-tool-error" }>
                {if ok { "✓ " } else { "✗ " }}{content}
            </li>
        }.into_any(),
    }
}
