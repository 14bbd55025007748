//! "Call with agent…" on a prospect: choose one of the organisation's active
//! voice agents; the trunk and caller number are the organisation's
//! defaults. The call goes through the one place-a-call path (permission,
//! agent, quota, do-not-call and calling hours, then the row before any dial)
//! and the page moves to the call, where its status follows live.

use leptos::prelude::*;
use uuid::Uuid;

use super::api::PlaceCall;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant, Dialog, ErrorNotice, FormError};

/// A fresh idempotency key for one dialog opening: a double click, or a
/// request retried after a network blip, places one call.
fn fresh_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        let r = || (js_sys::Math::random() * 4_294_967_296.0) as u64;
        format!("ui-{:08x}{:08x}{:08x}{:08x}", r(), r(), r(), r())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

#[component]
pub fn CallWithAgent(org_id: Uuid, prospect_id: Uuid, #[prop(into)] blocked: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let key = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    let place = ServerAction::<PlaceCall>::new();
    let agents = Resource::new(
        move || open.get(),
        move |o| async move {
            if o {
                super::api::voice_agents(org_id).await
            } else {
                Ok(vec![])
            }
        },
    );
    // The first agent is chosen when the list arrives.
    Effect::new(move |_| {
        if let Some(Ok(list)) = agents.get() {
            if agent.get_untracked().is_empty() {
                if let Some((id, _)) = list.first() {
                    agent.set(id.to_string());
                }
            }
        }
    });
    // Placed: to the call's page.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(call)) = place.value().get() {
            open.set(false);
            navigate(&format!("/app/calls/{}", call.id), Default::default());
        }
    });
    let error = Signal::derive(move || place.value().get().and_then(|r| r.err()));
    let submit = move |_| {
        let Ok(agent_id) = agent.get_untracked().parse::<Uuid>() else { return };
        place.dispatch(PlaceCall { org_id, prospect_id, agent_id, key: key.get_untracked() });
    };
    view! {
        <Button variant=ButtonVariant::Primary disabled=blocked attr:data-testid="call-with-agent"
            on:click=move |_| {
                key.set(fresh_key());
                place.value().set(None);
                open.set(true);
            }>
            {t!(i18n, calls.call_with_agent)}
        </Button>
        <Dialog open title=Signal::derive(move || t_string!(i18n, calls.call_with_agent_title).to_string())>
            <div class="space-y-4" data-testid="call-dialog">
                <p class="text-sm text-slate-500">{t!(i18n, calls.call_with_agent_body)}</p>
                <Suspense fallback=|| ()>
                    {move || agents.get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="text-sm" data-testid="call-no-agent">{t!(i18n, calls.no_voice_agent)}</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <label class="block text-sm">
                                <span class="mb-1 block text-slate-500">{t!(i18n, calls.agent)}</span>
                                <select class="block w-full rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600"
                                    data-testid="call-agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                                    {list.into_iter().map(|(id, name)| {
                                        let v = id.to_string();
                                        let sel = agent.get_untracked() == v;
                                        view! { <option value=v selected=sel>{name}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        }.into_any(),
                    })}
                </Suspense>
                <ErrorNotice error/>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button busy=place.pending() disabled=Signal::derive(move || agent.get().is_empty()) attr:data-testid="call-place"
                        on:click=submit>{t!(i18n, calls.place)}</Button>
                </div>
            </div>
        </Dialog>
    }
}
