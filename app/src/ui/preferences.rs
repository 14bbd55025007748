//! The visitor's preferences: language and theme.

use leptos::prelude::*;

use crate::i18n::{t_string, use_i18n, Locale};

/// Saves a language choice on the account; provided while someone is signed
/// in (the switcher works without it, for the visit only).
#[derive(Clone, Copy)]
pub struct SaveLocale(pub Callback<domain::Locale>);

/// EN / FR switch: applies at once, and is saved on the account when signed in.
#[component]
pub fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let save = use_context::<SaveLocale>();
    view! {
        <div class="inline-flex rounded-md ring-1 ring-slate-300 dark:ring-slate-600" role="group" aria-label=move || t_string!(i18n, nav.language).to_string()>
            {[(Locale::en, "EN"), (Locale::fr, "FR")].into_iter().map(|(l, label)| view! {
                <button type="button" data-testid=format!("lang-{}", label.to_lowercase())
                    aria-pressed=move || (i18n.get_locale() == l).to_string()
                    class=move || format!("px-2 py-1 text-xs font-semibold first:rounded-l-md last:rounded-r-md focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 {}",
                        if i18n.get_locale() == l { "bg-indigo-600 text-white" } else { "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800" })
                    on:click=move |_| {
                        i18n.set_locale(l);
                        crate::i18n::remember_locale(l);
                        if let Some(SaveLocale(save)) = save {
                            save.run(crate::i18n::to_domain(l));
                        }
                    }>{label}</button>
            }).collect_view()}
        </div>
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let i18n = use_i18n();
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
            let Some(root) = doc.document_element() else { return };
            let dark = root.class_list().toggle("dark").unwrap_or(false);
            if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
                let _ = storage.set_item("theme", if dark { "dark" } else { "light" });
            }
        }
    };
    view! {
        <button type="button" data-testid="theme-toggle" on:click=toggle
            class="rounded-md p-2 text-sm ring-1 ring-slate-300 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:ring-slate-600 dark:hover:bg-slate-800"
            aria-label=move || t_string!(i18n, nav.theme_toggle).to_string()>
            <span class="dark:hidden" aria-hidden="true">"☾"</span>
            <span class="hidden dark:inline" aria-hidden="true">"☀"</span>
        </button>
    }
}
