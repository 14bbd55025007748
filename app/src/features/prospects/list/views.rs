//! Saved views (a named filter, sort and set of columns) and the column
//! chooser.

use domain::prospect::{SavedView, SavedViewInput, COLUMNS};
use leptos::prelude::*;
use uuid::Uuid;

use super::state::ListState;
use super::CONTROL;
use crate::features::prospects::api::{DeleteView, SaveView};
use crate::features::prospects::labels::column_label;
use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{toast_result, Button, ButtonVariant, Dialog};
use crate::AppError;

#[component]
pub(super) fn ViewBar(
    org_id: Uuid,
    state: ListState,
    views: Resource<Result<Vec<SavedView>, AppError>>,
    save_view: ServerAction<SaveView>,
    delete_view: ServerAction<DeleteView>,
) -> impl IntoView {
    let i18n = use_i18n();
    toast_result(save_view, move || Some(t_string!(i18n, common.saved).to_string()));
    toast_result(delete_view, move || None);
    // The saved view last applied: it can be deleted, or saved over by name.
    let active = RwSignal::new(None::<(Uuid, String)>);
    let apply = move |id: String| {
        let found = views
            .get_untracked()
            .and_then(|r| r.ok())
            .and_then(|l| l.into_iter().find(|v| v.id.to_string() == id));
        match found {
            Some(v) => {
                active.set(Some((v.id, v.name.clone())));
                state.apply(v);
            }
            None => active.set(None),
        }
    };
    let dialog_open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let columns_open = RwSignal::new(false);
    let columns = state.columns;

    view! {
        <div class="flex flex-wrap items-center gap-2 text-sm">
            <label for="saved-view" class="text-slate-500">{t!(i18n, prospects.views)}</label>
            <select id="saved-view" class=CONTROL data-testid="saved-views"
                prop:value=move || active.get().map(|(id, _)| id.to_string()).unwrap_or_default()
                on:change=move |ev| apply(event_target_value(&ev))>
                <option value="">{t!(i18n, prospects.no_view)}</option>
                <Transition fallback=|| ()>{move || views.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|v| view! {
                    <option value=v.id.to_string()>{v.name.clone()}</option>
                }).collect_view()}</Transition>
            </select>
            <Button variant=ButtonVariant::Ghost attr:data-testid="save-view" on:click=move |_| {
                if let Some((_, n)) = active.get_untracked() {
                    name.set(n);
                }
                dialog_open.set(true);
            }>{t!(i18n, prospects.save_view)}</Button>
            {move || active.get().map(|(view_id, _)| view! {
                <Button variant=ButtonVariant::DangerGhost attr:data-testid="delete-active-view" on:click=move |_| {
                    delete_view.dispatch(DeleteView { org_id, view_id });
                    active.set(None);
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
        <Dialog open=dialog_open title=Signal::derive(move || t_string!(i18n, prospects.save_view).to_string())>
            <form class="space-y-3" on:submit=move |ev| {
                ev.prevent_default();
                save_view.dispatch(SaveView { org_id, view: SavedViewInput { name: name.get_untracked(), query: state.query.get_untracked(), columns: columns.get_untracked() } });
                dialog_open.set(false);
            }>
                <label for="view-name" class="block text-sm font-medium">{t!(i18n, prospects.view_name)}</label>
                <input id="view-name" data-testid="view-name" required class="block w-full rounded-md border-0 px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <div class="flex justify-end gap-2">
                    <Transition fallback=|| ()>{move || views.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().find(|v| v.name == name.get()).map(|v| {
                        let view_id = v.id;
                        view! { <Button variant=ButtonVariant::DangerGhost on:click=move |_| { delete_view.dispatch(DeleteView { org_id, view_id }); dialog_open.set(false); }>{t!(i18n, prospects.delete_view)}</Button> }
                    })}</Transition>
                    <Button variant=ButtonVariant::Secondary on:click=move |_| dialog_open.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button submit=true attr:data-testid="save-view-submit">{t!(i18n, common.save)}</Button>
                </div>
            </form>
        </Dialog>
    }
}
