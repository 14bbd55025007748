use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::{AcceptInvite, AcceptInviteNewUser};
use crate::features::members::types::InviteState;
use crate::i18n::{error_message, role_label, t, t_string, use_i18n};
use crate::ui::{banner_error, field_error, hard_navigate, password_feedback};
use crate::ui::{Button, Card, FormError, Input, Skeleton};
use domain::ErrorCode;

#[component]
pub fn InvitePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let preview = Resource::new(token, super::api::invite_preview);
    let accept = ServerAction::<AcceptInvite>::new();
    let create = ServerAction::<AcceptInviteNewUser>::new();
    let accept_err = Signal::derive(move || {
        accept.value().get().and_then(|r| r.err()).map(|e| error_message(i18n, e.code))
    });
    let create_err = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if matches!(accept.value().get(), Some(Ok(_))) || matches!(create.value().get(), Some(Ok(_))) {
            hard_navigate("/app");
        }
    });
    let password = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let email_sig = RwSignal::new(String::new());
    let live = password_feedback(password, email_sig);
    let pw_field = field_error(create_err, "password");
    let pw_error = Signal::derive(move || live.get().or_else(|| pw_field.get()));

    view! {
        <div class="flex min-h-screen items-center justify-center bg-slate-50 px-4 dark:bg-slate-950">
            <div class="w-full max-w-md">
                <Suspense fallback=|| view! { <Skeleton lines=4/> }>
                    {move || preview.get().map(|r| match r {
                        Err(e) => view! { <Card><FormError message=Signal::derive(move || Some(error_message(i18n, e.code)))/></Card> }.into_any(),
                        Ok(p) => {
                            email_sig.set(p.email.clone());
                            let status_code = match p.status {
                                InviteState::Pending => None,
                                InviteState::Expired => Some(ErrorCode::InviteExpired),
                                InviteState::Accepted => Some(ErrorCode::InviteUsed),
                                InviteState::Revoked => Some(ErrorCode::InviteRevoked),
                            };
                            let org = p.org_name.clone();
                            let role = p.role;
                            let tok = token();
                            let body = if let Some(code) = status_code {
                                view! { <FormError message=Signal::derive(move || Some(error_message(i18n, code)))/> }.into_any()
                            } else if let Some(me) = p.signed_in_as.clone() {
                                let mismatch = !me.eq_ignore_ascii_case(&p.email);
                                view! {
                                    <FormError message=accept_err/>
                                    {mismatch.then(|| view! { <FormError message=Signal::derive(move || Some(error_message(i18n, ErrorCode::InviteEmailMismatch)))/> })}
                                    <Button class="w-full" busy=accept.pending() attr:data-testid="accept-invite"
                                        on:click=move |_| { accept.dispatch(AcceptInvite { token: tok.clone() }); }>{t!(i18n, invite.accept)}</Button>
                                }.into_any()
                            } else if p.account_exists {
                                let login = format!("/login?next={}", crate::url::encode_component(&format!("/invite/{tok}")));
                                view! {
                                    <a href=login data-testid="invite-login" class="block w-full rounded-md bg-indigo-600 px-3 py-2 text-center text-sm font-semibold text-white">{t!(i18n, invite.login_to_accept)}</a>
                                }.into_any()
                            } else {
                                let tok2 = tok.clone();
                                view! {
                                    <form class="space-y-4" data-testid="invite-signup-form" on:submit=move |ev| {
                                        ev.prevent_default();
                                        create.dispatch(AcceptInviteNewUser { token: tok2.clone(), name: name.get_untracked(), password: password.get_untracked() });
                                    }>
                                        <FormError message=banner_error(create_err, &["name", "password"])/>
                                        <Input id="invite-email" name="email" kind="email" readonly=true value=RwSignal::new(p.email.clone()) label=Signal::derive(move || t_string!(i18n, auth.email).to_string())/>
                                        <Input id="name" name="name" required=true value=name error=field_error(create_err, "name") label=Signal::derive(move || t_string!(i18n, auth.name).to_string())/>
                                        <Input id="password" name="password" kind="password" autocomplete="new-password" required=true value=password error=pw_error label=Signal::derive(move || t_string!(i18n, auth.password).to_string())/>
                                        <Button submit=true class="w-full" busy=create.pending()>{t!(i18n, invite.create_and_join)}</Button>
                                    </form>
                                }.into_any()
                            };
                            view! {
                                <Card>
                                    <h1 class="mb-2 text-xl font-bold" data-testid="invite-title">{t!(i18n, invite.title, org = org.clone())}</h1>
                                    <p class="mb-1 text-sm text-slate-600 dark:text-slate-300">{move || t_string!(i18n, invite.body, org = org.clone(), role = role_label(i18n, role)).to_string()}</p>
                                    <p class="mb-4 text-xs text-slate-500">{t!(i18n, invite.for_email, email = p.email.clone())}</p>
                                    {body}
                                </Card>
                            }.into_any()
                        }
                    })}
                </Suspense>
            </div>
        </div>
    }
}
