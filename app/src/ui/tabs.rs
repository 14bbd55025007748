use leptos::prelude::*;

/// Tabs with arrow-key navigation (WAI-ARIA tabs pattern). The caller renders
/// the panel for `selected`.
#[component]
pub fn Tabs(#[prop(into)] labels: Signal<Vec<String>>, selected: RwSignal<usize>) -> impl IntoView {
    view! {
        <div role="tablist" class="flex gap-1 border-b border-slate-200 dark:border-slate-700"
            on:keydown=move |ev| {
                let n = labels.get_untracked().len();
                if n == 0 { return; }
                match ev.key().as_str() {
                    "ArrowRight" => selected.update(|s| *s = (*s + 1) % n),
                    "ArrowLeft" => selected.update(|s| *s = (*s + n - 1) % n),
                    _ => {}
                }
            }
        >
            {move || labels.get().into_iter().enumerate().map(|(i, label)| view! {
                <button
                    type="button"
                    role="tab"
                    aria-selected=move || (selected.get() == i).to_string()
                    tabindex=move || if selected.get() == i { "0" } else { "-1" }
                    on:click=move |_| selected.set(i)
                    class=move || format!(
                        "-mb-px border-b-2 px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 {}",
                        if selected.get() == i { "border-indigo-600 text-indigo-600 dark:text-indigo-400" } else { "border-transparent text-slate-500 hover:text-slate-700 dark:text-slate-400" },
                    )
                >{label}</button>
            }).collect_view()}
        </div>
    }
}
