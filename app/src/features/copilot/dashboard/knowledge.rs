//! The right column: objection cards as they are detected, techniques for
//! the current phase, and a knowledge search.

use domain::copilot::knowledge::{KnowledgeStatus, UsageKind};
use domain::copilot::objection::{Detection, ObjectionKind};
use domain::copilot::script::Speaker;
use domain::copilot::views::{HandlerCard, KnowledgeItem, KnowledgeQuery};
use leptos::prelude::*;
use uuid::Uuid;

use super::Live;
use crate::features::copilot::api;
use crate::features::copilot::labels::objection_label;
use crate::i18n::{t, t_string, use_i18n, use_locale};
use crate::ui::{Card, Skeleton};
#[component]
pub(super) fn KnowledgePanel(org_id: Uuid, live: Live) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let techniques = Resource::new(
        move || (locale.get(), live.session.with(|s| s.is_some()).then(|| live.phase.get())),
        move |(lang, phase)| api::list_techniques(org_id, lang, phase),
    );
    let search = RwSignal::new(String::new());
    let results = Resource::new(
        move || search.get(),
        move |q| async move {
            if q.trim().is_empty() {
                api::most_used_knowledge(org_id).await
            } else {
                let query = KnowledgeQuery {
                    q,
                    status: Some(KnowledgeStatus::Approved),
                    limit: Some(10),
                    ..Default::default()
                };
                api::list_knowledge(org_id, query).await
            }
        },
    );
    let used = move |id: Uuid, kind: UsageKind| {
        leptos::task::spawn_local(async move {
            let _ = api::knowledge_usage(org_id, id, kind).await;
        });
    };
    // What the prospect said last (a final line), looked up as it arrives.
    let last_said = Memo::new(move |_| {
        live.lines.with(|lines| {
            lines.iter().rev().find(|l| l.is_final && l.speaker != Speaker::Rep).map(|l| l.text.clone())
        })
    });
    let related = Resource::new(
        move || last_said.get(),
        move |said| async move {
            match said {
                Some(text) => api::related_knowledge(org_id, text).await.unwrap_or_default(),
                None => Vec::new(),
            }
        },
    );
    view! {
        <div class="space-y-3" data-testid="objection-cards" aria-live="assertive">
            <For each=move || live.cards.get() key=|(seq, d, _)| (*seq, d.kind) children=move |card| view! {
                {if card.1.kind == ObjectionKind::OptOut {
                    view! { <OptOutCard org_id live seq=card.0 detection=card.1 handler=card.2/> }.into_any()
                } else {
                    view! { <ObjectionCard seq=card.0 detection=card.1 handler=card.2 used/> }.into_any()
                }}
            }/>
        </div>
        <Transition>
            {move || related.get().filter(|items| !items.is_empty()).map(|items| {
                // The rep saw these.
                items.iter().for_each(|k| used(k.id, UsageKind::Shown));
                view! {
                    <Card title=Signal::derive(move || t_string!(i18n, copilot.related_knowledge).to_string())>
                        <KnowledgeList items testid="related-knowledge" used/>
                    </Card>
                }
            })}
        </Transition>
        <Card title=Signal::derive(move || t_string!(i18n, copilot.techniques).to_string())>
            <Suspense fallback=|| view! { <Skeleton lines=3/> }>
                {move || techniques.get().and_then(|r| r.ok()).map(|list| view! {
                    <ul class="space-y-3 text-sm" data-testid="techniques">
                        {list.into_iter().take(4).map(|t| view! {
                            <li>
                                <details>
                                    <summary class="cursor-pointer font-medium">{t.name.clone()}
                                        {t.rating.map(|r| view! { <span class="ml-2 text-xs font-normal text-slate-500">{format!("★ {r:.1} ({})", t.ratings)}</span> })}
                                    </summary>
                                    <p class="mt-1">{t.summary.clone()}</p>
                                    <ol class="mt-1 list-decimal pl-5">{t.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ol>
                                    <p class="mt-1 text-xs text-slate-500">{t.psychological_basis.clone()}</p>
                                    {t.example_phrases.first().map(|e| view! { <p class="mt-1 italic">{format!("“{e}”")}</p> })}
                                    <RateTechnique org_id id=t.id mine=t.my_rating/>
                                </details>
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            </Suspense>
        </Card>
        <Card title=Signal::derive(move || t_string!(i18n, copilot.knowledge).to_string())>
            <input type="search" class="mb-3 block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600"
                data-testid="knowledge-search" aria-label=move || t_string!(i18n, copilot.search_knowledge).to_string()
                placeholder=move || t_string!(i18n, copilot.search_knowledge).to_string()
                on:input=move |ev| search.set(event_target_value(&ev))/>
            <Suspense fallback=|| view! { <Skeleton lines=2/> }>
                {move || results.get().and_then(|r| r.ok()).map(|items| if items.is_empty() {
                    view! { <p class="text-sm text-slate-500">{t!(i18n, copilot.no_knowledge)}</p> }.into_any()
                } else {
                    view! { <KnowledgeList items testid="knowledge-results" used/> }.into_any()
                })}
            </Suspense>
        </Card>
    }
}

/// Rep feedback on a technique: 1–5, changeable.
/// Knowledge items with their copy button (search results, and what relates
/// to the conversation).
#[component]
fn KnowledgeList(
    items: Vec<KnowledgeItem>,
    testid: &'static str,
    used: impl Fn(Uuid, UsageKind) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <ul class="space-y-2 text-sm" data-testid=testid>
            {items.into_iter().map(|k| {
                let id = k.id;
                view! {
                    <li class="rounded-md border border-slate-200 p-2 dark:border-slate-700">
                        <p class="font-medium">{k.title}</p>
                        <p class="text-slate-600 dark:text-slate-400">{k.body.clone()}</p>
                        <CopyButton text=k.body on_copy=move || used(id, UsageKind::Copied)/>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn RateTechnique(org_id: Uuid, id: Uuid, mine: Option<i16>) -> impl IntoView {
    let i18n = use_i18n();
    let rating = RwSignal::new(mine);
    let rate = move |r: i16| {
        rating.set(Some(r));
        leptos::task::spawn_local(async move {
            let _ = api::rate_technique(org_id, id, r).await;
        });
    };
    view! {
        <div class="mt-2 flex items-center gap-1" role="group" aria-label=move || t_string!(i18n, copilot.rate_technique).to_string()>
            {(1..=5).map(|r| view! {
                <button type="button" class=move || format!("text-base leading-none {}", if rating.get().is_some_and(|m| m >= r) { "text-amber-500" } else { "text-slate-300 hover:text-amber-400" })
                    aria-label=move || t_string!(i18n, copilot.rate_n, n = r).to_string()
                    aria-pressed=move || (rating.get() == Some(r)).to_string()
                    on:click=move |_| rate(r)>"★"</button>
            }).collect_view()}
        </div>
    }
}

#[component]
fn ObjectionCard(
    seq: i64,
    detection: Detection,
    handler: Option<HandlerCard>,
    used: impl Fn(Uuid, UsageKind) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let kind = detection.kind;
    // The rep saw these knowledge items.
    if let Some(h) = &handler {
        for k in &h.knowledge {
            used(k.id, UsageKind::Shown);
        }
    }
    view! {
        <section class="rounded-lg border-2 border-amber-400 bg-amber-50 p-4 shadow-sm dark:border-amber-600 dark:bg-amber-950"
            data-testid="objection-card" data-objection=kind.as_str() data-seq=seq.to_string()>
            <h2 class="font-semibold">{move || objection_label(i18n, kind)}</h2>
            <p class="text-xs text-slate-500">{format!("“{}”", detection.matched)}</p>
            <LateLabel detection=detection.clone()/>
            {detection.similarity.map(|pct| {
                let example = detection.rule.clone();
                view! {
                    <p class="text-xs text-amber-800 dark:text-amber-300" data-testid="semantic-match">
                        {t!(i18n, copilot.semantic_match)}{format!(" {pct}% · “{example}”")}
                    </p>
                }
            })}
            {handler.map(|h| view! {
                {(!h.response.is_empty()).then(|| view! { <p class="mt-2 text-sm" data-testid="handler-response">{h.response.clone()}</p> })}
                {(!h.examples.is_empty()).then(|| view! {
                    <ul class="mt-2 list-disc pl-5 text-sm italic">{h.examples.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                })}
                {h.knowledge.into_iter().map(|k| {
                    let id = k.id;
                    view! {
                        <div class="mt-2 rounded bg-white/70 p-2 text-sm dark:bg-slate-900/50">
                            <p class="font-medium">{k.title.clone()}</p>
                            <p>{k.body.clone()}</p>
                            <div class="flex gap-2">
                                <CopyButton text=k.body.clone() on_copy=move || used(id, UsageKind::Copied)/>
                                <button type="button" class="text-xs text-indigo-600 hover:underline" on:click=move |_| used(id, UsageKind::Helpful)>{t!(i18n, copilot.helpful)}</button>
                            </div>
                        </div>
                    }
                }).collect_view()}
            })}
        </section>
    }
}

/// On a card raised late by the organisation's LLM: says so, and which
/// model — the rep may already have moved on.
#[component]
fn LateLabel(detection: Detection) -> impl IntoView {
    let i18n = use_i18n();
    detection.confirmed_by.map(|model| {
        view! {
            <p class="text-xs font-medium text-indigo-700 dark:text-indigo-300" data-testid="late-card">
                {t!(i18n, copilot.confirmed_late)}{format!(" {model}")}
            </p>
        }
    })
}

/// An opt-out is not an objection to answer: the card says to acknowledge
/// and stop, and one click records it (prospect opted out, number on the
/// do-not-call list, the utterance kept as evidence).
#[component]
fn OptOutCard(
    org_id: Uuid,
    live: Live,
    seq: i64,
    detection: Detection,
    handler: Option<HandlerCard>,
) -> impl IntoView {
    let i18n = use_i18n();
    let honour = Action::new(move |_: &()| {
        let session = live.session.get_untracked().map(|s| s.id);
        async move {
            match session {
                Some(id) => api::honour_opt_out(org_id, id, seq).await,
                None => Err(crate::AppError::from(domain::ErrorCode::NotFound)),
            }
        }
    });
    let done = move || honour.value().get().and_then(|r| r.ok());
    let failed = move || honour.value().get().is_some_and(|r| r.is_err());
    view! {
        <section class="rounded-lg border-2 border-red-500 bg-red-50 p-4 shadow-sm dark:border-red-700 dark:bg-red-950"
            role="alert" data-testid="objection-card" data-objection="opt_out" data-seq=seq.to_string()>
            <h2 class="font-semibold text-red-800 dark:text-red-200">{t!(i18n, copilot.opt_out_title)}</h2>
            <p class="text-xs text-slate-500">{format!("“{}”", detection.matched)}</p>
            <LateLabel detection=detection.clone()/>
            <p class="mt-2 text-sm">{t!(i18n, copilot.opt_out_instruction)}</p>
            {handler.filter(|h| !h.response.is_empty()).map(|h| view! {
                <p class="mt-2 text-sm italic" data-testid="handler-response">{h.response}</p>
            })}
            <Show when=move || done().is_none()
                fallback=move || view! {
                    <p class="mt-2 text-sm font-medium text-red-800 dark:text-red-200" data-testid="opt-out-recorded">
                        {move || done().and_then(|r| r.phone).map(|p| format!("{} {p}", t_string!(i18n, copilot.opt_out_recorded))).unwrap_or_else(|| t_string!(i18n, copilot.opt_out_recorded).to_string())}
                    </p>
                }>
                <button type="button" data-testid="honour-opt-out"
                    class="mt-2 rounded bg-red-600 px-3 py-1 text-sm font-medium text-white hover:bg-red-700 disabled:opacity-50"
                    disabled=move || honour.pending().get()
                    on:click=move |_| { honour.dispatch(()); }>
                    {t!(i18n, copilot.opt_out_action)}
                </button>
            </Show>
            <Show when=failed>
                <p class="mt-1 text-xs text-red-700" role="status">{t!(i18n, copilot.opt_out_failed)}</p>
            </Show>
        </section>
    }
}

#[component]
fn CopyButton(text: String, on_copy: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(false);
    view! {
        <button type="button" class="text-xs text-indigo-600 hover:underline"
            on:click=move |_| {
                #[cfg(feature = "hydrate")]
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&text);
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = &text;
                copied.set(true);
                on_copy();
            }>
            {move || if copied.get() { t_string!(i18n, copilot.copied).to_string() } else { t_string!(i18n, copilot.copy).to_string() }}
        </button>
    }
}
