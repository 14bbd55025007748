use leptos::prelude::*;

use super::api::{CreateOrg, LeaveOrg, RenameOrg};
use crate::features::auth::session::use_current_org;
use crate::i18n::{error_message, role_label, t, t_string, use_i18n, use_locale};
use crate::ui::{banner_error, field_error, hard_navigate};
use crate::ui::{
    use_toasts, Badge, Button, ButtonVariant, Card, Dialog, EmptyState, FormError, Input, Skeleton,
    ToastKind, Tone,
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Some(org) = use_current_org() else {
        return view! {
            <EmptyState title=Signal::derive(move || t_string!(i18n, dashboard.no_org_title).to_string()) body=Signal::derive(move || t_string!(i18n, dashboard.no_org_body).to_string())>
                <a href="/app/orgs/new" class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white">{t!(i18n, nav.new_org)}</a>
            </EmptyState>
        }.into_any();
    };
    let name =
        use_context::<crate::features::auth::types::SessionInfo>().map(|s| s.user.name).unwrap_or_default();
    let org_id = org.id;
    // Boxed for the same reason as the session resource (see `shell::App`).
    let overview = Resource::new(move || org_id, |id| Box::pin(super::api::org_overview(id)));
    view! {
        <div class="space-y-6">
            <div>
                <h1 class="text-2xl font-bold" data-testid="dashboard-title">{t!(i18n, dashboard.welcome, name = name.clone())}</h1>
                <p class="text-slate-500 dark:text-slate-400" data-testid="current-org">{org.name.clone()}</p>
            </div>
            <Suspense fallback=|| view! { <Skeleton lines=3/> }>
                {move || overview.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(error_message(i18n, e.code)))/> }.into_any(),
                    Ok(o) => view! {
                        <div class="grid gap-4 sm:grid-cols-3">
                            <Card><p class="text-sm text-slate-500">{t!(i18n, dashboard.members_count)}</p><p class="mt-1 text-3xl font-bold" data-testid="member-count">{move || crate::format::integer(locale.get(), o.member_count as i64)}</p></Card>
                            <Card><p class="text-sm text-slate-500">{t!(i18n, dashboard.your_role)}</p><p class="mt-2"><Badge tone=Tone::Info>{move || role_label(i18n, o.org.role)}</Badge></p></Card>
                            {o.pending_invites.map(|n| view! {
                                <Card><p class="text-sm text-slate-500">{t!(i18n, dashboard.pending_invites)}</p><p class="mt-1 text-3xl font-bold">{move || crate::format::integer(locale.get(), n as i64)}</p></Card>
                            })}
                        </div>
                    }.into_any(),
                })}
            </Suspense>
            <Card title=Signal::derive(move || t_string!(i18n, dashboard.getting_started).to_string())>
                <ul class="list-inside list-disc space-y-1 text-sm">
                    <li><a href="/app/members" class="text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, dashboard.step_invite)}</a></li>
                    <li><a href="/app/settings" class="text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, dashboard.step_settings)}</a></li>
                    <li><a href="/app/account" class="text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, dashboard.step_language)}</a></li>
                </ul>
            </Card>
        </div>
    }.into_any()
}

#[component]
pub fn NewOrgPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<CreateOrg>::new();
    let err = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            hard_navigate("/app");
        }
    });
    view! {
        <div class="mx-auto max-w-lg">
            <Card title=Signal::derive(move || t_string!(i18n, orgs.create_title).to_string())>
                <p class="mb-4 text-sm text-slate-500">{t!(i18n, orgs.create_subtitle)}</p>
                <ActionForm action=action attr:class="space-y-4" attr:data-testid="create-org-form">
                    <FormError message=banner_error(err, &["name"])/>
                    <Input id="org-name" name="name" required=true error=field_error(err, "name") label=Signal::derive(move || t_string!(i18n, orgs.name_label).to_string())/>
                    <Button submit=true busy=action.pending()>{t!(i18n, orgs.create_button)}</Button>
                </ActionForm>
            </Card>
        </div>
    }
}

#[component]
pub fn OrgSettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let toasts = use_toasts();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_rename = org.role.allows(domain::Permission::RenameOrganization);
    let name = RwSignal::new(org.name.clone());
    let rename = ServerAction::<RenameOrg>::new();
    let leave = ServerAction::<LeaveOrg>::new();
    let confirm_leave = RwSignal::new(false);
    let err = Signal::derive(move || rename.value().get().and_then(|r| r.err()));
    let leave_err = Signal::derive(move || {
        leave.value().get().and_then(|r| r.err()).map(|e| error_message(i18n, e.code))
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = rename.value().get() {
            toasts.push(ToastKind::Success, t_string!(i18n, orgs.renamed).to_string());
            hard_navigate("/app/settings");
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = leave.value().get() {
            hard_navigate("/app");
        }
    });
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">{t!(i18n, orgs.settings_title)}</h1>
            <Card>
                <form class="space-y-4" data-testid="rename-org-form" on:submit=move |ev| {
                    ev.prevent_default();
                    rename.dispatch(RenameOrg { org_id, name: name.get_untracked() });
                }>
                    <FormError message=banner_error(err, &["name"])/>
                    <Input id="org-name" name="name" value=name readonly=!can_rename error=field_error(err, "name") label=Signal::derive(move || t_string!(i18n, orgs.name_label).to_string())/>
                    <p class="text-sm text-slate-500">{t!(i18n, orgs.slug)} ": " <code>{org.slug.clone()}</code></p>
                    {can_rename.then(|| view! { <Button submit=true busy=rename.pending()>{t!(i18n, orgs.rename_button)}</Button> })}
                </form>
            </Card>
            <Card title=Signal::derive(move || t_string!(i18n, orgs.danger_zone).to_string())>
                <p class="mb-3 text-sm text-slate-500">{t!(i18n, orgs.leave_body)}</p>
                <FormError message=leave_err/>
                <Button variant=ButtonVariant::Danger on:click=move |_| confirm_leave.set(true)>{t!(i18n, orgs.leave)}</Button>
            </Card>
            <Dialog open=confirm_leave title=Signal::derive(move || t_string!(i18n, orgs.danger_zone).to_string())>
                <p class="mb-4 text-sm">{t!(i18n, orgs.leave_body)}</p>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| confirm_leave.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button variant=ButtonVariant::Danger on:click=move |_| { confirm_leave.set(false); leave.dispatch(LeaveOrg { org_id }); }>{t!(i18n, orgs.leave)}</Button>
                </div>
            </Dialog>
        </div>
    }.into_any()
}
