//! The prospect list: search, filters, sorting, server-side pagination,
//! column chooser, saved views, and bulk actions on a selection or on every
//! row the filter matches (delete can be undone for 30 seconds).

use std::collections::BTreeSet;

use domain::prospect::{
    BulkAction, ListQuery, ProspectFilter, ProspectInput, ProspectRow, ProspectStatus, SavedViewInput,
    Selection, SortKey, COLUMNS,
};
use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use super::api::{BulkProspects, CreateProspect, DeleteView, SaveView, UndoDelete};
use super::labels::{column_label, status_label};
use crate::features::agents::pages::toast_result;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::shell::use_current_org;
use crate::ui::{
    use_toasts, Badge, Button, ButtonVariant, Dialog, EmptyState, FormError, Skeleton, ToastKind, Tone,
};

const CONTROL: &str = "rounded-md border-0 bg-white py-2 pl-3 pr-8 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";
const DEFAULT_COLUMNS: &[&str] = &["name", "company", "phone", "email", "status", "owner", "tags"];

#[component]
pub fn ProspectsPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let toasts = use_toasts();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_export = org.role.allows(Permission::ExportProspects);
    let can_delete = org.role.allows(Permission::DeleteProspects);

    // ---- query state ----
    // The list's state lives in the URL too: a reload, Back from a prospect
    // or a shared link shows the same list.
    let url = leptos_router::hooks::use_query_map().get_untracked();
    let from_url = |k: &str| url.get(k).unwrap_or_default();
    let search = RwSignal::new(from_url("q"));
    // What is in the search box; `search` follows it once typing pauses, so
    // a word typed is one query, not one per keystroke.
    let search_box = RwSignal::new(search.get_untracked());
    let on_search_input = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        search_box.set(typed.clone());
        set_timeout(
            move || {
                if search_box.get_untracked() == typed {
                    search.set(typed);
                }
            },
            std::time::Duration::from_millis(250),
        );
    };
    let status = RwSignal::new(from_url("status"));
    let tag = RwSignal::new(from_url("tag"));
    let owner = RwSignal::new(from_url("owner"));
    let (url_key, url_value) =
        from_url("custom").split_once(':').map(|(k, v)| (k.to_string(), v.to_string())).unwrap_or_default();
    let custom_key = RwSignal::new(url_key);
    let custom_value = RwSignal::new(url_value);
    let url_sort = SortKey::parse(&from_url("sort"));
    let sort = RwSignal::new(url_sort.unwrap_or(SortKey::CreatedAt));
    let descending = RwSignal::new(match from_url("desc").as_str() {
        "true" => true,
        "false" => false,
        _ => url_sort.is_none_or(|k| matches!(k, SortKey::CreatedAt | SortKey::UpdatedAt)),
    });
    let page = RwSignal::new(from_url("page").parse::<u64>().unwrap_or(1).max(1));
    let per_page = RwSignal::new(
        from_url("per_page").parse::<u64>().ok().filter(|n| [25, 50, 100, 200].contains(n)).unwrap_or(50),
    );
    let columns = RwSignal::new(DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>());

    let filter = Memo::new(move |_| ProspectFilter {
        search: search.get(),
        status: ProspectStatus::parse(&status.get())
            .filter(|_| !status.get().is_empty())
            .into_iter()
            .collect(),
        tag: Some(tag.get()).filter(|t| !t.is_empty()),
        owner: match owner.get().as_str() {
            "" => None,
            "none" => Some(None),
            id => id.parse::<Uuid>().ok().map(Some),
        },
        custom: (!custom_key.get().is_empty() && !custom_value.get().trim().is_empty())
            .then(|| (custom_key.get(), custom_value.get())),
        do_not_call: None,
    });
    let query = Memo::new(move |_| ListQuery {
        filter: filter.get(),
        sort: sort.get(),
        descending: descending.get(),
        page: page.get(),
        per_page: per_page.get(),
    });
    // A new filter starts from the first page.
    Effect::new(move |prev: Option<ProspectFilter>| {
        let f = filter.get();
        if prev.is_some_and(|p| p != f) {
            page.set(1);
        }
        f
    });
    // …and the URL follows the list (replacing the entry: one Back leaves the list).
    let navigate = leptos_router::hooks::use_navigate();
    let location = leptos_router::hooks::use_location();
    Effect::new(move |prev: Option<String>| {
        let q = query.get();
        let mut params = filter_params(&q.filter);
        if q.sort != SortKey::CreatedAt || !q.descending {
            params.push(("sort".into(), q.sort.as_str().into()));
            params.push(("desc".into(), q.descending.to_string()));
        }
        if q.page() > 1 {
            params.push(("page".into(), q.page().to_string()));
        }
        if q.per_page() != 50 {
            params.push(("per_page".into(), q.per_page().to_string()));
        }
        let qs = query_string(&params);
        // Only while the list is on screen: a search that settles after the
        // user opened a prospect must not pull them back to the list.
        let on_list = location.pathname.get_untracked().trim_end_matches('/') == "/app/prospects";
        if on_list && prev.as_ref().is_some_and(|p| *p != qs) {
            let to =
                if qs.is_empty() { "/app/prospects".to_string() } else { format!("/app/prospects?{qs}") };
            navigate(
                &to,
                leptos_router::NavigateOptions { replace: true, scroll: false, ..Default::default() },
            );
        }
        qs
    });

    // ---- actions ----
    let bulk = ServerAction::<BulkProspects>::new();
    let undo = ServerAction::<UndoDelete>::new();
    let create = ServerAction::<CreateProspect>::new();
    let save_view = ServerAction::<SaveView>::new();
    let delete_view = ServerAction::<DeleteView>::new();
    toast_result(undo, move || Some(t_string!(i18n, prospects.restored).to_string()));
    toast_result(save_view, move || Some(t_string!(i18n, common.saved).to_string()));
    toast_result(delete_view, move || None);
    let last_undo = RwSignal::new(None::<Uuid>);
    Effect::new(move |_| match bulk.value().get() {
        Some(Ok(r)) => {
            if let Some(token) = r.undo_token {
                last_undo.set(Some(token));
                // The server refuses the undo after the window: so does the page.
                set_timeout(
                    move || {
                        if last_undo.get_untracked() == Some(token) {
                            last_undo.set(None);
                        }
                    },
                    std::time::Duration::from_secs(domain::prospect::UNDO_SECONDS as u64),
                );
                toasts.push(
                    ToastKind::Success,
                    t_string!(i18n, prospects.deleted_undo, count = r.affected).to_string(),
                );
            } else {
                toasts.push(
                    ToastKind::Success,
                    t_string!(i18n, prospects.bulk_done, count = r.affected).to_string(),
                );
            }
        }
        Some(Err(e)) => toasts.push(ToastKind::Error, describe(i18n, &e)),
        None => {}
    });
    let changes = move || (bulk.version().get(), undo.version().get(), create.version().get());
    let rows =
        Resource::new(move || (query.get(), changes()), move |(q, _)| super::api::list_prospects(org_id, q));
    let fields = Resource::new(|| (), move |_| super::api::list_custom_fields(org_id));
    let tags = Resource::new(changes, move |_| super::api::list_tags(org_id));
    let owners = Resource::new(|| (), move |_| super::api::list_owners(org_id));
    let views = Resource::new(
        move || (save_view.version().get(), delete_view.version().get()),
        move |_| super::api::list_views(org_id),
    );

    // ---- selection ----
    let selected = RwSignal::new(BTreeSet::<Uuid>::new());
    let all_matching = RwSignal::new(false);
    Effect::new(move |_| {
        query.track();
        selected.set(BTreeSet::new());
        all_matching.set(false);
    });
    let selection = move || -> Selection {
        if all_matching.get_untracked() {
            Selection::Filter { filter: filter.get_untracked() }
        } else {
            Selection::Ids { ids: selected.get_untracked().into_iter().collect() }
        }
    };
    let run_bulk = move |action: BulkAction| {
        bulk.dispatch(BulkProspects { org_id, selection: selection(), action });
        selected.set(BTreeSet::new());
        all_matching.set(false);
    };
    // A change to *every* match of a filter can touch thousands of rows: it
    // is confirmed first, with the count. A change to ticked rows is not.
    let pending_bulk = RwSignal::new(None::<BulkAction>);
    let confirm_all = RwSignal::new(false);
    let request_bulk = move |action: BulkAction| {
        if all_matching.get_untracked() {
            pending_bulk.set(Some(action));
            confirm_all.set(true);
        } else {
            run_bulk(action);
        }
    };
    let bulk_status = RwSignal::new(String::new());
    let bulk_tag = RwSignal::new(String::new());
    let bulk_owner = RwSignal::new(String::new());
    let confirm_delete = RwSignal::new(false);
    let page_rows = move || rows.get().and_then(|r| r.ok()).map(|p| p.rows).unwrap_or_default();
    let total = move || rows.get().and_then(|r| r.ok()).map(|p| p.total).unwrap_or(0);
    // Counting stops at LIST_COUNT_CAP (SEARCH_COUNT_CAP for a broad search): "10,000+".
    let capped = move || rows.get().and_then(|r| r.ok()).is_some_and(|p| p.total_capped);
    let count_label = move |n: u64, capped: bool| {
        format!("{}{}", crate::format::integer(locale.get(), n as i64), if capped { "+" } else { "" })
    };
    let selected_count = move || if all_matching.get() { total() } else { selected.get().len() as u64 };
    let selected_label = move || count_label(selected_count(), all_matching.get() && capped());

    let toggle_sort = move |key: SortKey| {
        if sort.get_untracked() == key {
            descending.update(|d| *d = !*d);
        } else {
            sort.set(key);
            descending.set(matches!(key, SortKey::CreatedAt | SortKey::UpdatedAt));
        }
    };

    let export_href = move || {
        let params = filter_params(&filter.get());
        // The REST API names the search `search`; the page's URL says `q`.
        let params: Vec<(String, String)> =
            params.into_iter().map(|(k, v)| (if k == "q" { "search".into() } else { k }, v)).collect();
        format!("/api/v1/orgs/{org_id}/prospects/export.csv?{}", query_string(&params))
    };

    let view_name = RwSignal::new(String::new());
    let view_open = RwSignal::new(false);
    let columns_open = RwSignal::new(false);
    let new_open = RwSignal::new(false);

    // The saved view last applied: it can be deleted, or saved over by name.
    let active_view = RwSignal::new(None::<(Uuid, String)>);
    let apply_view = move |id: String| {
        if id.is_empty() {
            active_view.set(None);
            return;
        }
        let Some(v) = views
            .get_untracked()
            .and_then(|r| r.ok())
            .and_then(|l| l.into_iter().find(|v| v.id.to_string() == id))
        else {
            return;
        };
        per_page.set(v.query.per_page());
        let f = v.query.filter;
        search_box.set(f.search.clone());
        search.set(f.search);
        status.set(f.status.first().map(|s| s.as_str().to_string()).unwrap_or_default());
        tag.set(f.tag.unwrap_or_default());
        owner.set(match f.owner {
            Some(Some(id)) => id.to_string(),
            Some(None) => "none".into(),
            None => String::new(),
        });
        let (k, val) = f.custom.unwrap_or_default();
        custom_key.set(k);
        custom_value.set(val);
        sort.set(v.query.sort);
        descending.set(v.query.descending);
        columns.set(v.columns);
        page.set(1);
        active_view.set(Some((v.id, v.name)));
    };

    let header = move |col: &'static str| {
        let key = match col {
            "name" => Some(SortKey::LastName),
            "company" => Some(SortKey::Company),
            "status" => Some(SortKey::Status),
            "updated_at" => Some(SortKey::UpdatedAt),
            "title" => Some(SortKey::Title),
            "phone" => Some(SortKey::Phone),
            "email" => Some(SortKey::Email),
            "timezone" => Some(SortKey::Timezone),
            _ => None,
        };
        let label = move || column_label(i18n, col);
        match key {
            Some(k) => view! {
                <th scope="col" class="px-3 py-2 text-left font-semibold"
                    aria-sort=move || if sort.get() == k { if descending.get() { "descending" } else { "ascending" } } else { "none" }>
                    <button type="button" class="inline-flex items-center gap-1 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                        data-testid=format!("sort-{col}") on:click=move |_| toggle_sort(k)>
                        {label}
                        <span aria-hidden="true">{move || if sort.get() == k { if descending.get() { "▼" } else { "▲" } } else { "" }}</span>
                    </button>
                </th>
            }.into_any(),
            None => view! { <th scope="col" class="px-3 py-2 text-left font-semibold">{label}</th> }.into_any(),
        }
    };

    view! {
        <div class="space-y-4">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h1 class="text-2xl font-bold">{t!(i18n, prospects.title)}</h1>
                <div class="flex flex-wrap gap-2">
                    <Button variant=ButtonVariant::Secondary attr:data-testid="new-prospect" on:click=move |_| new_open.set(true)>{t!(i18n, prospects.new_prospect)}</Button>
                    <A href="/app/prospects/import" attr:data-testid="import-prospects"
                        attr:class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                        {t!(i18n, prospects.import)}
                    </A>
                    {can_export.then(|| view! {
                        <a href=export_href rel="external" download="" data-testid="export-prospects"
                            class="rounded-md bg-white px-3 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:ring-slate-600">
                            {t!(i18n, prospects.export)}
                        </a>
                    })}
                </div>
            </div>

            <div class="flex flex-wrap gap-2" role="search">
                <label for="prospect-search" class="sr-only">{t!(i18n, prospects.search)}</label>
                <input id="prospect-search" type="search" data-testid="prospect-search" placeholder=move || t_string!(i18n, prospects.search).to_string()
                    class="min-w-[14rem] flex-1 rounded-md border-0 bg-white px-3 py-2 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                    prop:value=move || search_box.get() on:input=on_search_input/>
                <select class=CONTROL data-testid="filter-status" aria-label=move || t_string!(i18n, prospects.col_status).to_string()
                    prop:value=move || status.get() on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, prospects.all_statuses)}</option>
                    {ProspectStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=move || status.get() == s.as_str()>{move || status_label(i18n, s)}</option> }).collect_view()}
                </select>
                <select class=CONTROL data-testid="filter-tag" aria-label=move || t_string!(i18n, prospects.col_tags).to_string()
                    prop:value=move || tag.get() on:change=move |ev| tag.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, prospects.all_tags)}</option>
                    <Transition fallback=|| ()>{move || tags.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(t, n)| {
                        let label = format!("{t} ({n})");
                        let chosen = t.clone();
                        view! { <option value=t selected=move || tag.get() == chosen>{label}</option> }
                    }).collect_view()}</Transition>
                </select>
                <select class=CONTROL data-testid="filter-owner" aria-label=move || t_string!(i18n, prospects.col_owner).to_string()
                    prop:value=move || owner.get() on:change=move |ev| owner.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, prospects.all_owners)}</option>
                    <option value="none" selected=move || owner.get() == "none">{t!(i18n, prospects.unassigned)}</option>
                    <Transition fallback=|| ()>{move || owners.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=move || owner.get() == id.to_string()>{name}</option>
                    }).collect_view()}</Transition>
                </select>
                <select class=CONTROL data-testid="filter-custom-key" aria-label=move || t_string!(i18n, prospects.custom_field).to_string()
                    prop:value=move || custom_key.get() on:change=move |ev| custom_key.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, prospects.any_field)}</option>
                    <Transition fallback=|| ()>{move || fields.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|f| view! {
                        <option value=f.def.key.clone()>{f.def.label.clone()}</option>
                    }).collect_view()}</Transition>
                </select>
                <Show when=move || !custom_key.get().is_empty()>
                    <input data-testid="filter-custom-value" aria-label=move || t_string!(i18n, prospects.value).to_string()
                        placeholder=move || t_string!(i18n, prospects.value).to_string()
                        class="w-40 rounded-md border-0 bg-white px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600"
                        prop:value=move || custom_value.get() on:change=move |ev| custom_value.set(event_target_value(&ev))/>
                </Show>
            </div>

            <div class="flex flex-wrap items-center gap-2 text-sm">
                <label for="saved-view" class="text-slate-500">{t!(i18n, prospects.views)}</label>
                <select id="saved-view" class=CONTROL data-testid="saved-views"
                    prop:value=move || active_view.get().map(|(id, _)| id.to_string()).unwrap_or_default()
                    on:change=move |ev| apply_view(event_target_value(&ev))>
                    <option value="">{t!(i18n, prospects.no_view)}</option>
                    <Transition fallback=|| ()>{move || views.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|v| view! {
                        <option value=v.id.to_string()>{v.name.clone()}</option>
                    }).collect_view()}</Transition>
                </select>
                <Button variant=ButtonVariant::Ghost attr:data-testid="save-view" on:click=move |_| {
                    if let Some((_, name)) = active_view.get_untracked() {
                        view_name.set(name);
                    }
                    view_open.set(true);
                }>{t!(i18n, prospects.save_view)}</Button>
                {move || active_view.get().map(|(view_id, _)| view! {
                    <Button variant=ButtonVariant::DangerGhost attr:data-testid="delete-active-view" on:click=move |_| {
                        delete_view.dispatch(DeleteView { org_id, view_id });
                        active_view.set(None);
                    }>{t!(i18n, prospects.delete_view)}</Button>
                })}
                <div class="relative">
                    <Button variant=ButtonVariant::Ghost attr:data-testid="columns-button" attr:aria-expanded=move || columns_open.get().to_string()
                        on:click=move |_| columns_open.update(|o| *o = !*o)>{t!(i18n, prospects.columns)}</Button>
                    <Show when=move || columns_open.get()>
                        <div class="absolute z-20 mt-1 w-48 rounded-md bg-white p-2 shadow-lg ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-700" data-testid="column-chooser">
                            {COLUMNS.iter().map(|c| {
                                let c = *c;
                                view! {
                                    <label class="flex items-center gap-2 px-1 py-1">
                                        <input type="checkbox" data-testid=format!("column-{c}") prop:checked=move || columns.get().iter().any(|x| x == c)
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                columns.update(|cols| {
                                                    cols.retain(|x| x != c);
                                                    if on { cols.push(c.to_string()); }
                                                    cols.sort_by_key(|x| COLUMNS.iter().position(|k| k == x));
                                                });
                                            }/>
                                        {move || column_label(i18n, c)}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                    </Show>
                </div>
            </div>

            <Show when=move || { selected_count() > 0 }>
                <div class="flex flex-wrap items-center gap-2 rounded-md bg-indigo-50 p-2 text-sm dark:bg-indigo-950" data-testid="bulk-bar">
                    <span class="font-semibold" data-testid="selected-count">{move || t_string!(i18n, prospects.selected, count = selected_label()).to_string()}</span>
                    <Show when=move || { !all_matching.get() && (selected.get().len() as u64) < total() }>
                        <button type="button" class="text-indigo-700 underline dark:text-indigo-300" data-testid="select-all-matching"
                            on:click=move |_| all_matching.set(true)>{move || t_string!(i18n, prospects.select_all_matching, count = count_label(total(), capped())).to_string()}</button>
                    </Show>
                    <select class=CONTROL data-testid="bulk-status" aria-label=move || t_string!(i18n, prospects.set_status).to_string()
                        prop:value=move || bulk_status.get()
                        on:change=move |ev| {
                            if let Some(s) = ProspectStatus::parse(&event_target_value(&ev)).filter(|_| !event_target_value(&ev).is_empty()) {
                                request_bulk(BulkAction::SetStatus { status: s });
                            }
                            bulk_status.set(String::new());
                        }>
                        <option value="">{t!(i18n, prospects.set_status)}</option>
                        {ProspectStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{move || status_label(i18n, s)}</option> }).collect_view()}
                    </select>
                    <input data-testid="bulk-tag" class="w-32 rounded-md border-0 bg-white px-2 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800"
                        aria-label=move || t_string!(i18n, prospects.tag).to_string() placeholder=move || t_string!(i18n, prospects.tag).to_string()
                        prop:value=move || bulk_tag.get() on:input=move |ev| bulk_tag.set(event_target_value(&ev))/>
                    <Button variant=ButtonVariant::Secondary attr:data-testid="bulk-add-tag" on:click=move |_| request_bulk(BulkAction::AddTag { tag: bulk_tag.get_untracked() })>{t!(i18n, prospects.add_tag)}</Button>
                    <Button variant=ButtonVariant::Secondary attr:data-testid="bulk-remove-tag" on:click=move |_| request_bulk(BulkAction::RemoveTag { tag: bulk_tag.get_untracked() })>{t!(i18n, prospects.remove_tag)}</Button>
                    <select class=CONTROL data-testid="bulk-owner" aria-label=move || t_string!(i18n, prospects.assign_owner).to_string()
                        prop:value=move || bulk_owner.get()
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if !v.is_empty() {
                                request_bulk(BulkAction::AssignOwner { owner_id: v.parse().ok() });
                            }
                            bulk_owner.set(String::new());
                        }>
                        <option value="">{t!(i18n, prospects.assign_owner)}</option>
                        <option value="none">{t!(i18n, prospects.unassigned)}</option>
                        <Transition fallback=|| ()>{move || owners.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, name)| view! {
                            <option value=id.to_string()>{name}</option>
                        }).collect_view()}</Transition>
                    </select>
                    {can_delete.then(|| view! {
                        <Button variant=ButtonVariant::Danger attr:data-testid="bulk-delete" on:click=move |_| confirm_delete.set(true)>{t!(i18n, prospects.delete)}</Button>
                    })}
                </div>
            </Show>
            <Show when=move || last_undo.get().is_some()>
                <div class="flex items-center gap-3 rounded-md bg-amber-50 p-2 text-sm dark:bg-amber-950" role="status">
                    <span>{t!(i18n, prospects.deleted_hint)}</span>
                    <Button variant=ButtonVariant::Secondary attr:data-testid="undo-delete" on:click=move |_| {
                        if let Some(token) = last_undo.get_untracked() { undo.dispatch(UndoDelete { org_id, token }); }
                        last_undo.set(None);
                    }>{t!(i18n, prospects.undo)}</Button>
                </div>
            </Show>

            <Transition fallback=|| view! { <Skeleton lines=6/> }>
                {move || rows.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(p) if p.rows.is_empty() => view! {
                        <EmptyState title=Signal::derive(move || t_string!(i18n, prospects.empty_title).to_string())
                            body=Signal::derive(move || t_string!(i18n, prospects.empty_body).to_string())/>
                    }.into_any(),
                    Ok(p) => {
                        let cols = columns.get();
                        let pages = p.total.div_ceil(p.per_page.max(1)).max(1);
                        let page_now = p.page;
                        let total_n = p.total;
                        let more = p.total_capped;
                        view! {
                            <div class="overflow-x-auto rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
                                <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-700" data-testid="prospect-table">
                                    <thead class="bg-slate-50 dark:bg-slate-800">
                                        <tr>
                                            <th scope="col" class="w-8 px-3 py-2">
                                                <input type="checkbox" data-testid="select-page" aria-label=move || t_string!(i18n, prospects.select_page).to_string()
                                                    prop:checked=move || { let ids = page_rows(); !ids.is_empty() && ids.iter().all(|r| selected.get().contains(&r.id)) }
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        all_matching.set(false);
                                                        selected.update(|s| for r in page_rows() { if on { s.insert(r.id); } else { s.remove(&r.id); } });
                                                    }/>
                                            </th>
                                            {cols.iter().map(|c| header(COLUMNS.iter().find(|k| *k == c).copied().unwrap_or("name"))).collect_view()}
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100 bg-white dark:divide-slate-800 dark:bg-slate-900">
                                        {p.rows.into_iter().map(|r| view! { <Row row=r columns=cols.clone() selected all_matching/> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="flex items-center justify-between text-sm" aria-label=move || t_string!(i18n, common.pagination).to_string()>
                                <span data-testid="page-info">{move || t_string!(i18n, prospects.page_of, page = page_now, pages = count_label(pages, more), total = count_label(total_n, more)).to_string()}</span>
                                <div class="flex items-center gap-2">
                                    <select class=CONTROL aria-label=move || t_string!(i18n, prospects.per_page).to_string()
                                        prop:value=move || per_page.get().to_string()
                                        on:change=move |ev| { per_page.set(event_target_value(&ev).parse().unwrap_or(50)); page.set(1); }>
                                        {[25u64, 50, 100, 200].into_iter().map(|n| view! { <option value=n.to_string()>{n}</option> }).collect_view()}
                                    </select>
                                    <Button variant=ButtonVariant::Secondary disabled=Signal::derive(move || { page_now <= 1 }) attr:data-testid="prev-page"
                                        on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>{t!(i18n, common.previous)}</Button>
                                    <Button variant=ButtonVariant::Secondary disabled=Signal::derive(move || { page_now >= pages && !more }) attr:data-testid="next-page"
                                        on:click=move |_| page.update(|p| *p += 1)>{t!(i18n, common.next)}</Button>
                                </div>
                            </nav>
                        }.into_any()
                    }
                })}
            </Transition>

            <Dialog open=confirm_delete title=Signal::derive(move || t_string!(i18n, prospects.delete_title).to_string())>
                <p class="mb-4 text-sm">{move || t_string!(i18n, prospects.delete_body, count = selected_label()).to_string()}</p>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| confirm_delete.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button variant=ButtonVariant::Danger attr:data-testid="confirm-bulk-delete" on:click=move |_| { run_bulk(BulkAction::Delete); confirm_delete.set(false); }>{t!(i18n, prospects.delete)}</Button>
                </div>
            </Dialog>
            <Dialog open=confirm_all title=Signal::derive(move || t_string!(i18n, prospects.confirm_all_title).to_string())>
                <p class="mb-4 text-sm" data-testid="confirm-all-body">{move || t_string!(i18n, prospects.confirm_all_body, count = selected_label()).to_string()}</p>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| { pending_bulk.set(None); confirm_all.set(false); }>{t!(i18n, common.cancel)}</Button>
                    <Button attr:data-testid="confirm-all" on:click=move |_| {
                        if let Some(action) = pending_bulk.get_untracked() {
                            run_bulk(action);
                        }
                        pending_bulk.set(None);
                        confirm_all.set(false);
                    }>{t!(i18n, common.confirm)}</Button>
                </div>
            </Dialog>
            <Dialog open=view_open title=Signal::derive(move || t_string!(i18n, prospects.save_view).to_string())>
                <form class="space-y-3" on:submit=move |ev| {
                    ev.prevent_default();
                    save_view.dispatch(SaveView { org_id, view: SavedViewInput { name: view_name.get_untracked(), query: query.get_untracked(), columns: columns.get_untracked() } });
                    view_open.set(false);
                }>
                    <label for="view-name" class="block text-sm font-medium">{t!(i18n, prospects.view_name)}</label>
                    <input id="view-name" data-testid="view-name" required class="block w-full rounded-md border-0 px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800"
                        prop:value=move || view_name.get() on:input=move |ev| view_name.set(event_target_value(&ev))/>
                    <div class="flex justify-end gap-2">
                        <Transition fallback=|| ()>{move || views.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().find(|v| v.name == view_name.get()).map(|v| {
                            let view_id = v.id;
                            view! { <Button variant=ButtonVariant::DangerGhost on:click=move |_| { delete_view.dispatch(DeleteView { org_id, view_id }); view_open.set(false); }>{t!(i18n, prospects.delete_view)}</Button> }
                        })}</Transition>
                        <Button variant=ButtonVariant::Secondary on:click=move |_| view_open.set(false)>{t!(i18n, common.cancel)}</Button>
                        <Button submit=true attr:data-testid="save-view-submit">{t!(i18n, common.save)}</Button>
                    </div>
                </form>
            </Dialog>
            <NewProspectDialog open=new_open org_id create/>
        </div>
    }
    .into_any()
}

/// A filter as query parameters (`q`, `status`, `tag`, `owner`, `custom`),
/// for the page's URL and the export link; empty ones are left out.
fn filter_params(f: &ProspectFilter) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = Vec::new();
    if !f.search.is_empty() {
        params.push(("q".into(), f.search.clone()));
    }
    if let Some(s) = f.status.first() {
        params.push(("status".into(), s.as_str().into()));
    }
    if let Some(t) = &f.tag {
        params.push(("tag".into(), t.clone()));
    }
    match f.owner {
        Some(Some(id)) => params.push(("owner".into(), id.to_string())),
        Some(None) => params.push(("owner".into(), "none".into())),
        None => {}
    }
    if let Some((k, v)) = &f.custom {
        params.push(("custom".into(), format!("{k}:{v}")));
    }
    params
}

fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::url::encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
fn Row(
    row: ProspectRow,
    columns: Vec<String>,
    selected: RwSignal<BTreeSet<Uuid>>,
    all_matching: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let id = row.id;
    let name = row.display_name();
    let testid =
        format!("prospect-row-{}", row.email.clone().or(row.phone.clone()).unwrap_or_else(|| name.clone()));
    let cells = columns
        .into_iter()
        .map(|c| {
            let r = row.clone();
            let name = name.clone();
            let content = match c.as_str() {
                "name" => view! {
                    <A href=format!("/app/prospects/{id}") attr:class="font-medium text-indigo-700 hover:underline dark:text-indigo-300">{name}</A>
                    {r.do_not_call.then(|| view! { <span class="ml-2"><Badge tone=Tone::Danger>{t!(i18n, prospects.dnc_badge)}</Badge></span> })}
                }.into_any(),
                "company" => r.company.into_any(),
                "title" => r.title.into_any(),
                "phone" => view! { <span class="font-mono text-xs">{r.phone.unwrap_or_default()}</span> }.into_any(),
                "email" => r.email.unwrap_or_default().into_any(),
                "status" => {
                    let s = r.status;
                    view! { <Badge tone=status_tone(s)>{move || status_label(i18n, s)}</Badge> }.into_any()
                }
                "owner" => r.owner_name.unwrap_or_default().into_any(),
                "tags" => view! {
                    <div class="flex flex-wrap gap-1">
                        {r.tags.into_iter().map(|t| view! { <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs dark:bg-slate-800">{t}</span> }).collect_view()}
                    </div>
                }.into_any(),
                "timezone" => r.timezone.into_any(),
                "updated_at" => {
                    let at = r.updated_at;
                    (move || crate::format::datetime(locale.get(), at)).into_any()
                }
                _ => ().into_any(),
            };
            view! { <td class="px-3 py-2">{content}</td> }
        })
        .collect_view();
    view! {
        <tr data-testid=testid class="hover:bg-slate-50 dark:hover:bg-slate-800/50">
            <td class="px-3 py-2">
                <input type="checkbox" aria-label=move || t_string!(i18n, prospects.select_row).to_string()
                    prop:checked=move || all_matching.get() || selected.get().contains(&id)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        all_matching.set(false);
                        selected.update(|s| if on { s.insert(id); } else { s.remove(&id); });
                    }/>
            </td>
            {cells}
        </tr>
    }
}

pub fn status_tone(s: ProspectStatus) -> Tone {
    match s {
        ProspectStatus::New => Tone::Neutral,
        ProspectStatus::Contacted => Tone::Info,
        ProspectStatus::Interested | ProspectStatus::MeetingScheduled => Tone::Success,
        ProspectStatus::CallbackScheduled => Tone::Warning,
        ProspectStatus::NotInterested => Tone::Danger,
    }
}

#[component]
fn NewProspectDialog(
    open: RwSignal<bool>,
    org_id: Uuid,
    create: ServerAction<CreateProspect>,
) -> impl IntoView {
    let i18n = use_i18n();
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let company = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let error =
        Signal::derive(move || create.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            open.set(false);
            for s in [first, last, company, phone, email] {
                s.set(String::new());
            }
            navigate(&format!("/app/prospects/{}", p.row.id), Default::default());
        }
    });
    let field = move |id: &'static str,
                      label: Signal<String>,
                      value: RwSignal<String>,
                      kind: &'static str| {
        view! {
            <div>
                <label for=id class="mb-1 block text-sm font-medium">{move || label.get()}</label>
                <input id=id type=kind data-testid=id class="block w-full rounded-md border-0 px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800"
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            </div>
        }
    };
    view! {
        <Dialog open title=Signal::derive(move || t_string!(i18n, prospects.new_prospect).to_string())>
            <form class="space-y-3" data-testid="new-prospect-form" on:submit=move |ev| {
                ev.prevent_default();
                create.dispatch(CreateProspect { org_id, input: ProspectInput {
                    first_name: first.get_untracked(),
                    last_name: last.get_untracked(),
                    company: company.get_untracked(),
                    phone: phone.get_untracked(),
                    email: email.get_untracked(),
                    ..Default::default()
                }});
            }>
                <div class="grid grid-cols-2 gap-3">
                    {field("np-first", Signal::derive(move || t_string!(i18n, prospects.first_name).to_string()), first, "text")}
                    {field("np-last", Signal::derive(move || t_string!(i18n, prospects.last_name).to_string()), last, "text")}
                </div>
                {field("np-company", Signal::derive(move || t_string!(i18n, prospects.col_company).to_string()), company, "text")}
                {field("np-phone", Signal::derive(move || t_string!(i18n, prospects.col_phone).to_string()), phone, "tel")}
                {field("np-email", Signal::derive(move || t_string!(i18n, prospects.col_email).to_string()), email, "email")}
                <FormError message=error/>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button submit=true busy=create.pending() attr:data-testid="np-submit">{t!(i18n, common.create)}</Button>
                </div>
            </form>
        </Dialog>
    }
}
