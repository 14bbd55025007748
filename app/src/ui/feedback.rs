//! Telling the user how a form or an action went: a server error split into
//! the field it names and a banner, a live password check, a toast for a
//! finished server action.

use leptos::prelude::*;

use crate::i18n::{describe, error_message, use_i18n};
use crate::ui::{use_toasts, ToastKind};
use crate::AppError;

/// Splits a server error into (field error for `field`, banner error).
pub fn field_error(err: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    let i18n = use_i18n();
    Signal::derive(move || err.get().filter(|e| e.is_for(field)).map(|e| describe(i18n, &e)))
}

pub fn banner_error(
    err: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> Signal<Option<String>> {
    let i18n = use_i18n();
    Signal::derive(move || {
        err.get()
            .filter(|e| !e.field.as_deref().is_some_and(|f| fields.contains(&f)))
            .map(|e| describe(i18n, &e))
    })
}

/// Live password check in the browser, using the same rule as the server.
pub fn password_feedback(password: RwSignal<String>, email: RwSignal<String>) -> Signal<Option<String>> {
    let i18n = use_i18n();
    Signal::derive(move || {
        let p = password.get();
        if p.is_empty() {
            return None;
        }
        domain::validation::check_password(&p, Some(&email.get())).err().map(|e| error_message(i18n, e.code))
    })
}

/// Shows a toast for a finished action: its error, or `ok`'s text on success.
pub fn toast_result<S>(action: ServerAction<S>, ok: impl Fn() -> Option<String> + Send + Sync + 'static)
where
    S: leptos::server_fn::ServerFn<Error = crate::AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let i18n = use_i18n();
    let toasts = use_toasts();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(_)) => {
            if let Some(m) = ok() {
                toasts.push(ToastKind::Success, m);
            }
        }
        Some(Err(e)) => toasts.push(ToastKind::Error, describe(i18n, &e)),
        None => {}
    });
}
