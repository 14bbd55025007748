//! The search box and the filters: status, tag, owner, one custom field.

use domain::prospect::{CustomField, ProspectStatus};
use leptos::prelude::*;

use super::state::ListState;
use super::CONTROL;
use crate::features::prospects::labels::status_label;
use crate::i18n::{t, t_string, use_i18n};
use crate::AppError;

#[component]
pub(super) fn FilterBar(
    state: ListState,
    tags: Resource<Result<Vec<(String, u64)>, AppError>>,
    owners: Resource<Result<Vec<(uuid::Uuid, String)>, AppError>>,
    fields: Resource<Result<Vec<CustomField>, AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ListState { status, tag, owner, custom_key, custom_value, .. } = state;
    view! {
        <div class="flex flex-wrap gap-2" role="search">
            <label for="prospect-search" class="sr-only">{t!(i18n, prospects.search)}</label>
            <input id="prospect-search" type="search" data-testid="prospect-search" placeholder=move || t_string!(i18n, prospects.search).to_string()
                class="min-w-[14rem] flex-1 rounded-md border-0 bg-white px-3 py-2 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                prop:value=move || state.search_box.get() on:input=move |ev| state.type_search(event_target_value(&ev))/>
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
    }
}
