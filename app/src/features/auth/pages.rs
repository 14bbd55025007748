use leptos::prelude::*;
use leptos_router::components::A;

use super::api::{DevLogin, LogIn, SignUp};
use crate::i18n::{error_message, t, t_string, use_i18n};
use crate::ui::{banner_error, field_error, hard_navigate, password_feedback, Button, FormError, Input};
use crate::AppError;

#[component]
fn AuthLayout(
    #[prop(into)] title: Signal<String>,
    #[prop(into)] subtitle: Signal<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="flex min-h-screen items-center justify-center bg-slate-50 px-4 py-12 dark:bg-slate-950">
            <div class="w-full max-w-sm">
                <div class="mb-6 text-center">
                    <div class="mx-auto mb-3 flex h-10 w-10 items-center justify-center rounded-lg bg-indigo-600 text-lg font-bold text-white">"H"</div>
                    <h1 class="text-2xl font-bold text-slate-900 dark:text-white">{move || title.get()}</h1>
                    <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{move || subtitle.get()}</p>
                </div>
                <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                    {children()}
                </div>
                <div class="mt-4 flex justify-center"><crate::ui::LanguageSwitcher/></div>
            </div>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<LogIn>::new();
    let options = Resource::new(|| (), |_| super::api::login_options());
    // `?error=<code>` comes back from the OAuth callback.
    let query = leptos_router::hooks::use_query_map();
    let redirected = Signal::derive(move || {
        query.read().get("error").and_then(|c| domain::ErrorCode::parse(&c)).map(AppError::new)
    });
    let err = Signal::derive(move || action.value().get().and_then(|r| r.err()).or_else(|| redirected.get()));
    // `?next=` brings the visitor back where sign-in interrupted them (an
    // invitation, a deep link); only paths on this site are followed.
    let next =
        move || query.read().get("next").filter(|n| domain::validation::local_return_path(n).is_some());
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            hard_navigate(&next().unwrap_or_else(|| "/app".into()));
        }
    });
    let google_href = move || match next() {
        Some(n) => format!("/auth/google?next={}", crate::url::encode_component(&n)),
        None => "/auth/google".into(),
    };
    view! {
        <AuthLayout title=Signal::derive(move || t_string!(i18n, auth.login_title).to_string()) subtitle=Signal::derive(move || t_string!(i18n, auth.login_subtitle).to_string())>
            <ActionForm action=action attr:class="space-y-4" attr:data-testid="login-form">
                <FormError message=banner_error(err, &[]) />
                <Input id="email" name="email" kind="email" autocomplete="email" required=true label=Signal::derive(move || t_string!(i18n, auth.email).to_string()) />
                <Input id="password" name="password" kind="password" autocomplete="current-password" required=true label=Signal::derive(move || t_string!(i18n, auth.password).to_string()) />
                <Button submit=true class="w-full" busy=action.pending()>{t!(i18n, auth.login_button)}</Button>
            </ActionForm>
            <Suspense>
                {move || options.get().and_then(|o| o.ok()).map(|o| view! {
                    {o.google.then(|| view! {
                        <div class="my-4 flex items-center gap-3 text-xs text-slate-400"><span class="h-px flex-1 bg-slate-200 dark:bg-slate-700"></span>{t!(i18n, auth.or)}<span class="h-px flex-1 bg-slate-200 dark:bg-slate-700"></span></div>
                        <a href=google_href rel="external" class="flex w-full items-center justify-center gap-2 rounded-md px-3 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:ring-slate-600 dark:hover:bg-slate-800" data-testid="google-login">
                            {t!(i18n, auth.google)}
                        </a>
                    })}
                    {o.dev_login.then(|| view! {
                        <p class="mt-4 text-center text-xs"><A href="/dev-login">{t!(i18n, auth.dev_login_title)}</A></p>
                    })}
                })}
            </Suspense>
            <p class="mt-6 text-center text-sm text-slate-500 dark:text-slate-400">
                {t!(i18n, auth.no_account)} " "
                <A href="/signup" attr:class="font-semibold text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, auth.signup_link)}</A>
            </p>
        </AuthLayout>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SignUp>::new();
    let err = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let live = password_feedback(password, email);
    let pw_field = field_error(err, "password");
    let pw_error = Signal::derive(move || live.get().or_else(|| pw_field.get()));
    Effect::new(move |_| {
        if let Some(Ok(true)) = action.value().get() {
            hard_navigate("/app/orgs/new");
        }
    });
    // A link went to the address (a mail server is configured).
    let check_inbox = move || matches!(action.value().get(), Some(Ok(false)));
    view! {
        <AuthLayout title=Signal::derive(move || t_string!(i18n, auth.signup_title).to_string()) subtitle=Signal::derive(move || t_string!(i18n, auth.signup_subtitle).to_string())>
            <Show when=check_inbox>
                <p class="mb-4 rounded-md bg-indigo-50 p-3 text-sm text-indigo-900 dark:bg-indigo-950 dark:text-indigo-100" role="status" data-testid="signup-check-inbox">
                    {t!(i18n, auth.signup_check_inbox)}
                </p>
            </Show>
            <ActionForm action=action attr:class="space-y-4" attr:data-testid="signup-form">
                <FormError message=banner_error(err, &["name", "email", "password"]) />
                <Input id="name" name="name" autocomplete="name" required=true error=field_error(err, "name") label=Signal::derive(move || t_string!(i18n, auth.name).to_string()) />
                <Input id="email" name="email" kind="email" autocomplete="email" required=true value=email error=field_error(err, "email") label=Signal::derive(move || t_string!(i18n, auth.email).to_string()) />
                <Input id="password" name="password" kind="password" autocomplete="new-password" required=true value=password error=pw_error
                    hint=Signal::derive(move || if password.get().is_empty() { t_string!(i18n, auth.password_hint).to_string() } else { t_string!(i18n, auth.password_ok).to_string() })
                    label=Signal::derive(move || t_string!(i18n, auth.password).to_string()) />
                <Button submit=true class="w-full" busy=action.pending()>{t!(i18n, auth.signup_button)}</Button>
            </ActionForm>
            <p class="mt-6 text-center text-sm text-slate-500 dark:text-slate-400">
                {t!(i18n, auth.have_account)} " "
                <A href="/login" attr:class="font-semibold text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, auth.login_link)}</A>
            </p>
        </AuthLayout>
    }
}

#[component]
pub fn DevLoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let users = Resource::new(|| (), |_| super::api::dev_login_users());
    let action = ServerAction::<DevLogin>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            hard_navigate("/app");
        }
    });
    view! {
        <AuthLayout title=Signal::derive(move || t_string!(i18n, auth.dev_login_title).to_string()) subtitle=Signal::derive(move || t_string!(i18n, auth.dev_login_hint).to_string())>
            <Suspense fallback=|| view! { <crate::ui::Skeleton/> }>
                {move || users.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(error_message(i18n, e.code))) /> }.into_any(),
                    Ok(list) => view! {
                        <ul class="space-y-2">
                            {list.into_iter().map(|(email, name)| {
                                let e2 = email.clone();
                                view! {
                                    <li><ActionForm action=action>
                                        <input type="hidden" name="email" value=email/>
                                        <Button submit=true variant=crate::ui::ButtonVariant::Secondary class="w-full">
                                            {t!(i18n, auth.dev_login_as, email = e2.clone())} " (" {name} ")"
                                        </Button>
                                    </ActionForm></li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </AuthLayout>
    }
}
