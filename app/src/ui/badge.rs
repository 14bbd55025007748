use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Neutral,
    Info,
    Success,
    Warning,
    Danger,
}

#[component]
pub fn Badge(#[prop(optional)] tone: Tone, children: Children) -> impl IntoView {
    let tone = match tone {
        Tone::Neutral => {
            "bg-slate-100 text-slate-700 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300"
        }
        Tone::Info => {
            "bg-indigo-50 text-indigo-700 ring-indigo-600/20 dark:bg-indigo-950 dark:text-indigo-300"
        }
        Tone::Success => "bg-green-50 text-green-700 ring-green-600/20 dark:bg-green-950 dark:text-green-300",
        Tone::Warning => "bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-950 dark:text-amber-300",
        Tone::Danger => "bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-950 dark:text-red-300",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset {tone}")>
            {children()}
        </span>
    }
}

/// A pulsing red dot and a word, while a microphone or a call is live.
#[component]
pub fn LiveIndicator(
    /// The element's `data-testid`.
    #[prop(into)]
    testid: String,
    children: Children,
) -> impl IntoView {
    view! {
        <span class="flex items-center gap-2 text-sm text-red-600" data-testid=testid>
            <span class="h-2 w-2 animate-pulse rounded-full bg-red-600" aria-hidden="true"></span>{children()}
        </span>
    }
}
