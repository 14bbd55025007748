//! One page of prospects: the table with its sortable headers and chosen
//! columns, a tick box per row, and the pager.

use domain::prospect::{ProspectPage, ProspectRow, ProspectStatus, SortKey, COLUMNS};
use leptos::prelude::*;
use leptos_router::components::A;

use super::bulk::Picked;
use super::state::ListState;
use super::{count_label, CONTROL};
use crate::features::prospects::labels::{column_label, status_label};
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, ButtonVariant, EmptyState, FormError, Skeleton, Tone};
use crate::AppError;

#[component]
pub(super) fn ProspectTable(
    state: ListState,
    rows: Resource<Result<ProspectPage, AppError>>,
    picked: Picked,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let page_rows = move || rows.get().and_then(|r| r.ok()).map(|p| p.rows).unwrap_or_default();
    view! {
        <Transition fallback=|| view! { <Skeleton lines=6/> }>
            {move || rows.get().map(|r| match r {
                Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                Ok(p) if p.rows.is_empty() => view! {
                    <EmptyState title=Signal::derive(move || t_string!(i18n, prospects.empty_title).to_string())
                        body=Signal::derive(move || t_string!(i18n, prospects.empty_body).to_string())/>
                }.into_any(),
                Ok(p) => {
                    let cols = state.columns.get();
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
                                                prop:checked=move || { let ids = page_rows(); !ids.is_empty() && ids.iter().all(|r| picked.ids.get().contains(&r.id)) }
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    picked.all_matching.set(false);
                                                    picked.ids.update(|s| for r in page_rows() { if on { s.insert(r.id); } else { s.remove(&r.id); } });
                                                }/>
                                        </th>
                                        {cols.iter().map(|c| view! { <Header state col=COLUMNS.iter().find(|k| *k == c).copied().unwrap_or("name")/> }).collect_view()}
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100 bg-white dark:divide-slate-800 dark:bg-slate-900">
                                    {p.rows.into_iter().map(|r| view! { <Row row=r columns=cols.clone() picked/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <nav class="flex items-center justify-between text-sm" aria-label=move || t_string!(i18n, common.pagination).to_string()>
                            <span data-testid="page-info">{move || t_string!(i18n, prospects.page_of, page = page_now, pages = count_label(locale.get(), pages, more), total = count_label(locale.get(), total_n, more)).to_string()}</span>
                            <div class="flex items-center gap-2">
                                <select class=CONTROL aria-label=move || t_string!(i18n, prospects.per_page).to_string()
                                    prop:value=move || state.per_page.get().to_string()
                                    on:change=move |ev| { state.per_page.set(event_target_value(&ev).parse().unwrap_or(50)); state.page.set(1); }>
                                    {[25u64, 50, 100, 200].into_iter().map(|n| view! { <option value=n.to_string()>{n}</option> }).collect_view()}
                                </select>
                                <Button variant=ButtonVariant::Secondary disabled=Signal::derive(move || { page_now <= 1 }) attr:data-testid="prev-page"
                                    on:click=move |_| state.page.update(|p| *p = p.saturating_sub(1).max(1))>{t!(i18n, common.previous)}</Button>
                                <Button variant=ButtonVariant::Secondary disabled=Signal::derive(move || { page_now >= pages && !more }) attr:data-testid="next-page"
                                    on:click=move |_| state.page.update(|p| *p += 1)>{t!(i18n, common.next)}</Button>
                            </div>
                        </nav>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// The sort a column's header offers, if it offers one.
fn sort_key(col: &str) -> Option<SortKey> {
    Some(match col {
        "name" => SortKey::LastName,
        "company" => SortKey::Company,
        "status" => SortKey::Status,
        "updated_at" => SortKey::UpdatedAt,
        "title" => SortKey::Title,
        "phone" => SortKey::Phone,
        "email" => SortKey::Email,
        "timezone" => SortKey::Timezone,
        _ => return None,
    })
}

#[component]
fn Header(state: ListState, col: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let label = move || column_label(i18n, col);
    let (sort, descending) = (state.sort, state.descending);
    match sort_key(col) {
        Some(k) => view! {
            <th scope="col" class="px-3 py-2 text-left font-semibold"
                aria-sort=move || if sort.get() == k { if descending.get() { "descending" } else { "ascending" } } else { "none" }>
                <button type="button" class="inline-flex items-center gap-1 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                    data-testid=format!("sort-{col}") on:click=move |_| state.toggle_sort(k)>
                    {label}
                    <span aria-hidden="true">{move || if sort.get() == k { if descending.get() { "▼" } else { "▲" } } else { "" }}</span>
                </button>
            </th>
        }.into_any(),
        None => view! { <th scope="col" class="px-3 py-2 text-left font-semibold">{label}</th> }.into_any(),
    }
}

#[component]
fn Row(row: ProspectRow, columns: Vec<String>, picked: Picked) -> impl IntoView {
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
                    prop:checked=move || picked.all_matching.get() || picked.ids.get().contains(&id)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        picked.all_matching.set(false);
                        picked.ids.update(|s| if on { s.insert(id); } else { s.remove(&id); });
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
