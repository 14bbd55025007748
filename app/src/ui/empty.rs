use leptos::prelude::*;

#[component]
pub fn EmptyState(
    #[prop(into)] title: Signal<String>,
    #[prop(optional, into)] body: Option<Signal<String>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="flex flex-col items-center justify-center rounded-lg border-2 border-dashed border-slate-300 p-10 text-center dark:border-slate-700" role="status">
            <svg class="mb-3 h-10 w-10 text-slate-400" fill="none" viewBox="0 0 24 24" stroke="currentColor" aria-hidden="true">
                <path stroke-linecap="round" stroke-linejoin="round" stroke-width="1.5" d="M20 13V7a2 2 0 00-2-2H6a2 2 0 00-2 2v6m16 0v4a2 2 0 01-2 2H6a2 2 0 01-2-2v-4m16 0h-4l-2 2h-4l-2-2H4"/>
            </svg>
            <p class="text-sm font-semibold text-slate-900 dark:text-slate-100">{move || title.get()}</p>
            {body.map(|b| view! { <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{move || b.get()}</p> })}
            {children.map(|c| view! { <div class="mt-4">{c()}</div> })}
        </div>
    }
}
