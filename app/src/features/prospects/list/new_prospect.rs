//! Adding one prospect by hand; the new prospect's page opens.

use domain::prospect::ProspectInput;
use leptos::prelude::*;
use uuid::Uuid;

use crate::features::prospects::api::CreateProspect;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant, Dialog, FormError};

#[component]
pub(super) fn NewProspectDialog(
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
