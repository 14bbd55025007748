//! Settings → Providers: one card per provider with its key source (masked),
//! base URL override, save / remove / test connection.

use domain::catalogue::Capability;
use domain::views::{CredentialView, KeySource};
use domain::Permission;
use leptos::prelude::*;
use uuid::Uuid;

use super::api::{RemoveProviderSettings, SaveProviderSettings, TestProvider};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{toast_result, Badge, Button, ButtonVariant, Card, FormError, Skeleton, Tone};

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_manage = org.role.allows(Permission::ManageProviderKeys);
    let save = ServerAction::<SaveProviderSettings>::new();
    let remove = ServerAction::<RemoveProviderSettings>::new();
    toast_result(save, move || Some(t_string!(i18n, providers.saved).to_string()));
    toast_result(remove, move || Some(t_string!(i18n, providers.removed).to_string()));
    let list = Resource::new(
        move || (save.version().get(), remove.version().get()),
        move |_| super::api::list_provider_settings(org_id),
    );
    view! {
        <div class="space-y-6">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, providers.title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, providers.intro)}</p>
            </div>
            <Transition fallback=|| view! { <Skeleton lines=6/> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(items) => view! {
                        <div class="grid gap-4 lg:grid-cols-2" data-testid="providers">
                            {items.into_iter().map(|p| view! { <ProviderCard org_id view=p can_manage save remove/> }).collect_view()}
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn ProviderCard(
    org_id: Uuid,
    view: CredentialView,
    can_manage: bool,
    save: ServerAction<SaveProviderSettings>,
    remove: ServerAction<RemoveProviderSettings>,
) -> impl IntoView {
    let i18n = use_i18n();
    let provider = view.provider.clone();
    let key = RwSignal::new(String::new());
    let base_url = RwSignal::new(view.base_url.clone().unwrap_or_default());
    let caps = view
        .capabilities
        .iter()
        .map(|c| match c {
            Capability::Llm => "LLM",
            Capability::Stt => "STT",
            Capability::Tts => "TTS",
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let source = view.source;
    let hint = view.key_hint.clone().unwrap_or_default();
    let tested = view.last_test_ok;
    let p_save = provider.clone();
    let p_remove = provider.clone();
    let p_test = provider.clone();
    // Each card tests its own provider, so each has its own action.
    let test = ServerAction::<TestProvider>::new();
    let result = Signal::derive(move || if test.pending().get() { None } else { test.value().get() });
    view! {
        <Card>
            <div class="space-y-3" data-testid=format!("provider-{}", view.provider)>
                <div class="flex items-start justify-between gap-2">
                    <div>
                        <h2 class="font-semibold">{view.name.clone()}</h2>
                        <p class="text-xs text-slate-500">{caps}</p>
                    </div>
                    {match source {
                        KeySource::Organization => view! { <Badge tone=Tone::Success>{t!(i18n, providers.source_org)} " " {hint.clone()}</Badge> }.into_any(),
                        KeySource::Server => view! { <Badge tone=Tone::Info>{t!(i18n, providers.source_server)}</Badge> }.into_any(),
                        KeySource::None if view.key_optional => view! { <Badge tone=Tone::Neutral>{t!(i18n, providers.key_optional)}</Badge> }.into_any(),
                        KeySource::None => view! { <Badge tone=Tone::Warning>{t!(i18n, providers.source_none)}</Badge> }.into_any(),
                    }}
                </div>
                {tested.map(|ok| view! {
                    <p class="text-xs" class:text-emerald-700=ok class:text-red-600=!ok>
                        {if ok { t_string!(i18n, providers.last_test_ok).to_string() } else { t_string!(i18n, providers.last_test_failed).to_string() }}
                    </p>
                })}
                {can_manage.then(|| view! {
                    <form class="space-y-2" on:submit=move |ev| {
                        ev.prevent_default();
                        save.dispatch(SaveProviderSettings { org_id, provider: p_save.clone(), api_key: key.get_untracked(), base_url: base_url.get_untracked(), clear_key: false });
                        key.set(String::new());
                    }>
                        <label class="block text-sm">
                            <span class="mb-1 block font-medium">{t!(i18n, providers.api_key)}</span>
                            <input type="password" autocomplete="off" data-testid=format!("key-{}", view.provider)
                                placeholder=move || if source == KeySource::Organization { t_string!(i18n, providers.key_keep).to_string() } else { String::new() }
                                class="block w-full rounded-md border-0 bg-white px-3 py-2 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                                prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev))/>
                        </label>
                        <label class="block text-sm">
                            <span class="mb-1 block font-medium">{t!(i18n, providers.base_url)}</span>
                            <input type="url" data-testid=format!("base-url-{}", view.provider) placeholder=view.default_base_url.clone()
                                class="block w-full rounded-md border-0 bg-white px-3 py-2 font-mono text-xs ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                                prop:value=move || base_url.get() on:input=move |ev| base_url.set(event_target_value(&ev))/>
                        </label>
                        <div class="flex flex-wrap gap-2">
                            <Button submit=true busy=save.pending() attr:data-testid=format!("save-{}", view.provider)>{t!(i18n, common.save)}</Button>
                            <Button variant=ButtonVariant::Secondary busy=test.pending() attr:data-testid=format!("test-{}", view.provider)
                                on:click=move |_| { test.dispatch(TestProvider { org_id, provider: p_test.clone() }); }>{t!(i18n, providers.test)}</Button>
                            {(source == KeySource::Organization || view.base_url.is_some()).then(|| view! {
                                <Button variant=ButtonVariant::DangerGhost on:click=move |_| { remove.dispatch(RemoveProviderSettings { org_id, provider: p_remove.clone() }); }>{t!(i18n, providers.remove)}</Button>
                            })}
                        </div>
                    </form>
                })}
                {move || result.get().map(|r| match r {
                    Ok(o) if o.ok => view! { <p class="text-sm text-emerald-700" role="status" data-testid="test-ok">{t!(i18n, providers.test_ok, ms = o.latency_ms)}</p> }.into_any(),
                    Ok(o) => {
                        let msg = o.error.map(|c| crate::i18n::error_message(i18n, c)).unwrap_or_default();
                        view! { <p class="text-sm text-red-600" role="alert" data-testid="test-failed">{msg} " " <span class="text-xs text-slate-500">{o.message.unwrap_or_default()}</span></p> }.into_any()
                    }
                    Err(e) => view! { <p class="text-sm text-red-600" role="alert">{describe(i18n, &e)}</p> }.into_any(),
                })}
            </div>
        </Card>
    }
}
