//! The centre column: starting a session, then the script phase by phase.

use domain::copilot::script::Phase;
use domain::copilot::views::{SessionMode, SessionView};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

use super::end_call::{EndCall, Ending};
use super::microphone::MicControl;
use super::softphone::Softphone;
use super::transcript::TranscriptPanel;
use super::Live;
use crate::features::auth::session::use_current_org;
use crate::features::copilot::api;
use crate::features::copilot::labels::{outcome_label, phase_label};
use crate::features::copilot::types::Navigation;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, ButtonVariant, Card, EmptyState, FormError, Skeleton, Tone};
#[component]
pub(super) fn ScriptPanel(
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
    // Call the prospect's phone from here: the call, its session, the softphone.
    let dial = {
        let navigate = navigate.clone();
        move || {
            let Some(p) = prospect_id.get_untracked() else { return };
            let script_id = chosen_script.get_untracked().parse::<Uuid>().ok();
            let navigate = navigate.clone();
            starting.set(true);
            leptos::task::spawn_local(async move {
                let req = domain::call_views::RepCallRequest {
                    prospect_id: p,
                    script_id,
                    language: Some(locale.get_untracked()),
                    ..Default::default()
                };
                let r = crate::features::calls::api::call_prospect(org_id, req).await;
                starting.set(false);
                match r {
                    Ok(c) => {
                        start_error.set(None);
                        navigate(&format!("/app/copilot?p={p}&s={}", c.session_id), Default::default());
                    }
                    Err(e) => start_error.set(Some(describe(i18n, &e))),
                }
            });
        }
    };
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
    // What is drawn follows which session is loaded, not each load of it: a
    // reconnected event stream reloads the same session, and redrawing then
    // would drop the softphone's call — it would leave the room and join
    // again, losing hold, mute and the keypad, and the prospect would hear
    // the rep vanish. What changes within a session comes through `live`.
    let loaded = Memo::new(move |_| live.session.with(|s| s.as_ref().map(|s| s.id)));

    view! {
        {move || match (prospect_id.get(), loaded.get().and_then(|_| live.session.get_untracked())) {
            (None, _) => view! {
                <EmptyState title=Signal::derive(move || t_string!(i18n, copilot.pick_title).to_string())
                    body=Signal::derive(move || t_string!(i18n, copilot.pick_body).to_string())/>
            }.into_any(),
            (Some(_), None) if session_id.get().is_none() => {
                let start_call = start.clone();
                let start_practice = start_practice.clone();
                let dial = dial.clone();
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
                                <Button busy=starting attr:data-testid="phone-call" on:click=move |_| dial()>{t!(i18n, copilot.phone_call)}</Button>
                                <Button variant=ButtonVariant::Secondary busy=starting attr:data-testid="start-call" on:click=move |_| start_call(SessionMode::Call)>{t!(i18n, copilot.start_call)}</Button>
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
        {move || loaded.get().map(|session| view! { <EndCall ending=Ending { org_id, session, open: end_open, live, refresh_queue }/> })}
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
        {match s.call_id {
            // A phone call from the copilot: the softphone is the live source.
            Some(call_id) => view! { <Softphone org_id call_id live end_open/> }.into_any(),
            None => view! { <MicControl org_id session_id live/> }.into_any(),
        }}
        <TranscriptPanel org_id session_id live/>
    }
}
