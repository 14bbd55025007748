//! The SDR copilot: one screen, three columns.
//! - left: the call queue, the selected prospect's profile, history and
//!   pre-call brief;
//! - centre: the script phase by phase (progress, manual next/previous,
//!   automatic advance), the live transcript, starting and ending a session;
//! - right: objection cards as they are detected, techniques for the current
//!   phase, and a knowledge search.
//!
//! The session's state lives in signals fed by its live event stream; the
//! URL (`?p=<prospect>&s=<session>`) makes the screen reloadable.
//! Keyboard: Alt+→ / Alt+← move through the phases.

use chrono::{DateTime, NaiveDateTime, Utc};
use domain::copilot::knowledge::{KnowledgeStatus, UsageKind};
use domain::copilot::objection::Detection;
use domain::copilot::outcome::{CallOutcome, OutcomeReport};
use domain::copilot::script::{Phase, Speaker};
use domain::copilot::views::{
    CopilotEvent, HandlerCard, KnowledgeItem, KnowledgeQuery, SessionMode, SessionView, TranscriptLine,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use send_wrapper::SendWrapper;
use uuid::Uuid;

use super::api;
use super::labels::{objection_label, outcome_label, phase_label, reason_label, speaker_label};
use super::types::Navigation;
use crate::features::prospects::labels::status_label;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::live::LiveStream;
use crate::shell::use_current_org;
use crate::ui::{Badge, Button, ButtonVariant, Card, Dialog, EmptyState, FormError, Skeleton, Tone};
use crate::AppError;

/// What the page keeps of a running session.
#[derive(Clone, Copy)]
struct Live {
    session: RwSignal<Option<SessionView>>,
    phase: RwSignal<Phase>,
    progress: RwSignal<u8>,
    lines: RwSignal<Vec<TranscriptLine>>,
    partial: RwSignal<Option<TranscriptLine>>,
    cards: RwSignal<Vec<(i64, Detection, Option<HandlerCard>)>>,
    ended: RwSignal<Option<CallOutcome>>,
    /// The live audio source failed (the session goes on).
    source_error: RwSignal<Option<domain::ErrorCode>>,
}

impl Live {
    fn new() -> Self {
        Live {
            session: RwSignal::new(None),
            phase: RwSignal::new(Phase::Opening),
            progress: RwSignal::new(0),
            lines: RwSignal::new(Vec::new()),
            partial: RwSignal::new(None),
            cards: RwSignal::new(Vec::new()),
            ended: RwSignal::new(None),
            source_error: RwSignal::new(None),
        }
    }

    /// Replaces everything with a session as loaded (history included).
    fn load(&self, s: SessionView) {
        self.lines.set(Vec::new());
        self.cards.set(Vec::new());
        self.partial.set(None);
        self.phase.set(s.phase);
        self.progress.set(s.progress);
        self.ended.set(s.outcome.filter(|_| s.ended_at.is_some()));
        for ev in s.events.clone() {
            self.apply(ev);
        }
        self.phase.set(s.phase);
        self.progress.set(s.progress);
        self.session.set(Some(s));
    }

    /// Applies one event, idempotently (the stream and the HTTP answer may both deliver it).
    fn apply(&self, ev: CopilotEvent) {
        match ev {
            CopilotEvent::Transcript(line) if !line.is_final => self.partial.set(Some(line)),
            CopilotEvent::Transcript(line) => {
                self.partial.set(None);
                self.lines.update(|l| {
                    if !l.iter().any(|x| x.seq == line.seq) {
                        l.push(line);
                    }
                });
            }
            CopilotEvent::Phase { advance, progress, .. } => {
                self.phase.set(advance.to);
                self.progress.set(progress);
            }
            CopilotEvent::Objection { seq, detection, handler } => self.cards.update(|c| {
                if !c.iter().any(|(s, d, _)| *s == seq && d.kind == detection.kind) {
                    c.insert(0, (seq, detection, handler));
                }
            }),
            CopilotEvent::Ended { outcome } => self.ended.set(Some(outcome)),
            CopilotEvent::SourceError { code } => self.source_error.set(Some(code)),
        }
    }
}

#[component]
pub fn CopilotPage() -> impl IntoView {
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let query = use_query_map();
    let prospect_id = Memo::new(move |_| query.read().get("p").and_then(|s| s.parse::<Uuid>().ok()));
    let session_id = Memo::new(move |_| query.read().get("s").and_then(|s| s.parse::<Uuid>().ok()));
    let refresh_queue = RwSignal::new(0u32);
    let queue = Resource::new(move || refresh_queue.get(), move |_| api::queue(org_id));
    let live = Live::new();

    // Load the session named in the URL, then follow its live stream.
    let session = Resource::new(
        move || session_id.get(),
        move |s| async move {
            match s {
                Some(s) => api::get_session(org_id, s).await.map(Some),
                None => Ok(None),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(s)) = session.get() {
            match s {
                Some(s) => live.load(s),
                None => live.session.set(None),
            }
        }
    });
    // JS handles live in the browser only: the slot is `None` during SSR, and
    // the wrapper keeps the browser's value on its one thread.
    let stream = StoredValue::new(None::<SendWrapper<LiveStream>>);
    Effect::new(move |_| {
        let sid = session_id.get();
        stream.set_value(None);
        if let Some(sid) = sid {
            let opened = RwSignal::new(0u32);
            let s = LiveStream::open(
                &api::events_url(org_id, sid),
                move |ev: CopilotEvent| live.apply(ev),
                // A reconnection may have missed events: reload the stored history.
                move || {
                    if opened.get_untracked() > 0 {
                        session.refetch();
                    }
                    opened.update(|n| *n += 1);
                },
            );
            stream.set_value(s.map(SendWrapper::new));
        }
    });

    view! {
        <div class="grid gap-4 lg:grid-cols-[18rem_minmax(0,1fr)_20rem]" data-testid="copilot">
            <aside class="space-y-4" data-testid="copilot-brief" aria-label=move || t_string!(use_i18n(), copilot.brief_column).to_string()>
                <QueuePanel queue prospect_id/>
                {move || prospect_id.get().map(|p| view! { <ProspectPanel org_id prospect_id=p refresh=refresh_queue/> })}
            </aside>
            <section class="space-y-4" data-testid="copilot-script">
                <ScriptPanel org_id prospect_id session_id live refresh_queue/>
            </section>
            <aside class="space-y-4" data-testid="copilot-knowledge">
                <KnowledgePanel org_id live/>
            </aside>
        </div>
    }
    .into_any()
}

#[component]
fn QueuePanel(
    queue: Resource<Result<Vec<domain::copilot::views::QueueEntry>, AppError>>,
    prospect_id: Memo<Option<Uuid>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    view! {
        <Card title=Signal::derive(move || t_string!(i18n, copilot.queue).to_string())>
            <Suspense fallback=|| view! { <Skeleton lines=4/> }>
                {move || {
                    let navigate = navigate.clone();
                    queue.get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(entries) if entries.is_empty() => view! {
                            <p class="text-sm text-slate-500" data-testid="queue-empty">{t!(i18n, copilot.queue_empty)}</p>
                        }.into_any(),
                        Ok(entries) => view! {
                            <ul class="-mx-2 max-h-80 space-y-1 overflow-y-auto" data-testid="queue">
                                {entries.into_iter().map(|e| {
                                    let navigate = navigate.clone();
                                    let id = e.prospect_id;
                                    let selected = move || prospect_id.get() == Some(id);
                                    let reason = e.reason.clone();
                                    view! {
                                        <li>
                                            <button type="button" data-testid="queue-item"
                                                class=move || format!("w-full rounded-md px-2 py-1.5 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800 {}", if selected() { "bg-indigo-50 dark:bg-indigo-950" } else { "" })
                                                aria-current=move || selected().then_some("true")
                                                on:click=move |_| navigate(&format!("/app/copilot?p={id}"), Default::default())>
                                                <span class="block font-medium">{e.name.clone()}</span>
                                                <span class="flex items-center justify-between text-xs text-slate-500">
                                                    <span>{e.company.clone()}</span>
                                                    <Badge tone=if reason == "callback_due" { Tone::Warning } else { Tone::Neutral }>{move || reason_label(i18n, &reason)}</Badge>
                                                </span>
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    })
                }}
            </Suspense>
        </Card>
    }
}

#[component]
fn ProspectPanel(org_id: Uuid, prospect_id: Uuid, refresh: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let prospect = Resource::new(
        move || refresh.get(),
        move |_| crate::features::prospects::api::get_prospect(org_id, prospect_id),
    );
    let regenerate = RwSignal::new(false);
    let brief = Resource::new(
        move || (locale.get(), regenerate.get()),
        move |(lang, fresh)| api::prospect_brief(org_id, prospect_id, lang, fresh),
    );
    view! {
        <Card>
            <Suspense fallback=|| view! { <Skeleton lines=3/> }>
                {move || prospect.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(p) => {
                        let status = p.row.status;
                        view! {
                            <div data-testid="prospect-profile">
                                <h2 class="text-lg font-semibold" data-testid="profile-name">{p.row.display_name()}</h2>
                                <p class="text-sm text-slate-500">{format!("{} · {}", p.row.title, p.row.company)}</p>
                                <p class="mt-1 text-sm">{p.row.phone.clone().unwrap_or_default()}</p>
                                <div class="mt-2 flex flex-wrap gap-1">
                                    <span data-testid="profile-status"><Badge tone=Tone::Info>{move || status_label(i18n, status)}</Badge></span>
                                    {p.row.tags.clone().into_iter().map(|t| view! { <Badge>{t}</Badge> }).collect_view()}
                                </div>
                                <a class="mt-2 inline-block text-sm text-indigo-600 hover:underline" href=format!("/app/prospects/{}", p.row.id)>{t!(i18n, copilot.open_prospect)}</a>
                            </div>
                        }.into_any()
                    }
                })}
            </Suspense>
        </Card>
        <Card title=Signal::derive(move || t_string!(i18n, copilot.recommendations).to_string())>
            <Suspense fallback=|| view! { <Skeleton lines=3/> }>
                {move || brief.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(b) => {
                        let from_llm = b.source == "llm";
                        let model = b.model.clone().unwrap_or_default();
                        view! {
                            <div class="space-y-2 text-sm" data-testid="brief">
                                <p data-testid="brief-source">
                                    {if from_llm {
                                        view! { <Badge tone=Tone::Info>{move || t_string!(i18n, copilot.brief_ai, model = model.clone()).to_string()}</Badge> }.into_any()
                                    } else {
                                        view! { <Badge>{t!(i18n, copilot.brief_rules)}</Badge> }.into_any()
                                    }}
                                </p>
                                <p><span class="font-medium">{t!(i18n, copilot.opening_angle)}</span>" "{b.opening_angle.clone()}</p>
                                <div>
                                    <p class="font-medium">{t!(i18n, copilot.likely_objections)}</p>
                                    <div class="mt-1 flex flex-wrap gap-1">
                                        {b.likely_objections.iter().map(|k| { let k = *k; view! { <Badge tone=Tone::Warning>{move || objection_label(i18n, k)}</Badge> } }).collect_view()}
                                    </div>
                                </div>
                                <div>
                                    <p class="font-medium">{t!(i18n, copilot.questions)}</p>
                                    <ul class="list-disc pl-5">{b.questions.iter().map(|q| view! { <li>{q.clone()}</li> }).collect_view()}</ul>
                                </div>
                                <Button variant=ButtonVariant::Ghost class="px-0".to_string() on:click=move |_| regenerate.set(true)>{t!(i18n, copilot.regenerate)}</Button>
                            </div>
                        }.into_any()
                    }
                })}
            </Suspense>
        </Card>
        <Card title=Signal::derive(move || t_string!(i18n, copilot.history).to_string())>
            <super::history::CallHistory org_id prospect_id refresh/>
        </Card>
    }
}

#[component]
fn ScriptPanel(
    org_id: Uuid,
    prospect_id: Memo<Option<Uuid>>,
    session_id: Memo<Option<Uuid>>,
    live: Live,
    refresh_queue: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let navigate = use_navigate();
    let scripts = Resource::new(|| (), move |_| api::list_scripts(org_id));
    let chosen_script = RwSignal::new(String::new());
    let start_error = RwSignal::new(None::<String>);
    let starting = RwSignal::new(false);
    let start = move |mode: SessionMode| {
        let Some(p) = prospect_id.get_untracked() else { return };
        let script = chosen_script.get_untracked().parse::<Uuid>().ok();
        let navigate = navigate.clone();
        starting.set(true);
        leptos::task::spawn_local(async move {
            let r = api::start_session(org_id, p, script, mode, locale.get_untracked()).await;
            starting.set(false);
            match r {
                Ok(s) => {
                    start_error.set(None);
                    navigate(&format!("/app/copilot?p={p}&s={}", s.id), Default::default());
                }
                Err(e) => start_error.set(Some(describe(i18n, &e))),
            }
        });
    };
    let start_practice = start.clone();
    let nav_error = RwSignal::new(None::<String>);
    let go = move |to: Navigation| {
        let Some(s) = session_id.get_untracked() else { return };
        if live.ended.get_untracked().is_some() {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::navigate(org_id, s, to).await {
                Ok(Some(ev)) => {
                    nav_error.set(None);
                    live.apply(ev);
                }
                Ok(None) => {}
                Err(e) => nav_error.set(Some(describe(i18n, &e))),
            }
        });
    };
    // Keyboard: Alt+→ next phase, Alt+← previous phase.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.alt_key() && ev.key() == "ArrowRight" {
            ev.prevent_default();
            go(Navigation::Next);
        } else if ev.alt_key() && ev.key() == "ArrowLeft" {
            ev.prevent_default();
            go(Navigation::Previous);
        }
    });
    on_cleanup(move || keys.remove());
    let end_open = RwSignal::new(false);

    view! {
        {move || match (prospect_id.get(), live.session.get()) {
            (None, _) => view! {
                <EmptyState title=Signal::derive(move || t_string!(i18n, copilot.pick_title).to_string())
                    body=Signal::derive(move || t_string!(i18n, copilot.pick_body).to_string())/>
            }.into_any(),
            (Some(_), None) if session_id.get().is_none() => {
                let start_call = start.clone();
                let start_practice = start_practice.clone();
                view! {
                    <Card title=Signal::derive(move || t_string!(i18n, copilot.start_title).to_string())>
                        <div class="space-y-3">
                            <label class="block text-sm">
                                <span class="mb-1 block font-medium">{t!(i18n, copilot.script)}</span>
                                <select class="block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600" data-testid="script-select"
                                    on:change=move |ev| chosen_script.set(event_target_value(&ev))>
                                    <option value="">{t!(i18n, copilot.default_script)}</option>
                                    <Suspense>
                                        {move || scripts.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|s| view! {
                                            <option value=s.id.to_string()>{format!("{} ({})", s.name, s.language.as_str())}</option>
                                        }).collect_view())}
                                    </Suspense>
                                </select>
                            </label>
                            <div class="flex flex-wrap gap-2">
                                <Button busy=starting attr:data-testid="start-call" on:click=move |_| start_call(SessionMode::Call)>{t!(i18n, copilot.start_call)}</Button>
                                <Button variant=ButtonVariant::Secondary busy=starting attr:data-testid="start-practice" on:click=move |_| start_practice(SessionMode::Practice)>{t!(i18n, copilot.start_practice)}</Button>
                            </div>
                            <FormError message=start_error/>
                        </div>
                    </Card>
                }.into_any()
            }
            (Some(_), None) => view! { <Skeleton lines=6/> }.into_any(),
            (Some(_), Some(s)) => view! { <RunningSession s live go nav_error end_open/> }.into_any(),
        }}
        {move || live.session.get().map(|s| view! { <EndDialog org_id session=s.id open=end_open live refresh_queue/> })}
    }
}

#[component]
fn RunningSession(
    s: SessionView,
    live: Live,
    go: impl Fn(Navigation) + Copy + Send + Sync + 'static,
    nav_error: RwSignal<Option<String>>,
    end_open: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let script = StoredValue::new(s.script.clone());
    let session_id = s.id;
    let org_id = use_current_org().map(|o| o.id).unwrap_or_default();
    let phases: Vec<Phase> = s.script.phases.iter().map(|p| p.phase).collect();
    let mode = s.mode;
    view! {
        <Card>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <div class="flex items-center gap-2">
                    <Badge tone=if mode == SessionMode::Call { Tone::Success } else { Tone::Info }>
                        {move || if mode == SessionMode::Call { t_string!(i18n, copilot.mode_call).to_string() } else { t_string!(i18n, copilot.mode_practice).to_string() }}
                    </Badge>
                    {move || live.ended.get().map(|o| view! { <span data-testid="session-ended"><Badge tone=Tone::Neutral>{move || outcome_label(i18n, o)}</Badge></span> })}
                </div>
                <Show when=move || live.ended.get().is_none()>
                    <Button variant=ButtonVariant::Danger attr:data-testid="end-call" on:click=move |_| end_open.set(true)>{t!(i18n, copilot.end_call)}</Button>
                </Show>
            </div>
            <ol class="mt-4 flex flex-wrap gap-1" aria-label=move || t_string!(i18n, copilot.phases).to_string()>
                {phases.iter().map(|p| {
                    let p = *p;
                    let current = move || live.phase.get() == p;
                    view! {
                        <li>
                            <button type="button" data-testid=format!("phase-{}", p.as_str())
                                aria-current=move || current().then_some("step")
                                class=move || format!("rounded-full px-3 py-1 text-xs font-medium {}", if current() { "bg-indigo-600 text-white" } else { "bg-slate-100 text-slate-700 hover:bg-slate-200 dark:bg-slate-800 dark:text-slate-300" })
                                on:click=move |_| go(Navigation::Phase(p))>
                                {move || phase_label(i18n, p)}
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="mt-3 h-2 w-full overflow-hidden rounded bg-slate-100 dark:bg-slate-800" role="progressbar" data-testid="script-progress"
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || live.progress.get().to_string()>
                <div class="h-full bg-indigo-600 transition-all" style=move || format!("width: {}%", live.progress.get())></div>
            </div>
            {move || {
                let phase = live.phase.get();
                script.with_value(|sc| sc.phases.iter().find(|p| p.phase == phase).cloned()).map(|p| view! {
                    <div class="mt-4 space-y-3" data-testid="current-phase" data-phase=phase.as_str()>
                        <h2 class="text-lg font-semibold">{move || phase_label(i18n, phase)}</h2>
                        <p class="whitespace-pre-wrap text-base leading-relaxed" data-testid="phase-text">{p.text.clone()}</p>
                        {(!p.tips.is_empty()).then(|| view! {
                            <ul class="list-disc space-y-1 pl-5 text-sm text-slate-600 dark:text-slate-400" aria-label=move || t_string!(i18n, copilot.tips).to_string()>
                                {p.tips.iter().map(|tip| view! { <li>{tip.clone()}</li> }).collect_view()}
                            </ul>
                        })}
                    </div>
                })
            }}
            <div class="mt-4 flex items-center gap-2">
                <Button variant=ButtonVariant::Secondary attr:data-testid="phase-previous" attr:title="Alt+←" on:click=move |_| go(Navigation::Previous)>{t!(i18n, copilot.previous)}</Button>
                <Button variant=ButtonVariant::Secondary attr:data-testid="phase-next" attr:title="Alt+→" on:click=move |_| go(Navigation::Next)>{t!(i18n, copilot.next)}</Button>
                <span class="text-xs text-slate-500">{t!(i18n, copilot.keyboard_hint)}</span>
            </div>
            <FormError message=nav_error/>
        </Card>
        <MicControl org_id session_id live/>
        <TranscriptPanel org_id session_id live/>
    }
}

/// Practice mode's live source: the rep's microphone, streamed to the
/// organisation's speech-to-text through [`crate::browser_audio`].
#[component]
fn MicControl(org_id: Uuid, session_id: Uuid, live: Live) -> impl IntoView {
    use crate::browser_audio::{BrowserAudio, MicError};
    let i18n = use_i18n();
    let running = StoredValue::new(None::<SendWrapper<BrowserAudio>>);
    let on = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let toggle = move |_| {
        if on.get_untracked() {
            running.set_value(None);
            on.set(false);
            return;
        }
        busy.set(true);
        live.source_error.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/orgs/{org_id}/copilot/sessions/{session_id}/audio");
            let r = BrowserAudio::start(&path, move || on.set(false)).await;
            busy.set(false);
            match r {
                Ok(a) => {
                    running.set_value(Some(SendWrapper::new(a)));
                    on.set(true);
                    error.set(None);
                }
                Err(e) => error.set(Some(match e {
                    MicError::Denied => t_string!(i18n, copilot.mic_denied).to_string(),
                    MicError::Unsupported => t_string!(i18n, copilot.mic_unsupported).to_string(),
                    MicError::Network => t_string!(i18n, copilot.mic_network).to_string(),
                })),
            }
        });
    };
    // Ending the session stops listening.
    Effect::new(move |_| {
        if live.ended.get().is_some() {
            running.set_value(None);
            on.set(false);
        }
    });
    on_cleanup(move || running.set_value(None));
    view! {
        <Card>
            <div class="flex flex-wrap items-center gap-3">
                <Button variant=ButtonVariant::Secondary busy attr:data-testid="mic-toggle" attr:aria-pressed=move || on.get().to_string() on:click=toggle>
                    {move || if on.get() { t_string!(i18n, copilot.mic_stop).to_string() } else { t_string!(i18n, copilot.mic_start).to_string() }}
                </Button>
                <Show when=move || on.get()>
                    <span class="flex items-center gap-2 text-sm text-red-600" data-testid="mic-live">
                        <span class="h-2 w-2 animate-pulse rounded-full bg-red-600" aria-hidden="true"></span>{t!(i18n, copilot.mic_listening)}
                    </span>
                </Show>
                <p class="text-xs text-slate-500">{t!(i18n, copilot.mic_hint)}</p>
            </div>
            <FormError message=error/>
            <FormError message=Signal::derive(move || live.source_error.get().map(|c| crate::i18n::error_message(i18n, c)))/>
        </Card>
    }
}

#[component]
fn TranscriptPanel(org_id: Uuid, session_id: Uuid, live: Live) -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(String::new());
    let speaker = RwSignal::new(Speaker::Prospect);
    let error = RwSignal::new(None::<String>);
    let list = NodeRef::<leptos::html::Div>::new();
    // Keep the newest line in view.
    Effect::new(move |_| {
        live.lines.track();
        live.partial.track();
        if let Some(el) = list.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let send = move || {
        let t = text.get_untracked();
        if t.trim().is_empty() {
            return;
        }
        let who = speaker.get_untracked();
        leptos::task::spawn_local(async move {
            match api::say(org_id, session_id, who, t).await {
                Ok(events) => {
                    error.set(None);
                    text.set(String::new());
                    for ev in events {
                        live.apply(ev);
                    }
                }
                Err(e) => error.set(Some(describe(i18n, &e))),
            }
        });
    };
    view! {
        <Card title=Signal::derive(move || t_string!(i18n, copilot.transcript).to_string())>
            <div node_ref=list class="max-h-72 space-y-1 overflow-y-auto text-sm" data-testid="transcript" aria-live="polite">
                <For each=move || live.lines.get() key=|l| l.seq children=move |line| view! {
                    <p data-testid="transcript-line" data-speaker=format!("{:?}", line.speaker).to_lowercase()>
                        <span class="mr-2 font-semibold">{move || speaker_label(i18n, line.speaker)}</span>{line.text.clone()}
                    </p>
                }/>
                {move || live.partial.get().map(|l| view! {
                    <p class="italic text-slate-500" data-testid="transcript-partial">
                        <span class="mr-2 font-semibold">{move || speaker_label(i18n, l.speaker)}</span>{l.text.clone()}
                    </p>
                })}
                <Show when=move || live.lines.get().is_empty() && live.partial.get().is_none()>
                    <p class="text-slate-500">{t!(i18n, copilot.transcript_empty)}</p>
                </Show>
            </div>
            <Show when=move || live.ended.get().is_none()>
                <form class="mt-3 flex gap-2" on:submit=move |ev| { ev.prevent_default(); send(); }>
                    <select class="rounded-md px-2 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600" aria-label=move || t_string!(i18n, copilot.speaker).to_string()
                        on:change=move |ev| speaker.set(if event_target_value(&ev) == "rep" { Speaker::Rep } else { Speaker::Prospect })>
                        <option value="prospect">{move || speaker_label(i18n, Speaker::Prospect)}</option>
                        <option value="rep">{move || speaker_label(i18n, Speaker::Rep)}</option>
                    </select>
                    <input class="min-w-0 flex-1 rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600" data-testid="say-input"
                        aria-label=move || t_string!(i18n, copilot.say_label).to_string()
                        placeholder=move || t_string!(i18n, copilot.say_placeholder).to_string()
                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))/>
                    <Button submit=true attr:data-testid="say-send">{t!(i18n, copilot.say_send)}</Button>
                </form>
            </Show>
            <FormError message=error/>
        </Card>
    }
}

#[component]
fn EndDialog(
    org_id: Uuid,
    session: Uuid,
    open: RwSignal<bool>,
    live: Live,
    refresh_queue: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let outcome = RwSignal::new(String::from("interested"));
    let callback = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move || {
        let Some(o) = CallOutcome::parse(&outcome.get_untracked()) else { return };
        // `datetime-local` is the rep's local time; the browser knows the offset.
        let callback_at = parse_local(&callback.get_untracked());
        let report = OutcomeReport { outcome: o, callback_at, notes: notes.get_untracked() };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::end_session(org_id, session, report).await;
            busy.set(false);
            match r {
                Ok(s) => {
                    error.set(None);
                    open.set(false);
                    live.ended.set(s.outcome);
                    refresh_queue.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(describe(i18n, &e))),
            }
        });
    };
    view! {
        <Dialog open title=Signal::derive(move || t_string!(i18n, copilot.end_title).to_string())>
            <form class="space-y-3" on:submit=move |ev| { ev.prevent_default(); submit(); } data-testid="end-form">
                <fieldset>
                    <legend class="mb-1 text-sm font-medium">{t!(i18n, copilot.outcome)}</legend>
                    <div class="grid grid-cols-2 gap-1">
                        {CallOutcome::ALL.into_iter().map(|o| view! {
                            <label class="flex items-center gap-2 text-sm">
                                <input type="radio" name="outcome" value=o.as_str() data-testid=format!("outcome-{}", o.as_str())
                                    prop:checked=move || outcome.get() == o.as_str()
                                    on:change=move |_| outcome.set(o.as_str().to_string())/>
                                {move || outcome_label(i18n, o)}
                            </label>
                        }).collect_view()}
                    </div>
                </fieldset>
                <Show when=move || outcome.get() == "callback_scheduled">
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium">{t!(i18n, copilot.callback_at)}</span>
                        <input type="datetime-local" data-testid="callback-at" class="rounded-md px-3 py-2 ring-1 ring-slate-300 dark:bg-slate-800"
                            prop:value=move || callback.get() on:input=move |ev| callback.set(event_target_value(&ev))/>
                    </label>
                </Show>
                <label class="block text-sm">
                    <span class="mb-1 block font-medium">{t!(i18n, copilot.notes)}</span>
                    <textarea rows="3" data-testid="end-notes" class="block w-full rounded-md px-3 py-2 ring-1 ring-slate-300 dark:bg-slate-800"
                        prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
                </label>
                <FormError message=error/>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button submit=true busy attr:data-testid="end-submit">{t!(i18n, copilot.log_outcome)}</Button>
                </div>
            </form>
        </Dialog>
    }
}

/// A `datetime-local` value in the browser's time zone, as UTC.
fn parse_local(value: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M").ok()?;
    #[cfg(feature = "hydrate")]
    {
        // getTimezoneOffset: minutes to add to local time to get UTC, for that date.
        let js = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value));
        let offset = js.get_timezone_offset();
        if offset.is_finite() {
            return Some((naive + chrono::Duration::minutes(offset as i64)).and_utc());
        }
    }
    Some(naive.and_utc())
}

#[component]
fn KnowledgePanel(org_id: Uuid, live: Live) -> impl IntoView {
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
                <ObjectionCard seq=card.0 detection=card.1 handler=card.2 used/>
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
