use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ButtonVariant {
    #[default]
    Primary,
    Secondary,
    Ghost,
    Danger,
    /// Quiet destructive action (row-level "Remove", "Revoke").
    DangerGhost,
}

impl ButtonVariant {
    fn class(self) -> &'static str {
        match self {
            ButtonVariant::Primary => "bg-indigo-600 text-white hover:bg-indigo-500 dark:bg-indigo-500 dark:hover:bg-indigo-400",
            ButtonVariant::Secondary => "bg-white text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-600 dark:hover:bg-slate-700",
            ButtonVariant::Ghost => "text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800",
            ButtonVariant::Danger => "bg-red-600 text-white hover:bg-red-500",
            ButtonVariant::DangerGhost => "text-red-600 shadow-none hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-950",
        }
    }
}

/// A button. Defaults to `type="button"`; pass `submit=true` in forms.
#[component]
pub fn Button(
    #[prop(optional)] variant: ButtonVariant,
    #[prop(optional)] submit: bool,
    #[prop(optional, into)] disabled: Signal<bool>,
    #[prop(optional, into)] busy: Signal<bool>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    view! {
        <button
            type=if submit { "submit" } else { "button" }
            disabled=move || disabled.get() || busy.get()
            aria-busy=move || busy.get().then_some("true")
            class=format!(
                "inline-flex items-center justify-center gap-2 rounded-md px-3 py-2 text-sm font-semibold shadow-sm transition focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 dark:focus-visible:ring-offset-slate-900 disabled:cursor-not-allowed disabled:opacity-50 {} {}",
                variant.class(),
                class,
            )
        >
            {move || busy.get().then(|| view! {
                <span class="h-4 w-4 animate-spin rounded-full border-2 border-current border-t-transparent" aria-hidden="true"></span>
            })}
            {children()}
        </button>
    }
}
