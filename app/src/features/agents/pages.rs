//! The agents list: folders on the left, search and filters on top, one row
//! per agent with its state and actions.

use domain::agent::AgentKind;
use domain::views::{AgentFilter, AgentSummary, Folder, FolderFilter};
use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use super::api::{
    CreateFolder, DeleteAgent, DeleteFolder, DuplicateAgent, MoveAgent, RenameFolder, SetAgentActive,
};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{
    toast_result, Badge, Button, ButtonVariant, Card, Dialog, EmptyState, FormError, Skeleton, Tone,
};

pub fn kind_label(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>, kind: AgentKind) -> String {
    match kind {
        AgentKind::Chat => t_string!(i18n, agents.kind_chat).to_string(),
        AgentKind::Voice => t_string!(i18n, agents.kind_voice).to_string(),
    }
}

#[component]
pub fn AgentsPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_manage = org.role.allows(Permission::ManageAgents);

    let search = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let active = RwSignal::new(String::new());
    let folder = RwSignal::new(FolderFilter::Any);

    let create_folder = ServerAction::<CreateFolder>::new();
    let rename_folder = ServerAction::<RenameFolder>::new();
    let delete_folder = ServerAction::<DeleteFolder>::new();
    let set_active = ServerAction::<SetAgentActive>::new();
    let move_agent = ServerAction::<MoveAgent>::new();
    let duplicate = ServerAction::<DuplicateAgent>::new();
    let delete_agent = ServerAction::<DeleteAgent>::new();
    toast_result(create_folder, move || None);
    toast_result(rename_folder, move || None);
    toast_result(delete_folder, move || Some(t_string!(i18n, agents.folder_deleted).to_string()));
    toast_result(set_active, move || None);
    toast_result(move_agent, move || Some(t_string!(i18n, agents.moved).to_string()));
    toast_result(duplicate, move || Some(t_string!(i18n, agents.duplicated).to_string()));
    toast_result(delete_agent, move || Some(t_string!(i18n, agents.deleted).to_string()));

    let changes = move || {
        (
            create_folder.version().get(),
            rename_folder.version().get(),
            delete_folder.version().get(),
            set_active.version().get(),
            move_agent.version().get(),
            duplicate.version().get(),
            delete_agent.version().get(),
        )
    };
    let folders = Resource::new(changes, move |_| super::api::list_folders(org_id));
    let filter = Signal::derive(move || AgentFilter {
        search: search.get(),
        kind: AgentKind::parse(&kind.get()),
        folder: folder.get(),
        active: match active.get().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    });
    let agents =
        Resource::new(move || (filter.get(), changes()), move |(f, _)| super::api::list_agents(org_id, f));
    // A folder deleted while selected: fall back to "all".
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete_folder.value().get() {
            folder.set(FolderFilter::Any);
        }
    });

    let new_folder_name = RwSignal::new(String::new());
    let folder_err =
        Signal::derive(move || create_folder.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    Effect::new(move |_| {
        if let Some(Ok(f)) = create_folder.value().get() {
            new_folder_name.set(String::new());
            folder.set(FolderFilter::Folder(f.id));
        }
    });

    let pending_delete = RwSignal::new(None::<AgentSummary>);
    let delete_open = RwSignal::new(false);
    let pending_folder = RwSignal::new(None::<Folder>);
    let folder_delete_open = RwSignal::new(false);
    let rename_open = RwSignal::new(false);
    let rename_value = RwSignal::new(String::new());

    let folder_button = move |target: FolderFilter,
                              label: Signal<String>,
                              count: Option<u64>,
                              testid: String| {
        view! {
            <button type="button" data-testid=testid
                class=move || format!("flex w-full items-center justify-between rounded-md px-3 py-2 text-left text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 {}",
                    if folder.get() == target { "bg-indigo-50 font-semibold text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300" } else { "hover:bg-slate-100 dark:hover:bg-slate-800" })
                aria-pressed=move || (folder.get() == target).to_string()
                on:click=move |_| folder.set(target)>
                <span class="truncate">{move || label.get()}</span>
                {count.map(|c| view! { <span class="ml-2 text-xs text-slate-400">{c}</span> })}
            </button>
        }
    };

    view! {
        <div class="space-y-6">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h1 class="text-2xl font-bold">{t!(i18n, agents.title)}</h1>
                {can_manage.then(|| view! {
                    <A href=move || match folder.get() { FolderFilter::Folder(id) => format!("/app/agents/new?folder={id}"), _ => "/app/agents/new".to_string() }
                        attr:data-testid="new-agent"
                        attr:class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                        {t!(i18n, agents.new_agent)}
                    </A>
                })}
            </div>
            <div class="grid gap-6 md:grid-cols-[14rem_1fr]">
                <nav class="space-y-1" aria-label=move || t_string!(i18n, agents.folders).to_string() data-testid="folders">
                    <h2 class="px-3 text-xs font-semibold uppercase tracking-wide text-slate-500">{t!(i18n, agents.folders)}</h2>
                    {folder_button(FolderFilter::Any, Signal::derive(move || t_string!(i18n, agents.all_agents).to_string()), None, "folder-all".into())}
                    {folder_button(FolderFilter::Root, Signal::derive(move || t_string!(i18n, agents.no_folder).to_string()), None, "folder-root".into())}
                    <Suspense fallback=|| view! { <Skeleton lines=2/> }>
                        {move || folders.get().map(|r| match r {
                            Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                            Ok(list) => list.into_iter().map(|f| {
                                let name = f.name.clone();
                                let f2 = f.clone();
                                let f3 = f.clone();
                                view! {
                                    <div class="group flex items-center gap-1">
                                        <div class="min-w-0 flex-1">{folder_button(FolderFilter::Folder(f.id), Signal::derive(move || name.clone()), Some(f.agent_count), format!("folder-{}", f.name))}</div>
                                        {can_manage.then(|| view! {
                                            <button type="button" class="rounded p-1 text-xs text-slate-400 hover:text-slate-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                                aria-label=move || t_string!(i18n, agents.rename_folder).to_string()
                                                on:click=move |_| { rename_value.set(f2.name.clone()); pending_folder.set(Some(f2.clone())); rename_open.set(true); }>"✎"</button>
                                            <button type="button" class="rounded p-1 text-xs text-slate-400 hover:text-red-600 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                                aria-label=move || t_string!(i18n, agents.delete_folder).to_string()
                                                data-testid=format!("delete-folder-{}", f3.name)
                                                on:click=move |_| { pending_folder.set(Some(f3.clone())); folder_delete_open.set(true); }>"✕"</button>
                                        })}
                                    </div>
                                }
                            }).collect_view().into_any(),
                        })}
                    </Suspense>
                    {can_manage.then(|| view! {
                        <form class="mt-3 space-y-2 px-1" data-testid="new-folder-form" on:submit=move |ev| {
                            ev.prevent_default();
                            create_folder.dispatch(CreateFolder { org_id, name: new_folder_name.get_untracked() });
                        }>
                            <label for="new-folder" class="sr-only">{t!(i18n, agents.new_folder)}</label>
                            <input id="new-folder" data-testid="new-folder-name" placeholder=move || t_string!(i18n, agents.new_folder).to_string()
                                class="block w-full rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                                prop:value=move || new_folder_name.get() on:input=move |ev| new_folder_name.set(event_target_value(&ev))/>
                            <FormError message=folder_err/>
                        </form>
                    })}
                </nav>
                <div class="min-w-0 space-y-4">
                    <div class="flex flex-wrap gap-2" role="search">
                        <label for="agent-search" class="sr-only">{t!(i18n, agents.search)}</label>
                        <input id="agent-search" type="search" data-testid="agent-search" placeholder=move || t_string!(i18n, agents.search).to_string()
                            class="min-w-[12rem] flex-1 rounded-md border-0 bg-white px-3 py-2 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                            prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
                        <select aria-label=move || t_string!(i18n, agents.filter_kind).to_string() data-testid="filter-kind"
                            class="rounded-md border-0 bg-white py-2 pl-3 pr-8 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600"
                            on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="">{t!(i18n, agents.all_kinds)}</option>
                            <option value="chat">{t!(i18n, agents.kind_chat)}</option>
                            <option value="voice">{t!(i18n, agents.kind_voice)}</option>
                        </select>
                        <select aria-label=move || t_string!(i18n, agents.filter_active).to_string() data-testid="filter-active"
                            class="rounded-md border-0 bg-white py-2 pl-3 pr-8 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600"
                            on:change=move |ev| active.set(event_target_value(&ev))>
                            <option value="">{t!(i18n, agents.all_states)}</option>
                            <option value="true">{t!(i18n, agents.active)}</option>
                            <option value="false">{t!(i18n, agents.inactive)}</option>
                        </select>
                    </div>
                    <Transition fallback=|| view! { <Skeleton lines=4/> }>
                        {move || {
                            let folder_list = folders.get().and_then(|r| r.ok()).unwrap_or_default();
                            agents.get().map(|r| match r {
                                Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                                Ok(list) if list.is_empty() => view! {
                                    <EmptyState title=Signal::derive(move || t_string!(i18n, agents.empty_title).to_string()) body=Signal::derive(move || t_string!(i18n, agents.empty_body).to_string())/>
                                }.into_any(),
                                Ok(list) => view! {
                                    <ul class="space-y-3" data-testid="agent-list">
                                        {list.into_iter().map(|a| view! {
                                            <AgentRow agent=a folders=folder_list.clone() org_id can_manage set_active move_agent duplicate
                                                on_delete=Callback::new(move |a: AgentSummary| { pending_delete.set(Some(a)); delete_open.set(true); })/>
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                            })
                        }}
                    </Transition>
                </div>
            </div>
            <Dialog open=delete_open title=Signal::derive(move || t_string!(i18n, agents.delete_title).to_string())>
                {move || pending_delete.get().map(|a| {
                    let agent_id = a.id;
                    view! {
                        <p class="mb-4 text-sm">{t!(i18n, agents.delete_body, name = a.name.clone())}</p>
                        <div class="flex justify-end gap-2">
                            <Button variant=ButtonVariant::Secondary on:click=move |_| delete_open.set(false)>{t!(i18n, common.cancel)}</Button>
                            <Button variant=ButtonVariant::Danger attr:data-testid="confirm-delete-agent" on:click=move |_| { delete_agent.dispatch(DeleteAgent { org_id, agent_id }); delete_open.set(false); }>{t!(i18n, agents.delete)}</Button>
                        </div>
                    }
                })}
            </Dialog>
            <Dialog open=folder_delete_open title=Signal::derive(move || t_string!(i18n, agents.delete_folder).to_string())>
                {move || pending_folder.get().map(|f| {
                    let folder_id = f.id;
                    view! {
                        <p class="mb-4 text-sm">{t!(i18n, agents.delete_folder_body, name = f.name.clone(), count = f.agent_count)}</p>
                        <div class="flex justify-end gap-2">
                            <Button variant=ButtonVariant::Secondary on:click=move |_| folder_delete_open.set(false)>{t!(i18n, common.cancel)}</Button>
                            <Button variant=ButtonVariant::Danger attr:data-testid="confirm-delete-folder" on:click=move |_| { delete_folder.dispatch(DeleteFolder { org_id, folder_id }); folder_delete_open.set(false); }>{t!(i18n, agents.delete)}</Button>
                        </div>
                    }
                })}
            </Dialog>
            <Dialog open=rename_open title=Signal::derive(move || t_string!(i18n, agents.rename_folder).to_string())>
                {move || pending_folder.get().map(|f| {
                    let folder_id = f.id;
                    view! {
                        <form class="space-y-4" on:submit=move |ev| {
                            ev.prevent_default();
                            rename_folder.dispatch(RenameFolder { org_id, folder_id, name: rename_value.get_untracked() });
                            rename_open.set(false);
                        }>
                            <label for="rename-folder" class="sr-only">{t!(i18n, agents.rename_folder)}</label>
                            <input id="rename-folder" data-testid="rename-folder-input" class="block w-full rounded-md border-0 px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800"
                                prop:value=move || rename_value.get() on:input=move |ev| rename_value.set(event_target_value(&ev))/>
                            <div class="flex justify-end gap-2">
                                <Button variant=ButtonVariant::Secondary on:click=move |_| rename_open.set(false)>{t!(i18n, common.cancel)}</Button>
                                <Button submit=true>{t!(i18n, common.save)}</Button>
                            </div>
                        </form>
                    }
                })}
            </Dialog>
        </div>
    }
    .into_any()
}

#[component]
fn AgentRow(
    agent: AgentSummary,
    folders: Vec<Folder>,
    org_id: Uuid,
    can_manage: bool,
    set_active: ServerAction<SetAgentActive>,
    move_agent: ServerAction<MoveAgent>,
    duplicate: ServerAction<DuplicateAgent>,
    on_delete: Callback<AgentSummary>,
) -> impl IntoView {
    let i18n = use_i18n();
    let agent_id = agent.id;
    let is_active = agent.active;
    let current_folder = agent.folder_id.map(|f| f.to_string()).unwrap_or_default();
    let kind = agent.kind;
    let name = agent.name.clone();
    let description = agent.description.clone();
    let meta = format!("{} · {} · {}", agent.llm_provider, agent.llm_model, agent.language);
    let row_id = format!("agent-{name}");
    let a2 = agent.clone();
    view! {
        <li data-testid=row_id>
            <Card>
                <div class="flex flex-wrap items-start gap-4">
                    <div class="min-w-0 flex-1">
                        <div class="flex flex-wrap items-center gap-2">
                            <A href=format!("/app/agents/{agent_id}") attr:class="font-semibold text-indigo-700 hover:underline dark:text-indigo-300">{name.clone()}</A>
                            <Badge tone=if kind == AgentKind::Voice { Tone::Info } else { Tone::Neutral }>{move || kind_label(i18n, kind)}</Badge>
                            {(!is_active).then(|| view! { <Badge tone=Tone::Warning>{t!(i18n, agents.inactive)}</Badge> })}
                        </div>
                        <p class="mt-1 truncate text-sm text-slate-500 dark:text-slate-400">{description}</p>
                        <p class="mt-1 text-xs text-slate-400">{meta}</p>
                    </div>
                    <div class="flex flex-wrap items-center gap-2">
                        {can_manage.then(|| {
                            let folders = folders.clone();
                            view! {
                                <label class="flex items-center gap-2 text-sm">
                                    <input type="checkbox" role="switch" data-testid=format!("active-{}", a2.name) class="h-4 w-4"
                                        prop:checked=is_active
                                        on:change=move |ev| { set_active.dispatch(SetAgentActive { org_id, agent_id, active: event_target_checked(&ev) }); }/>
                                    {t!(i18n, agents.active)}
                                </label>
                                <select aria-label=move || t_string!(i18n, agents.move_to).to_string() data-testid=format!("move-{}", a2.name)
                                    class="rounded-md border-0 bg-white py-1 pl-2 pr-8 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600"
                                    on:change=move |ev| {
                                        let v = event_target_value(&ev);
                                        move_agent.dispatch(MoveAgent { org_id, agent_id, folder_id: v.parse().ok() });
                                    }>
                                    <option value="" selected=current_folder.is_empty()>{t!(i18n, agents.no_folder)}</option>
                                    {folders.into_iter().map(|f| {
                                        let sel = f.id.to_string() == current_folder;
                                        view! { <option value=f.id.to_string() selected=sel>{f.name}</option> }
                                    }).collect_view()}
                                </select>
                            }
                        })}
                        <A href=format!("/app/agents/{agent_id}/playground") attr:data-testid=format!("playground-{}", a2.name)
                            attr:class="rounded-md px-3 py-1.5 text-sm font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50 dark:text-indigo-300 dark:ring-indigo-900">
                            {t!(i18n, agents.open_playground)}
                        </A>
                        {can_manage.then(|| view! {
                            <Button variant=ButtonVariant::Secondary attr:data-testid=format!("duplicate-{}", a2.name) on:click=move |_| { duplicate.dispatch(DuplicateAgent { org_id, agent_id }); }>{t!(i18n, agents.duplicate)}</Button>
                            <Button variant=ButtonVariant::DangerGhost attr:data-testid=format!("delete-{}", a2.name) on:click={
                                let a = a2.clone();
                                move |_| on_delete.run(a.clone())
                            }>{t!(i18n, agents.delete)}</Button>
                        })}
                    </div>
                </div>
            </Card>
        </li>
    }
}
