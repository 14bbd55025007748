//! Form controls with labels, hints and inline validation errors wired to
//! `aria-invalid` / `aria-describedby`.

use leptos::prelude::*;

const CONTROL: &str = "block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:outline-none focus:ring-2 focus:ring-inset focus:ring-indigo-600 aria-[invalid=true]:ring-red-500 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-600";

/// The compact input and select of filter bars and inline forms.
pub const COMPACT_CONTROL: &str = "block w-full rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";

fn label_view(id: &str, label: Signal<String>) -> impl IntoView {
    view! {
        <label for=id.to_string() class="mb-1 block text-sm font-medium text-slate-700 dark:text-slate-200">
            {move || label.get()}
        </label>
    }
}

fn help_view(id: String, hint: Option<Signal<String>>, error: Signal<Option<String>>) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    view! {
        {move || match error.get() {
            Some(e) => view! { <p id=err_id.clone() class="mt-1 text-sm text-red-600 dark:text-red-400" role="alert">{e}</p> }.into_any(),
            None => match hint {
                Some(h) => view! { <p id=hint_id.clone() class="mt-1 text-xs text-slate-500 dark:text-slate-400">{move || h.get()}</p> }.into_any(),
                None => ().into_any(),
            },
        }}
    }
}

fn described_by(id: &str, error: Signal<Option<String>>) -> impl Fn() -> String + Send + Sync + 'static {
    let id = id.to_string();
    move || if error.get().is_some() { format!("{id}-error") } else { format!("{id}-hint") }
}

#[component]
pub fn Input(
    #[prop(into)] id: String,
    #[prop(into)] name: String,
    #[prop(into)] label: Signal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] value: Option<RwSignal<String>>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional, into)] hint: Option<Signal<String>>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] readonly: bool,
) -> impl IntoView {
    let value = value.unwrap_or_else(|| RwSignal::new(String::new()));
    view! {
        <div>
            {label_view(&id, label)}
            <input
                id=id.clone()
                name=name
                type=kind
                class=CONTROL
                autocomplete=autocomplete
                required=required
                readonly=readonly
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described_by(&id, error)
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {help_view(id, hint, error)}
        </div>
    }
}

#[component]
pub fn TextArea(
    #[prop(into)] id: String,
    #[prop(into)] name: String,
    #[prop(into)] label: Signal<String>,
    #[prop(optional)] value: Option<RwSignal<String>>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(default = 4)] rows: u32,
) -> impl IntoView {
    let value = value.unwrap_or_else(|| RwSignal::new(String::new()));
    view! {
        <div>
            {label_view(&id, label)}
            <textarea
                id=id.clone()
                name=name
                rows=rows
                class=CONTROL
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described_by(&id, error)
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
            {help_view(id, None, error)}
        </div>
    }
}

/// A native `<select>`: keyboard and screen-reader support for free.
#[component]
pub fn Select(
    #[prop(into)] id: String,
    #[prop(into)] name: String,
    #[prop(into)] label: Signal<String>,
    /// (value, label) pairs.
    #[prop(into)]
    options: Signal<Vec<(String, String)>>,
    #[prop(optional)] value: Option<RwSignal<String>>,
    #[prop(optional, into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let value = value.unwrap_or_else(|| RwSignal::new(String::new()));
    view! {
        <div>
            {label_view(&id, label)}
            <select
                id=id.clone()
                name=name
                class=CONTROL
                aria-invalid=move || error.get().is_some().to_string()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {move || {
                    options
                        .get()
                        .into_iter()
                        .map(|(v, l)| {
                            let selected = value.get_untracked() == v;
                            view! { <option value=v selected=selected>{l}</option> }
                        })
                        .collect_view()
                }}
            </select>
            {help_view(id, None, error)}
        </div>
    }
}

#[component]
pub fn Checkbox(
    #[prop(into)] id: String,
    #[prop(into)] name: String,
    #[prop(into)] label: Signal<String>,
    checked: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="flex items-center gap-2">
            <input
                id=id.clone()
                name=name
                type="checkbox"
                class="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-2 focus:ring-indigo-600"
                prop:checked=move || checked.get()
                on:change=move |ev| checked.set(event_target_checked(&ev))
            />
            <label for=id class="text-sm text-slate-700 dark:text-slate-200">{move || label.get()}</label>
        </div>
    }
}

/// An on/off switch (`role="switch"`), operable with Space and Enter.
#[component]
pub fn Switch(#[prop(into)] label: Signal<String>, checked: RwSignal<bool>) -> impl IntoView {
    view! {
        <button
            type="button"
            role="switch"
            aria-checked=move || checked.get().to_string()
            aria-label=move || label.get()
            on:click=move |_| checked.update(|c| *c = !*c)
            class=move || format!(
                "relative inline-flex h-6 w-11 shrink-0 cursor-pointer rounded-full transition focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 {}",
                if checked.get() { "bg-indigo-600" } else { "bg-slate-300 dark:bg-slate-600" },
            )
        >
            <span
                aria-hidden="true"
                class=move || format!(
                    "pointer-events-none inline-block h-5 w-5 translate-y-0.5 rounded-full bg-white shadow transition {}",
                    if checked.get() { "translate-x-5" } else { "translate-x-0.5" },
                )
            ></span>
        </button>
    }
}

const ALERT: &str = "rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-700 dark:border-red-900 dark:bg-red-950 dark:text-red-300";

/// A form-level error banner (`role="alert"` so it is announced).
#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        {move || message.get().map(|m| view! {
            <div role="alert" data-testid="form-error" class=ALERT>
                {m}
            </div>
        })}
    }
}

/// [`FormError`] for an error from the server: its message in the reader's
/// language and, when it says the plan's limit is reached, the way to the
/// billing page to upgrade.
#[component]
pub fn ErrorNotice(#[prop(into)] error: Signal<Option<crate::AppError>>) -> impl IntoView {
    use crate::i18n::{describe, t, use_i18n};
    let i18n = use_i18n();
    view! {
        {move || error.get().map(|e| {
            let quota = e.code == domain::ErrorCode::QuotaExceeded;
            view! {
                <div role="alert" data-testid="form-error" class=ALERT>
                    {describe(i18n, &e)}
                    {quota.then(|| view! {
                        " "
                        <a href="/app/billing" class="font-medium underline" data-testid="upgrade-link">{t!(i18n, billing.upgrade)}</a>
                    })}
                </div>
            }
        })}
    }
}
