use leptos::prelude::*;

/// A modal dialog: `role="dialog"`, `aria-modal`, closes on Escape and on
/// backdrop click, and moves focus into itself when opened.
#[component]
pub fn Dialog(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    children: ChildrenFn,
) -> impl IntoView {
    let panel = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(el) = panel.get() {
                let _ = el.focus();
            }
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div class="fixed inset-0 z-40 flex items-center justify-center bg-slate-900/50 p-4" on:click=move |_| open.set(false)>
                <div
                    node_ref=panel
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby="dialog-title"
                    tabindex="-1"
                    class="w-full max-w-md rounded-lg bg-white p-6 shadow-xl focus:outline-none dark:bg-slate-900"
                    on:click=|ev| ev.stop_propagation()
                    on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }
                >
                    <h2 id="dialog-title" class="mb-3 text-lg font-semibold text-slate-900 dark:text-slate-100">{move || title.get()}</h2>
                    {children.read_value()()}
                </div>
            </div>
        </Show>
    }
}
