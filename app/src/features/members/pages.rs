use leptos::prelude::*;

use super::api::{ChangeRole, InviteMember, RemoveMember, ResendInvitation, RevokeInvitation};
use super::types::{InvitationDto, InviteOutcome, InviteState, MemberDto};
use crate::features::auth::session::use_current_org;
use crate::i18n::{error_message, role_label, t, t_string, use_i18n, use_locale};
use crate::ui::{banner_error, field_error};
use crate::ui::{
    use_toasts, Badge, Button, ButtonVariant, Card, Column, DataTable, Dialog, FormError, Input, Select,
    Skeleton, ToastKind, Tone,
};
use domain::{Permission, Role};

#[component]
pub fn MembersPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let toasts = use_toasts();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let my_role = org.role;
    let me = use_context::<crate::features::auth::types::SessionInfo>().map(|s| s.user.id);
    let can_invite = my_role.allows(Permission::InviteMembers);
    let can_manage = my_role.allows(Permission::ManageMemberRoles);

    let invite = ServerAction::<InviteMember>::new();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let resend = ServerAction::<ResendInvitation>::new();

    let members = Resource::new(
        move || (change.version().get(), remove.version().get()),
        move |_| super::api::list_members(org_id),
    );
    let invitations = Resource::new(
        move || (invite.version().get(), revoke.version().get(), resend.version().get()),
        move |_| async move {
            if can_invite {
                super::api::list_invitations(org_id).await
            } else {
                Ok(vec![])
            }
        },
    );

    // The most recent invitation link to show (when email is not configured).
    let last_link = RwSignal::new(None::<InviteOutcome>);
    let invite_email = RwSignal::new(String::new());
    let invite_role = RwSignal::new("member".to_string());
    let invite_err = Signal::derive(move || invite.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if let Some(Ok(out)) = invite.value().get() {
            if out.emailed {
                toasts.push(
                    ToastKind::Success,
                    t_string!(i18n, members.invite_sent, email = out.email.clone()).to_string(),
                );
            }
            invite_email.set(String::new());
            last_link.set(Some(out));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(out)) = resend.value().get() {
            toasts.push(ToastKind::Success, t_string!(i18n, members.resent).to_string());
            last_link.set(Some(out));
        }
    });
    // Errors from row actions surface as toasts; successes too.
    Effect::new(move |_| match change.value().get() {
        Some(Ok(_)) => toasts.push(ToastKind::Success, t_string!(i18n, members.role_changed).to_string()),
        Some(Err(e)) => toasts.push(ToastKind::Error, error_message(i18n, e.code)),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => toasts.push(ToastKind::Success, t_string!(i18n, members.removed).to_string()),
        Some(Err(e)) => toasts.push(ToastKind::Error, error_message(i18n, e.code)),
        None => {}
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => toasts.push(ToastKind::Success, t_string!(i18n, members.revoked).to_string()),
        Some(Err(e)) => toasts.push(ToastKind::Error, error_message(i18n, e.code)),
        None => {}
    });

    let role_options = Signal::derive(move || {
        Role::ALL
            .iter()
            .filter(|r| **r != Role::Owner || my_role.allows(Permission::ManageOwners))
            .map(|r| (r.as_str().to_string(), role_label(i18n, *r)))
            .collect::<Vec<_>>()
    });

    // Who the confirmation dialog is about; set together with opening it
    // (two effects syncing these would feed each other forever).
    let pending_removal = RwSignal::new(None::<MemberDto>);
    let removal_open = RwSignal::new(false);
    let member_columns = vec![
        Column::new(Signal::derive(move || t_string!(i18n, members.col_name).to_string()), move |m: &MemberDto| {
            let you = (Some(m.user_id) == me).then(|| view! { " " <span class="text-xs text-slate-400">"(" {t!(i18n, members.you)} ")"</span> });
            view! { <span class="font-medium">{m.name.clone()}</span>{you} }.into_any()
        })
        .sortable(|a: &MemberDto, b: &MemberDto| a.name.to_lowercase().cmp(&b.name.to_lowercase())),
        Column::new(Signal::derive(move || t_string!(i18n, members.col_email).to_string()), |m: &MemberDto| view! { {m.email.clone()} }.into_any())
            .sortable(|a: &MemberDto, b: &MemberDto| a.email.cmp(&b.email)),
        Column::new(Signal::derive(move || t_string!(i18n, members.col_role).to_string()), move |m: &MemberDto| {
            let user_id = m.user_id;
            let role = m.role;
            let name = m.name.clone();
            let editable = can_manage && (role != Role::Owner || my_role.allows(Permission::ManageOwners));
            if editable {
                view! {
                    <select data-testid=format!("role-{}", m.email)
                        aria-label=t_string!(i18n, members.change_role_for, name = name.clone()).to_string()
                        class="rounded-md border-0 bg-transparent py-1 text-sm ring-1 ring-slate-300 dark:ring-slate-600"
                        on:change=move |ev| { change.dispatch(ChangeRole { org_id, user_id, role: event_target_value(&ev) }); }>
                        {role_options.get_untracked().into_iter().map(|(v, l)| {
                            let sel = v == role.as_str();
                            view! { <option value=v selected=sel>{l}</option> }
                        }).collect_view()}
                    </select>
                }.into_any()
            } else {
                view! { <Badge tone=if role == Role::Owner { Tone::Info } else { Tone::Neutral }>{move || role_label(i18n, role)}</Badge> }.into_any()
            }
        })
        .sortable(|a: &MemberDto, b: &MemberDto| b.role.cmp(&a.role)),
        Column::new(Signal::derive(move || t_string!(i18n, members.col_joined).to_string()), move |m: &MemberDto| {
            let at = m.joined_at;
            view! { {move || crate::format::date(locale.get(), at)} }.into_any()
        })
        .sortable(|a: &MemberDto, b: &MemberDto| a.joined_at.cmp(&b.joined_at)),
        Column::new(Signal::derive(move || t_string!(i18n, members.col_actions).to_string()), move |m: &MemberDto| {
            let removable = Some(m.user_id) != me && my_role.allows(Permission::RemoveMembers) && (m.role != Role::Owner || my_role.allows(Permission::ManageOwners));
            let m2 = m.clone();
            removable.then(|| view! {
                <Button variant=ButtonVariant::DangerGhost on:click=move |_| {
                    pending_removal.set(Some(m2.clone()));
                    removal_open.set(true);
                }>{t!(i18n, members.remove)}</Button>
            }).into_any()
        }),
    ];

    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">{t!(i18n, members.title)}</h1>
            {can_invite.then(|| view! {
                <Card title=Signal::derive(move || t_string!(i18n, members.invite_title).to_string())>
                    <form class="grid gap-4 sm:grid-cols-[1fr_12rem_auto] sm:items-start" data-testid="invite-form" on:submit=move |ev| {
                        ev.prevent_default();
                        invite.dispatch(InviteMember { org_id, email: invite_email.get_untracked(), role: invite_role.get_untracked() });
                    }>
                        <Input id="invite-email" name="email" kind="email" value=invite_email error=field_error(invite_err, "email") label=Signal::derive(move || t_string!(i18n, members.invite_email).to_string())/>
                        <Select id="invite-role" name="role" value=invite_role options=role_options label=Signal::derive(move || t_string!(i18n, members.invite_role).to_string())/>
                        <div class="sm:pt-6"><Button submit=true busy=invite.pending()>{t!(i18n, members.invite_button)}</Button></div>
                    </form>
                    <div class="mt-3"><FormError message=banner_error(invite_err, &["email"])/></div>
                    {move || last_link.get().and_then(|o| o.link.clone().map(|link| view! {
                        <div class="mt-4 rounded-md border border-indigo-200 bg-indigo-50 p-3 text-sm dark:border-indigo-900 dark:bg-indigo-950" data-testid="invite-link-box">
                            <p class="font-semibold">{t!(i18n, members.invite_link_title)}</p>
                            <p class="mb-2 text-slate-600 dark:text-slate-300">{t!(i18n, members.invite_link_body, email = o.email.clone())}</p>
                            <input readonly class="w-full rounded border-0 bg-white px-2 py-1 font-mono text-xs ring-1 ring-slate-300 dark:bg-slate-900" data-testid="invite-link" prop:value=link on:focus=|ev| {
                                #[cfg(feature = "hydrate")]
                                {
                                    use wasm_bindgen::JsCast;
                                    if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { el.select(); }
                                }
                                #[cfg(not(feature = "hydrate"))]
                                let _ = ev;
                            }/>
                        </div>
                    }))}
                </Card>
            })}
            <Card>
                <Suspense fallback=|| view! { <Skeleton lines=4/> }>
                    {
                        let cols = member_columns.clone();
                        move || members.get().map(|r| match r {
                            Err(e) => view! { <FormError message=Signal::derive(move || Some(error_message(i18n, e.code)))/> }.into_any(),
                            Ok(list) => view! { <DataTable rows=Signal::derive(move || list.clone()) columns=cols.clone() testid="members-table"/> }.into_any(),
                        })
                    }
                </Suspense>
            </Card>
            {can_invite.then(|| view! {
                <Card title=Signal::derive(move || t_string!(i18n, members.pending_title).to_string())>
                    <Suspense fallback=|| view! { <Skeleton lines=2/> }>
                        {move || invitations.get().map(|r| match r {
                            Err(e) => view! { <FormError message=Signal::derive(move || Some(error_message(i18n, e.code)))/> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-500" data-testid="no-invites">{t!(i18n, members.no_invites)}</p> }.into_any(),
                            Ok(list) => view! { <InvitationList list org_id revoke resend locale/> }.into_any(),
                        })}
                    </Suspense>
                </Card>
            })}
            <Dialog open=removal_open title=Signal::derive(move || t_string!(i18n, members.remove_title).to_string())>
                {move || pending_removal.get().map(|m| {
                    let user_id = m.user_id;
                    view! {
                        <p class="mb-4 text-sm">{t!(i18n, members.remove_body, name = m.name.clone())}</p>
                        <div class="flex justify-end gap-2">
                            <Button variant=ButtonVariant::Secondary on:click=move |_| removal_open.set(false)>{t!(i18n, common.cancel)}</Button>
                            <Button variant=ButtonVariant::Danger attr:data-testid="confirm-remove" on:click=move |_| { remove.dispatch(RemoveMember { org_id, user_id }); removal_open.set(false); }>{t!(i18n, members.remove)}</Button>
                        </div>
                    }
                })}
            </Dialog>
        </div>
    }.into_any()
}

#[component]
fn InvitationList(
    list: Vec<InvitationDto>,
    org_id: uuid::Uuid,
    revoke: ServerAction<RevokeInvitation>,
    resend: ServerAction<ResendInvitation>,
    locale: Signal<domain::Locale>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul class="divide-y divide-slate-100 dark:divide-slate-800" data-testid="invitations">
            {list.into_iter().map(|inv| {
                let id = inv.id;
                let expires = inv.expires_at;
                let (tone, label) = match inv.status {
                    InviteState::Pending => (Tone::Warning, Signal::derive(move || t_string!(i18n, members.status_pending).to_string())),
                    InviteState::Expired => (Tone::Danger, Signal::derive(move || t_string!(i18n, members.status_expired).to_string())),
                    InviteState::Accepted => (Tone::Success, Signal::derive(move || t_string!(i18n, members.status_accepted).to_string())),
                    InviteState::Revoked => (Tone::Neutral, Signal::derive(move || t_string!(i18n, members.status_revoked).to_string())),
                };
                let role = inv.role;
                view! {
                    <li class="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
                        <span class="font-medium">{inv.email.clone()}</span>
                        <span class="flex items-center gap-2">
                            <Badge>{move || role_label(i18n, role)}</Badge>
                            <Badge tone=tone>{move || label.get()}</Badge>
                            <span class="text-xs text-slate-500">{t!(i18n, members.col_expires)} " " {move || crate::format::date(locale.get(), expires)}</span>
                            <Button variant=ButtonVariant::Ghost on:click=move |_| { resend.dispatch(ResendInvitation { org_id, invitation_id: id }); }>{t!(i18n, members.resend)}</Button>
                            <Button variant=ButtonVariant::DangerGhost on:click=move |_| { revoke.dispatch(RevokeInvitation { org_id, invitation_id: id }); }>{t!(i18n, members.revoke)}</Button>
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
