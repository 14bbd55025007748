//! Bulk actions: on the ticked rows, or on every row the filter matches
//! (confirmed first, with the count); a delete can be undone for
//! `UNDO_SECONDS`.

use std::collections::BTreeSet;

use domain::prospect::{BulkAction, ProspectPage, ProspectStatus, Selection};
use leptos::prelude::*;
use uuid::Uuid;

use super::state::ListState;
use super::{count_label, CONTROL};
use crate::features::prospects::api::{BulkProspects, UndoDelete};
use crate::features::prospects::labels::status_label;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{use_toasts, Button, ButtonVariant, Dialog, ToastKind};
use crate::AppError;

/// The rows picked for a bulk action.
#[derive(Clone, Copy)]
pub(super) struct Picked {
    pub ids: RwSignal<BTreeSet<Uuid>>,
    /// Every row the filter matches, on every page.
    pub all_matching: RwSignal<bool>,
}

impl Picked {
    /// Nothing picked, and nothing again whenever the list's query changes.
    pub fn new(state: ListState) -> Self {
        let picked = Picked { ids: RwSignal::new(BTreeSet::new()), all_matching: RwSignal::new(false) };
        Effect::new(move |_| {
            state.query.track();
            picked.clear();
        });
        picked
    }

    fn clear(self) {
        self.ids.set(BTreeSet::new());
        self.all_matching.set(false);
    }

    fn selection(self, state: ListState) -> Selection {
        if self.all_matching.get_untracked() {
            Selection::Filter { filter: state.filter.get_untracked() }
        } else {
            Selection::Ids { ids: self.ids.get_untracked().into_iter().collect() }
        }
    }
}

/// The bar shown while rows are picked, the undo offer after a delete, and
/// the two confirmations.
#[component]
pub(super) fn BulkBar(
    org_id: Uuid,
    state: ListState,
    picked: Picked,
    rows: Resource<Result<ProspectPage, AppError>>,
    owners: Resource<Result<Vec<(Uuid, String)>, AppError>>,
    bulk: ServerAction<BulkProspects>,
    undo: ServerAction<UndoDelete>,
    can_delete: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let toasts = use_toasts();

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

    let run = move |action: BulkAction| {
        bulk.dispatch(BulkProspects { org_id, selection: picked.selection(state), action });
        picked.clear();
    };
    // A change to *every* match of a filter can touch thousands of rows: it
    // is confirmed first, with the count. A change to ticked rows is not.
    let pending = RwSignal::new(None::<BulkAction>);
    let confirm_all = RwSignal::new(false);
    let request = move |action: BulkAction| {
        if picked.all_matching.get_untracked() {
            pending.set(Some(action));
            confirm_all.set(true);
        } else {
            run(action);
        }
    };
    let confirm_delete = RwSignal::new(false);
    let bulk_status = RwSignal::new(String::new());
    let bulk_tag = RwSignal::new(String::new());
    let bulk_owner = RwSignal::new(String::new());

    let total = move || rows.get().and_then(|r| r.ok()).map(|p| p.total).unwrap_or(0);
    // Counting stops at LIST_COUNT_CAP (SEARCH_COUNT_CAP for a broad search): "10,000+".
    let capped = move || rows.get().and_then(|r| r.ok()).is_some_and(|p| p.total_capped);
    let count = move || if picked.all_matching.get() { total() } else { picked.ids.get().len() as u64 };
    let count_text = move || count_label(locale.get(), count(), picked.all_matching.get() && capped());

    view! {
        <Show when=move || { count() > 0 }>
            <div class="flex flex-wrap items-center gap-2 rounded-md bg-indigo-50 p-2 text-sm dark:bg-indigo-950" data-testid="bulk-bar">
                <span class="font-semibold" data-testid="selected-count">{move || t_string!(i18n, prospects.selected, count = count_text()).to_string()}</span>
                <Show when=move || { !picked.all_matching.get() && (picked.ids.get().len() as u64) < total() }>
                    <button type="button" class="text-indigo-700 underline dark:text-indigo-300" data-testid="select-all-matching"
                        on:click=move |_| picked.all_matching.set(true)>{move || t_string!(i18n, prospects.select_all_matching, count = count_label(locale.get(), total(), capped())).to_string()}</button>
                </Show>
                <select class=CONTROL data-testid="bulk-status" aria-label=move || t_string!(i18n, prospects.set_status).to_string()
                    prop:value=move || bulk_status.get()
                    on:change=move |ev| {
                        if let Some(s) = ProspectStatus::parse(&event_target_value(&ev)).filter(|_| !event_target_value(&ev).is_empty()) {
                            request(BulkAction::SetStatus { status: s });
                        }
                        bulk_status.set(String::new());
                    }>
                    <option value="">{t!(i18n, prospects.set_status)}</option>
                    {ProspectStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{move || status_label(i18n, s)}</option> }).collect_view()}
                </select>
                <input data-testid="bulk-tag" class="w-32 rounded-md border-0 bg-white px-2 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800"
                    aria-label=move || t_string!(i18n, prospects.tag).to_string() placeholder=move || t_string!(i18n, prospects.tag).to_string()
                    prop:value=move || bulk_tag.get() on:input=move |ev| bulk_tag.set(event_target_value(&ev))/>
                <Button variant=ButtonVariant::Secondary attr:data-testid="bulk-add-tag" on:click=move |_| request(BulkAction::AddTag { tag: bulk_tag.get_untracked() })>{t!(i18n, prospects.add_tag)}</Button>
                <Button variant=ButtonVariant::Secondary attr:data-testid="bulk-remove-tag" on:click=move |_| request(BulkAction::RemoveTag { tag: bulk_tag.get_untracked() })>{t!(i18n, prospects.remove_tag)}</Button>
                <select class=CONTROL data-testid="bulk-owner" aria-label=move || t_string!(i18n, prospects.assign_owner).to_string()
                    prop:value=move || bulk_owner.get()
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if !v.is_empty() {
                            request(BulkAction::AssignOwner { owner_id: v.parse().ok() });
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
        <Dialog open=confirm_delete title=Signal::derive(move || t_string!(i18n, prospects.delete_title).to_string())>
            <p class="mb-4 text-sm">{move || t_string!(i18n, prospects.delete_body, count = count_text()).to_string()}</p>
            <div class="flex justify-end gap-2">
                <Button variant=ButtonVariant::Secondary on:click=move |_| confirm_delete.set(false)>{t!(i18n, common.cancel)}</Button>
                <Button variant=ButtonVariant::Danger attr:data-testid="confirm-bulk-delete" on:click=move |_| { run(BulkAction::Delete); confirm_delete.set(false); }>{t!(i18n, prospects.delete)}</Button>
            </div>
        </Dialog>
        <Dialog open=confirm_all title=Signal::derive(move || t_string!(i18n, prospects.confirm_all_title).to_string())>
            <p class="mb-4 text-sm" data-testid="confirm-all-body">{move || t_string!(i18n, prospects.confirm_all_body, count = count_text()).to_string()}</p>
            <div class="flex justify-end gap-2">
                <Button variant=ButtonVariant::Secondary on:click=move |_| { pending.set(None); confirm_all.set(false); }>{t!(i18n, common.cancel)}</Button>
                <Button attr:data-testid="confirm-all" on:click=move |_| {
                    if let Some(action) = pending.get_untracked() {
                        run(action);
                    }
                    pending.set(None);
                    confirm_all.set(false);
                }>{t!(i18n, common.confirm)}</Button>
            </div>
        </Dialog>
    }
}
