//! A prospect's calls on its page: AI agents' phone calls (each a link to
//! its call page) and reps' copilot calls (their analysis opens in place),
//! newest first.

use domain::call_views::ProspectCall;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use super::labels::{duration, status_label, status_tone};
use crate::features::copilot::labels::outcome_label;
use crate::i18n::{describe, t, use_i18n, use_locale};
use crate::ui::{Badge, FormError, Skeleton};

#[component]
pub fn ProspectCalls(org_id: Uuid, prospect_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let calls = Resource::new(|| (), move |_| super::api::prospect_calls(org_id, prospect_id));
    view! {
        <Suspense fallback=|| view! { <Skeleton lines=2/> }>
            {move || calls.get().map(|r| match r {
                Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p class="text-sm text-slate-500" data-testid="call-history-empty">{t!(i18n, copilot.no_history)}</p>
                }.into_any(),
                Ok(list) => view! {
                    <ul class="space-y-2 text-sm" data-testid="call-history">
                        {list.into_iter().map(|c| view! { <Entry c org_id/> }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Entry(c: ProspectCall, org_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let at = c.at;
    let when = move || crate::format::datetime(locale.get(), at);
    let link = (c.kind == "phone").then(|| format!("/app/calls/{}", c.id));
    let kind = c.kind.clone();
    let kind_attr = c.kind.clone();
    // A copilot call has no page of its own: its analysis opens here, read
    // only when asked for.
    let session = (c.kind == "copilot").then_some(c.id);
    let open = RwSignal::new(false);
    let can_edit = crate::features::auth::session::use_current_org()
        .is_some_and(|o| o.role.allows(domain::Permission::ManageCampaigns));
    view! {
        <li data-testid="call-history-entry" data-kind=kind_attr>
            <div class="flex flex-wrap items-center gap-2">
                {match link {
                    Some(href) => view! { <A href=href attr:class="text-indigo-700 hover:underline dark:text-indigo-300">{when}</A> }.into_any(),
                    None => view! { <span>{when}</span> }.into_any(),
                }}
                <span class="text-xs text-slate-500">
                    {move || if kind == "phone" { t!(i18n, calls.kind_phone).into_any() } else { t!(i18n, calls.kind_copilot).into_any() }}
                </span>
                {c.status.map(|s| view! { <Badge tone=status_tone(s)>{move || status_label(i18n, s)}</Badge> })}
                {c.outcome.map(|o| view! { <span class="font-medium">{move || outcome_label(i18n, o)}</span> })}
                {c.talk_ms.map(|ms| view! { <span class="tabular-nums text-xs text-slate-500">{duration(ms)}</span> })}
                {c.by.clone().map(|b| view! { <span class="text-xs text-slate-500">{format!("· {b}")}</span> })}
                {session.map(|_| view! {
                    <button type="button" class="text-xs text-indigo-700 hover:underline dark:text-indigo-300" data-testid="call-history-analysis"
                        aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                        {t!(i18n, calls.analysis)}
                    </button>
                })}
            </div>
            {(!c.notes.is_empty()).then(|| view! { <p class="text-xs text-slate-600 dark:text-slate-400">{c.notes.clone()}</p> })}
            {move || session.filter(|_| open.get()).map(|id| view! {
                <div class="mt-2">
                    <super::analysis::AnalysisCard org_id of=super::api::Analysed::Session(id) can_edit/>
                </div>
            })}
        </li>
    }
}
