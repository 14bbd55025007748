use leptos::prelude::*;

/// Tabs (WAI-ARIA tabs pattern, automatic activation): one tab stop; Left and
/// Right arrows (wrapping), Home and End select a tab *and move focus to it*.
/// Each tab names the panel it controls; render that panel with [`TabPanel`]
/// and the same `id`.
#[component]
pub fn Tabs(
    /// Prefix of the tab and panel element ids; unique on the page.
    #[prop(into)]
    id: String,
    #[prop(into)] labels: Signal<Vec<String>>,
    selected: RwSignal<usize>,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Div>::new();
    let tab_id = StoredValue::new(id.clone());
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let n = labels.get_untracked().len();
        if n == 0 {
            return;
        }
        let current = selected.get_untracked().min(n - 1);
        let to = match ev.key().as_str() {
            "ArrowRight" => (current + 1) % n,
            "ArrowLeft" => (current + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        ev.prevent_default();
        selected.set(to);
        #[cfg(feature = "hydrate")]
        if let Some(el) = list.get() {
            use wasm_bindgen::JsCast;
            let selector = format!("#{}-tab-{to}", tab_id.get_value());
            if let Some(tab) = el.query_selector(&selector).ok().flatten() {
                if let Ok(tab) = tab.dyn_into::<web_sys::HtmlElement>() {
                    let _ = tab.focus();
                }
            }
        }
    };
    view! {
        <div role="tablist" node_ref=list class="flex gap-1 border-b border-slate-200 dark:border-slate-700" on:keydown=on_keydown>
            {move || labels.get().into_iter().enumerate().map(|(i, label)| {
                let prefix = tab_id.get_value();
                view! {
                    <button
                        type="button"
                        role="tab"
                        id=format!("{prefix}-tab-{i}")
                        aria-controls=format!("{prefix}-panel")
                        aria-selected=move || (selected.get() == i).to_string()
                        tabindex=move || if selected.get() == i { "0" } else { "-1" }
                        on:click=move |_| selected.set(i)
                        class=move || format!(
                            "-mb-px border-b-2 px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 {}",
                            if selected.get() == i { "border-indigo-600 text-indigo-600 dark:text-indigo-400" } else { "border-transparent text-slate-500 hover:text-slate-700 dark:text-slate-400" },
                        )
                    >{label}</button>
                }
            }).collect_view()}
        </div>
    }
}

/// The panel of a [`Tabs`] with the same `id`, labelled by the selected tab.
#[component]
pub fn TabPanel(#[prop(into)] id: String, selected: RwSignal<usize>, children: Children) -> impl IntoView {
    let labelled_by = {
        let id = id.clone();
        move || format!("{id}-tab-{}", selected.get())
    };
    view! {
        <div role="tabpanel" id=format!("{id}-panel") aria-labelledby=labelled_by tabindex="0"
            class="rounded-b focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
            {children()}
        </div>
    }
}
