use leptos::prelude::*;

/// Placeholder lines shown while data loads.
#[component]
pub fn Skeleton(#[prop(default = 3)] lines: usize) -> impl IntoView {
    view! {
        <div class="animate-pulse space-y-3" aria-hidden="true" data-testid="skeleton">
            {(0..lines)
                .map(|i| {
                    let w = ["w-full", "w-5/6", "w-2/3", "w-3/4"][i % 4];
                    view! { <div class=format!("h-4 rounded bg-slate-200 dark:bg-slate-700 {w}")></div> }
                })
                .collect_view()}
        </div>
    }
}
