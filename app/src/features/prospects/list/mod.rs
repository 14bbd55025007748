//! The prospect list: search, filters, sorting, server-side pagination,
//! column chooser, saved views, and bulk actions on a selection or on every
//! row the filter matches (delete can be undone for 30 seconds).
//!
//! The query lives in [`state::ListState`] (and in the URL); each part of
//! the page is a component over it.

mod bulk;
mod filters;
mod new_prospect;
mod state;
mod table;
mod views;

use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

pub use table::status_tone;

use super::api::{BulkProspects, CreateProspect, DeleteView, SaveView, UndoDelete};
use crate::features::auth::session::use_current_org;
use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{toast_result, Button, ButtonVariant};
use bulk::{BulkBar, Picked};
use filters::FilterBar;
use new_prospect::NewProspectDialog;
use state::ListState;
use table::ProspectTable;
use views::ViewBar;

const CONTROL: &str = "rounded-md border-0 bg-white py-2 pl-3 pr-8 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";

/// A row count as shown, "10,000+" when counting stopped at the cap.
fn count_label(locale: domain::Locale, n: u64, capped: bool) -> String {
    format!("{}{}", crate::format::integer(locale, n as i64), if capped { "+" } else { "" })
}

#[component]
pub fn ProspectsPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_export = org.role.allows(Permission::ExportProspects);
    let can_delete = org.role.allows(Permission::DeleteProspects);
    let state = ListState::from_url();
    let picked = Picked::new(state);

    let bulk = ServerAction::<BulkProspects>::new();
    let undo = ServerAction::<UndoDelete>::new();
    let create = ServerAction::<CreateProspect>::new();
    let save_view = ServerAction::<SaveView>::new();
    let delete_view = ServerAction::<DeleteView>::new();
    toast_result(undo, move || Some(t_string!(i18n, prospects.restored).to_string()));
    // Anything that changes rows reloads the page of rows and the tag counts.
    let changes = move || (bulk.version().get(), undo.version().get(), create.version().get());
    let rows = Resource::new(
        move || (state.query.get(), changes()),
        move |(q, _)| super::api::list_prospects(org_id, q),
    );
    let fields = Resource::new(|| (), move |_| super::api::list_custom_fields(org_id));
    let tags = Resource::new(changes, move |_| super::api::list_tags(org_id));
    let owners = Resource::new(|| (), move |_| super::api::list_owners(org_id));
    let views = Resource::new(
        move || (save_view.version().get(), delete_view.version().get()),
        move |_| super::api::list_views(org_id),
    );
    let new_open = RwSignal::new(false);

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
                        <a href=move || state.export_href(org_id) rel="external" download="" data-testid="export-prospects"
                            class="rounded-md bg-white px-3 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:ring-slate-600">
                            {t!(i18n, prospects.export)}
                        </a>
                    })}
                </div>
            </div>

            <FilterBar state tags owners fields/>
            <ViewBar org_id state views save_view delete_view/>
            <BulkBar org_id state picked rows owners bulk undo can_delete/>
            <ProspectTable state rows picked/>
            <NewProspectDialog open=new_open org_id create/>
        </div>
    }
    .into_any()
}
