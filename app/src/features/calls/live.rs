//! The managers' live board (Admins and Owners): every call in progress —
//! who is on it (a rep, or an AI agent), the prospect, how long it has
//! lasted, the script phase and the last objection the copilot raised —
//! refreshed on each change to the organisation's calls (the event bus,
//! whichever node received it) and every few seconds for the copilot's
//! columns. Per call: listen, whisper to the rep, barge ([`super::listen`]).

use domain::call_views::LiveCall;
use leptos::prelude::*;

use super::labels::{duration, status_label, status_tone};
use super::listen::ListenLive;
use crate::features::auth::session::use_current_org;
use crate::features::copilot::labels::{objection_label, phase_label};
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{Badge, Card, EmptyState, FormError, Skeleton};

#[component]
pub fn LiveCallsPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can = org.role.allows(domain::Permission::ListenToCalls);
    let refresh = RwSignal::new(0u32);
    let board = Resource::new(move || refresh.get(), move |_| super::api::live_calls(org_id));
    // The clock the durations tick on (client side only).
    let now = RwSignal::new(chrono::Utc::now());
    super::follow_calls(org_id, move |_| refresh.update(|n| *n += 1), move || refresh.update(|n| *n += 1));
    #[cfg(feature = "hydrate")]
    {
        // Durations tick every second; the copilot's columns are re-read every five.
        let tick = leptos::prelude::set_interval_with_handle(
            move || {
                now.set(chrono::Utc::now());
                if now.get_untracked().timestamp() % 5 == 0 {
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(tick) = tick {
            on_cleanup(move || tick.clear());
        }
    }
    let error = RwSignal::new(None::<String>);
    // The rows live in a signal, each row reading its own call by id: a
    // refresh updates them in place, and a manager listening on one keeps
    // their connection.
    let rows = RwSignal::new(None::<Vec<LiveCall>>);
    Effect::new(move |_| match board.get() {
        Some(Ok(list)) => {
            error.set(None);
            rows.set(Some(list));
        }
        Some(Err(e)) => error.set(Some(describe(i18n, &e))),
        None => {}
    });
    let ids = Memo::new(move |_| {
        rows.with(|r| r.as_ref().map(|r| r.iter().map(|c| c.call.id).collect::<Vec<_>>()))
    });
    view! {
        <div class="space-y-4" data-testid="live-board">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, calls.live_title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, calls.live_intro)}</p>
            </div>
            {(!can).then(|| view! { <EmptyState title=Signal::derive(move || t_string!(i18n, calls.live_admins_only).to_string()) body=Signal::derive(String::new)/> })}
            <FormError message=error/>
            {move || match ids.get() {
                _ if !can => ().into_any(),
                None => view! { <Skeleton lines=4/> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <EmptyState title=Signal::derive(move || t_string!(i18n, calls.live_empty).to_string())
                        body=Signal::derive(move || t_string!(i18n, calls.live_empty_body).to_string())/>
                }.into_any(),
                Some(_) => view! {
                    <div class="grid gap-3 lg:grid-cols-2">
                        <For each=move || ids.get().unwrap_or_default() key=|id| *id let:id>
                            <LiveRow org_id id rows now/>
                        </For>
                    </div>
                }.into_any(),
            }}
        </div>
    }
    .into_any()
}

#[component]
fn LiveRow(
    org_id: uuid::Uuid,
    id: uuid::Uuid,
    rows: RwSignal<Option<Vec<LiveCall>>>,
    now: RwSignal<chrono::DateTime<chrono::Utc>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let row = Memo::new(move |_| {
        rows.with(|r| r.as_ref().and_then(|r| r.iter().find(|c| c.call.id == id).cloned()))
    });
    let get = move |f: fn(&LiveCall) -> String| row.with(|r| r.as_ref().map(f).unwrap_or_default());
    let rep_call = row.with_untracked(|r| r.as_ref().is_some_and(|r| r.rep_id.is_some()));
    let status = move || {
        row.with(|r| r.as_ref().map(|r| r.call.status)).unwrap_or(domain::call::CallStatus::Initiated)
    };
    let since = move || row.with(|r| r.as_ref().map(|r| r.call.answered_at.unwrap_or(r.call.created_at)));
    let phase = move || row.with(|r| r.as_ref().and_then(|r| r.phase));
    let objection = move || row.with(|r| r.as_ref().and_then(|r| r.last_objection));
    view! {
        <Card>
            <div class="space-y-2" data-testid="live-call" data-call=id.to_string()>
                <div class="flex flex-wrap items-center justify-between gap-2">
                    <div>
                        <a href=format!("/app/calls/{id}") class="font-semibold text-indigo-700 hover:underline dark:text-indigo-300" data-testid="live-prospect">
                            {move || get(|r| r.call.prospect_name.clone().unwrap_or_else(|| r.call.to_number.clone()))}
                        </a>
                        <p class="text-sm text-slate-600 dark:text-slate-400">
                            <span data-testid="live-who">{move || get(|r| r.rep_name.clone().or(r.call.agent_name.clone()).unwrap_or_default())}</span>
                            " · "
                            {move || if rep_call { t_string!(i18n, calls.live_rep).to_string() } else { t_string!(i18n, calls.live_agent).to_string() }}
                        </p>
                    </div>
                    <div class="flex items-center gap-2">
                        {move || view! { <Badge tone=status_tone(status())>{status_label(i18n, status())}</Badge> }}
                        <span class="font-mono text-sm tabular-nums" data-testid="live-duration">
                            {move || since().map(|s| duration((now.get() - s).num_milliseconds().max(0))).unwrap_or_default()}
                        </span>
                    </div>
                </div>
                <dl class="grid grid-cols-2 gap-2 text-sm">
                    <div>
                        <dt class="text-xs text-slate-500">{t!(i18n, calls.live_phase)}</dt>
                        <dd data-testid="live-phase">{move || phase().map(|p| phase_label(i18n, p)).unwrap_or_else(|| "—".into())}</dd>
                    </div>
                    <div>
                        <dt class="text-xs text-slate-500">{t!(i18n, calls.live_objection)}</dt>
                        <dd data-testid="live-objection">{move || objection().map(|k| objection_label(i18n, k)).unwrap_or_else(|| "—".into())}</dd>
                    </div>
                </dl>
                <ListenLive org_id call_id=id rep_call/>
            </div>
        </Card>
    }
}
