//! A prospect's past calls (outcome, when, who, notes): on the copilot's
//! prospect panel and on the prospect's own page.

use leptos::prelude::*;
use uuid::Uuid;

use super::api;
use super::labels::outcome_label;
use crate::i18n::{describe, t, use_i18n, use_locale};
use crate::ui::{FormError, Skeleton};

/// Loads again whenever `refresh` changes (after a call ends).
#[component]
pub fn CallHistory(org_id: Uuid, prospect_id: Uuid, #[prop(into)] refresh: Signal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let history = Resource::new(move || refresh.get(), move |_| api::call_history(org_id, prospect_id));
    view! {
        <Suspense fallback=|| view! { <Skeleton lines=2/> }>
            {move || history.get().map(|r| match r {
                Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                Ok(calls) if calls.is_empty() => view! {
                    <p class="text-sm text-slate-500" data-testid="call-history-empty">{t!(i18n, copilot.no_history)}</p>
                }.into_any(),
                Ok(calls) => view! {
                    <ul class="space-y-2 text-sm" data-testid="call-history">
                        {calls.into_iter().map(|c| view! {
                            <li>
                                <span class="font-medium">{move || c.outcome.map(|o| outcome_label(i18n, o)).unwrap_or_default()}</span>
                                <span class="text-xs text-slate-500">{move || format!(" · {} · {}", crate::format::datetime(locale.get(), c.started_at), c.rep.clone().unwrap_or_default())}</span>
                                {(!c.notes.is_empty()).then(|| view! { <p class="text-xs text-slate-600 dark:text-slate-400">{c.notes.clone()}</p> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </Suspense>
    }
}
