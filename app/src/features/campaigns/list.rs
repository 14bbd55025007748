//! The campaigns list, and a new campaign (Admins and Owners; its
//! settings are the form in [`super::form`]).

use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

use super::api::CreateCampaign;
use super::form::CampaignForm;
use super::labels::{status_label, status_tone};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Card, EmptyState, FormError, Skeleton};

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_manage = org.role.allows(Permission::ManageCampaigns);
    let list = Resource::new(|| (), move |_| super::api::list_campaigns(org_id));
    view! {
        <div class="space-y-4">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, campaigns.title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, campaigns.intro)}</p>
            </div>
            {can_manage.then(|| view! { <NewCampaign org_id/> })}
            <Transition fallback=|| view! { <Skeleton lines=4/> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <EmptyState title=Signal::derive(move || t_string!(i18n, campaigns.empty_title).to_string())
                            body=Signal::derive(move || t_string!(i18n, campaigns.empty_body).to_string())/>
                    }.into_any(),
                    Ok(rows) => view! {
                        <div class="overflow-x-auto rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
                            <table class="min-w-full text-sm" data-testid="campaigns-table">
                                <thead class="bg-slate-50 dark:bg-slate-800">
                                    <tr>
                                        <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_name)}</th>
                                        <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_status)}</th>
                                        <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.col_prospects)}</th>
                                        <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.col_done)}</th>
                                        <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.col_meetings)}</th>
                                        <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_created)}</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                    {rows.into_iter().map(|c| view! {
                                        <tr data-testid="campaign-row">
                                            <td class="px-3 py-2">
                                                <A href=format!("/app/campaigns/{}", c.id) attr:class="text-indigo-700 hover:underline dark:text-indigo-300">{c.settings.name.clone()}</A>
                                            </td>
                                            <td class="px-3 py-2"><Badge tone=status_tone(c.status)>{status_label(i18n, c.status)}</Badge></td>
                                            <td class="px-3 py-2 text-right tabular-nums">{c.counts.total}</td>
                                            <td class="px-3 py-2 text-right tabular-nums">{c.counts.done}</td>
                                            <td class="px-3 py-2 text-right tabular-nums">{c.counts.meetings_booked}</td>
                                            <td class="px-3 py-2 whitespace-nowrap">{move || crate::format::datetime(locale.get(), c.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn NewCampaign(org_id: uuid::Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateCampaign>::new();
    // Created: to its page.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(c)) = create.value().get() {
            navigate(&format!("/app/campaigns/{}", c.id), Default::default());
        }
    });
    let server_error =
        Signal::derive(move || create.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    view! {
        <Card>
            <details data-testid="new-campaign">
                <summary class="cursor-pointer font-semibold" data-testid="new-campaign-open">{t!(i18n, campaigns.new_campaign)}</summary>
                <div class="mt-4">
                    <CampaignForm org_id initial=super::form::blank()
                        on_save=Callback::new(move |settings| { create.dispatch(CreateCampaign { org_id, settings }); })
                        busy=create.pending() server_error
                        save_label=Signal::derive(move || t_string!(i18n, campaigns.create).to_string())
                        save_id="campaign-create"/>
                </div>
            </details>
        </Card>
    }
}
