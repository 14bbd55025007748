//! Settings → API keys. Admins and Owners create keys with a chosen grant
//! (presets or single permissions, never more than their own role holds),
//! see the secret exactly once, and follow each key's use; revoking asks
//! for confirmation and takes effect on the next request.

use domain::{Permission, PermissionSet, Role};
use leptos::prelude::*;
use uuid::Uuid;

use super::api::{CreateApiKey, RevokeApiKey};
use super::types::{ApiKeyDto, CreatedKeyDto};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale, Locale};
use crate::ui::{banner_error, field_error, toast_result};
use crate::ui::{Badge, Button, ButtonVariant, Card, Dialog, FormError, Input, Skeleton, Tone};
use leptos_i18n::I18nContext;

/// The permissions a key may hold, in the matrix's order.
fn grantable(role: Role) -> Vec<Permission> {
    Permission::ALL.into_iter().filter(|p| p.grantable_to_keys() && role.allows(*p)).collect()
}

pub fn permission_label(i18n: I18nContext<Locale>, p: Permission) -> String {
    use Permission::*;
    match p {
        ViewOrganization => t_string!(i18n, api_keys.perm_view_organization),
        ViewMembers => t_string!(i18n, api_keys.perm_view_members),
        UseWorkspace => t_string!(i18n, api_keys.perm_use_workspace),
        RenameOrganization => t_string!(i18n, api_keys.perm_rename_organization),
        ManageSettings => t_string!(i18n, api_keys.perm_manage_settings),
        ManageAgents => t_string!(i18n, api_keys.perm_manage_agents),
        ManageProviderKeys => t_string!(i18n, api_keys.perm_manage_provider_keys),
        ExportProspects => t_string!(i18n, api_keys.perm_export_prospects),
        DeleteProspects => t_string!(i18n, api_keys.perm_delete_prospects),
        LiftCallRestrictions => t_string!(i18n, api_keys.perm_lift_call_restrictions),
        ManagePlaybook => t_string!(i18n, api_keys.perm_manage_playbook),
        ReviewKnowledge => t_string!(i18n, api_keys.perm_review_knowledge),
        ListenToCalls => t_string!(i18n, api_keys.perm_listen_to_calls),
        InviteMembers => t_string!(i18n, api_keys.perm_invite_members),
        RevokeInvitations => t_string!(i18n, api_keys.perm_revoke_invitations),
        ManageMemberRoles => t_string!(i18n, api_keys.perm_manage_member_roles),
        RemoveMembers => t_string!(i18n, api_keys.perm_remove_members),
        ViewAuditLog => t_string!(i18n, api_keys.perm_view_audit_log),
        ManageCampaigns => t_string!(i18n, api_keys.perm_manage_campaigns),
        ViewAnalytics => t_string!(i18n, api_keys.perm_view_analytics),
        // Never grantable; named for completeness.
        ManageApiKeys | ManageOwners | ManageBilling | DeleteOrganization => p.as_str(),
    }
    .to_string()
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    if !org.role.allows(Permission::ManageApiKeys) {
        return view! {
            <div class="space-y-2">
                <h1 class="text-2xl font-bold">{t!(i18n, api_keys.title)}</h1>
                <p class="text-sm text-slate-500" data-testid="api-keys-forbidden">{t!(i18n, api_keys.admins_only)}</p>
            </div>
        }
        .into_any();
    }
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    toast_result(revoke, move || Some(t_string!(i18n, api_keys.revoked).to_string()));
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| super::api::list_api_keys(org_id),
    );
    let created = Signal::derive(move || create.value().get().and_then(Result::ok));
    view! {
        <div class="space-y-6">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, api_keys.title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, api_keys.intro)}</p>
            </div>
            <CreateKeyCard org_id role=org.role create/>
            {move || created.get().map(|c| view! { <SecretOnce created=c/> })}
            <Card>
                <Transition fallback=|| view! { <Skeleton lines=4/> }>
                    {move || keys.get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="text-sm text-slate-500" data-testid="no-api-keys">{t!(i18n, api_keys.empty)}</p>
                        }.into_any(),
                        Ok(list) => view! { <KeyList list org_id revoke/> }.into_any(),
                    })}
                </Transition>
            </Card>
        </div>
    }
    .into_any()
}

#[component]
fn CreateKeyCard(org_id: Uuid, role: Role, create: ServerAction<CreateApiKey>) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    let offered = grantable(role);
    // Start from what every member may do: the common integration.
    let chosen = RwSignal::new(PermissionSet::of_role(Role::Member));
    let err = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
        }
    });
    let admin_set: PermissionSet = offered.iter().copied().collect();
    view! {
        <Card title=Signal::derive(move || t_string!(i18n, api_keys.create_title).to_string())>
            <form class="space-y-4" data-testid="api-key-form" on:submit=move |ev| {
                ev.prevent_default();
                let permissions = chosen.get_untracked().names().into_iter().map(str::to_string).collect();
                create.dispatch(CreateApiKey { org_id, name: name.get_untracked(), permissions });
            }>
                <Input id="api-key-name" name="name" value=name error=field_error(err, "name")
                    label=Signal::derive(move || t_string!(i18n, api_keys.name).to_string())
                    hint=Signal::derive(move || t_string!(i18n, api_keys.name_hint).to_string())/>
                <fieldset>
                    <legend class="mb-2 text-sm font-medium">{t!(i18n, api_keys.permissions)}</legend>
                    <div class="mb-2 flex flex-wrap gap-2">
                        <Button variant=ButtonVariant::Secondary attr:data-testid="preset-member"
                            on:click=move |_| chosen.set(PermissionSet::of_role(Role::Member))>{t!(i18n, api_keys.preset_member)}</Button>
                        {(role != Role::Member).then(|| view! {
                            <Button variant=ButtonVariant::Secondary attr:data-testid="preset-admin"
                                on:click=move |_| chosen.set(admin_set)>{t!(i18n, api_keys.preset_admin)}</Button>
                        })}
                    </div>
                    <div class="grid gap-2 sm:grid-cols-2">
                        {offered.into_iter().map(|p| {
                            let id = format!("perm-{}", p.as_str());
                            view! {
                                <label for=id.clone() class="flex items-center gap-2 text-sm">
                                    <input id=id.clone() type="checkbox" data-testid=format!("perm-{}", p.as_str())
                                        class="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-2 focus:ring-indigo-600"
                                        prop:checked=move || chosen.get().contains(p)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            chosen.update(|s| {
                                                *s = s.iter().filter(|q| *q != p).chain(on.then_some(p)).collect();
                                            });
                                        }/>
                                    <span>{move || permission_label(i18n, p)}</span>
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    <p class="mt-1 text-xs text-slate-500">{t!(i18n, api_keys.never_grantable)}</p>
                </fieldset>
                <FormError message=banner_error(err, &["name"])/>
                <Button submit=true busy=create.pending() attr:data-testid="create-api-key">{t!(i18n, api_keys.create)}</Button>
            </form>
        </Card>
    }
}

/// The new key, shown this once, with a copy button.
#[component]
fn SecretOnce(created: CreatedKeyDto) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(false);
    let secret = created.secret.clone();
    view! {
        <div class="rounded-md border border-amber-300 bg-amber-50 p-4 text-sm dark:border-amber-800 dark:bg-amber-950" data-testid="api-key-secret-box" role="status">
            <p class="font-semibold">{t!(i18n, api_keys.secret_title, name = created.key.name.clone())}</p>
            <p class="mb-2 text-slate-700 dark:text-slate-300">{t!(i18n, api_keys.secret_body)}</p>
            <div class="flex gap-2">
                <input readonly class="w-full rounded border-0 bg-white px-2 py-1 font-mono text-xs ring-1 ring-slate-300 dark:bg-slate-900"
                    data-testid="api-key-secret" aria-label=move || t_string!(i18n, api_keys.secret_label).to_string() prop:value=created.secret.clone()/>
                <Button variant=ButtonVariant::Secondary attr:data-testid="copy-api-key" on:click=move |_| {
                    copy_to_clipboard(&secret);
                    copied.set(true);
                }>{move || if copied.get() { t_string!(i18n, api_keys.copied) } else { t_string!(i18n, api_keys.copy) }}</Button>
            </div>
        </div>
    }
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[component]
fn KeyList(list: Vec<ApiKeyDto>, org_id: Uuid, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let confirm = RwSignal::new(None::<ApiKeyDto>);
    let open = RwSignal::new(false);
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="api-keys">
                <thead class="text-left text-xs uppercase text-slate-500">
                    <tr>
                        <th class="py-2 pr-4">{t!(i18n, api_keys.col_name)}</th>
                        <th class="py-2 pr-4">{t!(i18n, api_keys.col_key)}</th>
                        <th class="py-2 pr-4">{t!(i18n, api_keys.col_permissions)}</th>
                        <th class="py-2 pr-4">{t!(i18n, api_keys.col_created)}</th>
                        <th class="py-2 pr-4">{t!(i18n, api_keys.col_last_used)}</th>
                        <th class="py-2 pr-4 text-right">{t!(i18n, api_keys.col_requests)}</th>
                        <th class="py-2"></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                    {list.into_iter().map(|k| {
                        let revoked = k.revoked_at.is_some();
                        let created = k.created_at;
                        let last = k.last_used_at;
                        let total = k.request_count;
                        let today_count = k.requests_today;
                        let perms: Vec<Permission> = k.permissions.iter().filter_map(|n| Permission::parse(n)).collect();
                        let by = k.created_by_name.clone().unwrap_or_default();
                        let row = k.clone();
                        view! {
                            <tr data-testid=format!("api-key-{}", k.prefix) class:opacity-60=revoked>
                                <td class="py-2 pr-4 font-medium">{k.name.clone()}</td>
                                <td class="py-2 pr-4 font-mono text-xs">{format!("{}_…", k.prefix)}</td>
                                <td class="py-2 pr-4">
                                    <div class="flex max-w-md flex-wrap gap-1">
                                        {perms.into_iter().map(|p| view! { <Badge>{move || permission_label(i18n, p)}</Badge> }).collect_view()}
                                    </div>
                                </td>
                                <td class="py-2 pr-4 text-xs text-slate-500">{move || crate::format::date(locale.get(), created)} " · " {by.clone()}</td>
                                <td class="py-2 pr-4 text-xs" data-testid="last-used">{move || match last {
                                    Some(at) => crate::format::datetime(locale.get(), at),
                                    None => t_string!(i18n, api_keys.never_used).to_string(),
                                }}</td>
                                <td class="py-2 pr-4 text-right tabular-nums" data-testid="requests">
                                    {move || crate::format::integer(locale.get(), total)}
                                    <span class="block text-xs text-slate-500">{move || t_string!(i18n, api_keys.today, n = crate::format::integer(locale.get(), today_count)).to_string()}</span>
                                </td>
                                <td class="py-2 text-right">
                                    {if revoked {
                                        view! { <Badge tone=Tone::Neutral attr:data-testid="revoked-badge">{t!(i18n, api_keys.status_revoked)}</Badge> }.into_any()
                                    } else {
                                        view! {
                                            <Button variant=ButtonVariant::DangerGhost attr:data-testid="revoke-api-key" on:click=move |_| {
                                                confirm.set(Some(row.clone()));
                                                open.set(true);
                                            }>{t!(i18n, api_keys.revoke)}</Button>
                                        }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Dialog open title=Signal::derive(move || t_string!(i18n, api_keys.revoke_title).to_string())>
            {move || confirm.get().map(|k| {
                let key_id = k.id;
                view! {
                    <p class="mb-4 text-sm">{t!(i18n, api_keys.revoke_body, name = k.name.clone())}</p>
                    <div class="flex justify-end gap-2">
                        <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                        <Button variant=ButtonVariant::Danger attr:data-testid="confirm-revoke" on:click=move |_| {
                            revoke.dispatch(RevokeApiKey { org_id, key_id });
                            open.set(false);
                        }>{t!(i18n, api_keys.revoke)}</Button>
                    </div>
                }
            })}
        </Dialog>
    }
}
