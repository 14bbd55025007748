//! Settings → Telephony (Admins and Owners). The LiveKit secret and trunk
//! passwords are write-only: the page shows a hint, never the value.

use domain::telephony::{
    ConnectionTest, NewTrunk, TelephonyChange, TelephonySettings, Trunk, TrunkDirection,
};
use domain::Permission;
use leptos::prelude::*;
use uuid::Uuid;

use super::api::{CreateTrunk, DeleteTrunk, SaveTelephony, TestTelephony};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{
    field_error, toast_result, Badge, Button, ButtonVariant, Card, FormError, Input, Skeleton, Tone,
};

use crate::ui::COMPACT_CONTROL as CONTROL;

#[component]
pub fn TelephonyPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    if !org.role.allows(Permission::ManageSettings) {
        return view! {
            <div class="space-y-2">
                <h1 class="text-2xl font-bold">{t!(i18n, telephony.title)}</h1>
                <p class="text-sm text-slate-500" data-testid="telephony-forbidden">{t!(i18n, telephony.admins_only)}</p>
            </div>
        }
        .into_any();
    }
    let save = ServerAction::<SaveTelephony>::new();
    let test = ServerAction::<TestTelephony>::new();
    let create = ServerAction::<CreateTrunk>::new();
    let delete = ServerAction::<DeleteTrunk>::new();
    toast_result(save, move || Some(t_string!(i18n, common.saved).to_string()));
    toast_result(create, move || Some(t_string!(i18n, telephony.trunk_created).to_string()));
    toast_result(delete, move || Some(t_string!(i18n, telephony.trunk_deleted).to_string()));
    let settings = Resource::new(
        move || (save.version().get(), test.version().get(), create.version().get(), delete.version().get()),
        move |_| super::api::get_telephony(org_id),
    );
    // A saved default trunk shows on the list too.
    let trunks = Resource::new(
        move || (create.version().get(), delete.version().get(), save.version().get()),
        move |_| super::api::list_trunks(org_id),
    );
    let agents = Resource::new(|| (), move |_| crate::features::calls::api::voice_agents(org_id));
    view! {
        <div class="space-y-6">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, telephony.title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, telephony.intro)}</p>
            </div>
            <Transition fallback=|| view! { <Skeleton lines=6/> }>
                {move || settings.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(s) => {
                        let outbound: Vec<Trunk> = trunks.get().and_then(|r| r.ok()).unwrap_or_default()
                            .into_iter().filter(|t| t.direction == TrunkDirection::Outbound).collect();
                        view! {
                            <ProjectCard org_id s=s.clone() save test/>
                            <DefaultsCard org_id s outbound save/>
                        }.into_any()
                    }
                })}
            </Transition>
            <super::recordings::RecordingsCard org_id/>
            <Card>
                <h2 class="mb-3 font-semibold">{t!(i18n, telephony.trunks)}</h2>
                <Transition fallback=|| view! { <Skeleton lines=3/> }>
                    {move || trunks.get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-500" data-testid="trunks-empty">{t!(i18n, telephony.no_trunks)}</p> }.into_any(),
                        Ok(list) => view! { <TrunkList org_id list delete/> }.into_any(),
                    })}
                </Transition>
                <NewTrunkForm org_id create agents=Signal::derive(move || agents.get().and_then(|r| r.ok()).unwrap_or_default())/>
            </Card>
        </div>
    }
    .into_any()
}

#[component]
fn ProjectCard(
    org_id: Uuid,
    s: TelephonySettings,
    save: ServerAction<SaveTelephony>,
    test: ServerAction<TestTelephony>,
) -> impl IntoView {
    let i18n = use_i18n();
    let url = RwSignal::new(s.livekit_url.clone().unwrap_or_default());
    let key = RwSignal::new(s.livekit_api_key.clone().unwrap_or_default());
    let secret = RwSignal::new(String::new());
    let error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let own = s.livekit_url.is_some();
    let hint = s.livekit_secret_hint.clone();
    let last = test.value().get_untracked().and_then(|r| r.ok()).or(s.last_test.clone());
    let test_error =
        Signal::derive(move || test.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    let submit = move |_| {
        let secret = secret.get_untracked();
        save.dispatch(SaveTelephony {
            org_id,
            change: TelephonyChange {
                livekit_url: Some(url.get_untracked()),
                livekit_api_key: Some(key.get_untracked()),
                // Left empty: the stored secret stays.
                livekit_api_secret: (!secret.is_empty()).then_some(secret),
                ..Default::default()
            },
        });
    };
    view! {
        <Card>
            <h2 class="mb-1 font-semibold">{t!(i18n, telephony.project)}</h2>
            <p class="mb-3 text-sm text-slate-500" data-testid="telephony-project-source">
                {if own {
                    t!(i18n, telephony.project_own).into_any()
                } else if s.server_default {
                    t!(i18n, telephony.project_server).into_any()
                } else {
                    t!(i18n, telephony.project_none).into_any()
                }}
            </p>
            <div class="grid gap-3 sm:grid-cols-3">
                <Input id="lk-url" name="livekit_url" label=Signal::derive(move || t_string!(i18n, telephony.url).to_string()) value=url
                    error=field_error(error, "livekit_url")/>
                <Input id="lk-key" name="livekit_api_key" label=Signal::derive(move || t_string!(i18n, telephony.api_key).to_string()) value=key
                    error=field_error(error, "livekit_api_key") autocomplete="off"/>
                <Input id="lk-secret" name="livekit_api_secret" kind="password" autocomplete="new-password"
                    label=Signal::derive(move || t_string!(i18n, telephony.api_secret).to_string()) value=secret
                    error=field_error(error, "livekit_api_secret")
                    hint=Signal::derive(move || hint.clone().map(|h| t_string!(i18n, telephony.secret_hint, hint = h.clone()).to_string()).unwrap_or_default())/>
            </div>
            <FormError message=Signal::derive(move || error.get().filter(|e| e.field.is_none()).map(|e| describe(i18n, &e)))/>
            <div class="mt-3 flex flex-wrap items-center gap-3">
                <Button busy=save.pending() attr:data-testid="telephony-save" on:click=submit>{t!(i18n, common.save)}</Button>
                <Button variant=ButtonVariant::Secondary busy=test.pending() attr:data-testid="telephony-test"
                    on:click=move |_| { test.dispatch(TestTelephony { org_id }); }>{t!(i18n, telephony.test)}</Button>
                <LastTest last testid="telephony-last-test" ok_label=Signal::derive(move || t_string!(i18n, telephony.test_ok).to_string())/>
                <FormError message=test_error/>
            </div>
        </Card>
    }
}

#[component]
fn DefaultsCard(
    org_id: Uuid,
    s: TelephonySettings,
    outbound: Vec<Trunk>,
    save: ServerAction<SaveTelephony>,
) -> impl IntoView {
    let i18n = use_i18n();
    let trunk = RwSignal::new(s.default_trunk_id.map(|t| t.to_string()).unwrap_or_default());
    let number = RwSignal::new(s.default_caller_number.clone().unwrap_or_default());
    let error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let options: Vec<(String, String)> = std::iter::once((String::new(), "—".to_string()))
        .chain(
            outbound
                .into_iter()
                .map(|t| (t.id.to_string(), format!("{} ({})", t.name, t.numbers.join(", ")))),
        )
        .collect();
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t!(i18n, telephony.defaults)}</h2>
            <div class="grid gap-3 sm:grid-cols-2">
                <crate::ui::Select id="default-trunk" name="default_trunk_id" label=Signal::derive(move || t_string!(i18n, telephony.default_trunk).to_string())
                    options=Signal::stored(options) value=trunk error=field_error(error, "default_trunk_id")/>
                <Input id="default-number" name="default_caller_number" label=Signal::derive(move || t_string!(i18n, telephony.default_number).to_string())
                    value=number error=field_error(error, "default_caller_number")/>
            </div>
            <div class="mt-3">
                <Button busy=save.pending() attr:data-testid="telephony-save-defaults"
                    on:click=move |_| { save.dispatch(SaveTelephony { org_id, change: TelephonyChange {
                        default_trunk_id: Some(trunk.get_untracked()),
                        default_caller_number: Some(number.get_untracked()),
                        ..Default::default()
                    } }); }>{t!(i18n, common.save)}</Button>
            </div>
        </Card>
    }
}

#[component]
fn TrunkList(org_id: Uuid, list: Vec<Trunk>, delete: ServerAction<DeleteTrunk>) -> impl IntoView {
    let i18n = use_i18n();
    let confirming = RwSignal::new(None::<Uuid>);
    view! {
        <ul class="mb-4 divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="trunks">
            {list.into_iter().map(|t| {
                let id = t.id;
                let inbound = t.direction == TrunkDirection::Inbound;
                view! {
                    <li class="flex flex-wrap items-center justify-between gap-2 py-2" data-testid="trunk">
                        <div>
                            <span class="font-medium">{t.name.clone()}</span>
                            <span class="ml-2 text-xs text-slate-500">
                                {move || if inbound { t_string!(i18n, telephony.inbound) } else { t_string!(i18n, telephony.outbound) }}
                            </span>
                            {t.is_default.then(|| view! { <span class="ml-2"><Badge tone=Tone::Info>{t!(i18n, telephony.default)}</Badge></span> })}
                            <p class="font-mono text-xs text-slate-500">{format!("{} {}", t.address, t.numbers.join(", "))}</p>
                        </div>
                        <Show when=move || confirming.get() == Some(id)
                            fallback=move || view! {
                                <Button variant=ButtonVariant::DangerGhost attr:data-testid="trunk-delete" on:click=move |_| confirming.set(Some(id))>{t!(i18n, common.delete)}</Button>
                            }>
                            <span class="flex items-center gap-2">
                                <span>{t!(i18n, telephony.confirm_delete)}</span>
                                <Button variant=ButtonVariant::Danger busy=delete.pending() attr:data-testid="trunk-delete-confirm"
                                    on:click=move |_| { delete.dispatch(DeleteTrunk { org_id, trunk_id: id }); confirming.set(None); }>{t!(i18n, common.confirm)}</Button>
                                <Button variant=ButtonVariant::Ghost on:click=move |_| confirming.set(None)>{t!(i18n, common.cancel)}</Button>
                            </span>
                        </Show>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn NewTrunkForm(
    org_id: Uuid,
    create: ServerAction<CreateTrunk>,
    #[prop(into)] agents: Signal<Vec<(Uuid, String)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let direction = RwSignal::new("outbound".to_string());
    let name = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let numbers = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    // Created: the form empties.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            for s in [name, address, numbers, user, password] {
                s.set(String::new());
            }
        }
    });
    let inbound = move || direction.get() == "inbound";
    let submit = move |_| {
        let inbound = direction.get_untracked() == "inbound";
        let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        create.dispatch(CreateTrunk {
            org_id,
            trunk: NewTrunk {
                direction: Some(if inbound { TrunkDirection::Inbound } else { TrunkDirection::Outbound }),
                name: name.get_untracked(),
                address: if inbound { String::new() } else { address.get_untracked() },
                numbers: numbers
                    .get_untracked()
                    .split([',', '\n', ';'])
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect(),
                auth_username: if inbound { None } else { opt(user) },
                auth_password: if inbound { None } else { opt(password) },
                agent_id: if inbound { agent.get_untracked().parse().ok() } else { None },
            },
        });
    };
    view! {
        <div class="space-y-3 border-t border-slate-100 pt-4 dark:border-slate-800" data-testid="trunk-form">
            <h3 class="text-sm font-semibold">{t!(i18n, telephony.new_trunk)}</h3>
            <div class="grid gap-3 sm:grid-cols-3">
                <label class="text-sm">
                    <span class="mb-1 block text-slate-500">{t!(i18n, telephony.direction)}</span>
                    <select class=CONTROL data-testid="trunk-direction" on:change=move |ev| direction.set(event_target_value(&ev))>
                        <option value="outbound">{t!(i18n, telephony.outbound)}</option>
                        <option value="inbound">{t!(i18n, telephony.inbound)}</option>
                    </select>
                </label>
                <Input id="trunk-name" name="name" label=Signal::derive(move || t_string!(i18n, telephony.trunk_name).to_string()) value=name error=field_error(error, "name")/>
                <Input id="trunk-numbers" name="numbers" label=Signal::derive(move || t_string!(i18n, telephony.numbers).to_string()) value=numbers
                    error=field_error(error, "numbers") hint=Signal::derive(move || t_string!(i18n, telephony.numbers_hint).to_string())/>
            </div>
            <Show when=move || !inbound()
                fallback=move || view! {
                    <label class="block text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, telephony.answering_agent)}</span>
                        <select class=CONTROL data-testid="trunk-agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                            <option value="">"—"</option>
                            {move || agents.get().into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                        </select>
                        <FormError message=field_error(error, "agent_id")/>
                    </label>
                }>
                <div class="grid gap-3 sm:grid-cols-3">
                    <Input id="trunk-address" name="address" label=Signal::derive(move || t_string!(i18n, telephony.address).to_string()) value=address
                        error=field_error(error, "address") hint=Signal::derive(move || t_string!(i18n, telephony.address_hint).to_string())/>
                    <Input id="trunk-user" name="auth_username" label=Signal::derive(move || t_string!(i18n, telephony.auth_user).to_string()) value=user autocomplete="off"/>
                    <Input id="trunk-password" name="auth_password" kind="password" autocomplete="new-password"
                        label=Signal::derive(move || t_string!(i18n, telephony.auth_password).to_string()) value=password/>
                </div>
            </Show>
            <FormError message=Signal::derive(move || error.get().filter(|e| e.field.is_none()).map(|e| describe(i18n, &e)))/>
            <Button busy=create.pending() attr:data-testid="trunk-create" on:click=submit>{t!(i18n, common.create)}</Button>
        </div>
    }
}

/// The stored result of the last check: passed (with its latency) or the
/// failure's code in words, and when.
#[component]
pub(super) fn LastTest(
    last: Option<ConnectionTest>,
    testid: &'static str,
    #[prop(into)] ok_label: Signal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    view! {
        <span data-testid=testid class="text-sm">
            {last.map(|l| {
                let at = l.at;
                view! {
                    {if l.ok {
                        view! { <Badge tone=Tone::Success>{move || ok_label.get()}</Badge> }.into_any()
                    } else {
                        let code = l.code;
                        view! { <Badge tone=Tone::Danger>{move || code.map(|c| describe(i18n, &crate::AppError::new(c))).unwrap_or_else(|| t_string!(i18n, telephony.test_failed).to_string())}</Badge> }.into_any()
                    }}
                    {l.latency_ms.map(|ms| format!(" {ms} ms"))}
                    <span class="ml-2 text-xs text-slate-500">{move || crate::format::datetime(locale.get(), at)}</span>
                }
            })}
        </span>
    }
}
