use leptos::prelude::*;

/// What can take keyboard focus inside a dialog.
#[cfg(feature = "hydrate")]
const FOCUSABLE: &str = "a[href],button:not([disabled]),input:not([disabled]),select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex='-1'])";

/// A modal dialog (WAI-ARIA dialog pattern): `role="dialog"`, `aria-modal`,
/// closes on Escape and on backdrop click, moves focus into itself when
/// opened, keeps Tab and Shift+Tab inside while open, and gives focus back to
/// whatever had it (the button that opened it) when it closes.
#[component]
pub fn Dialog(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    children: ChildrenFn,
) -> impl IntoView {
    let panel = NodeRef::<leptos::html::Div>::new();
    // Several dialogs can live on one page: each labels itself by its own id.
    let title_id = format!("dialog-title-{}", next_id());
    #[cfg(feature = "hydrate")]
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if is_open && was_open != Some(true) {
                let active = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.active_element())
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                opener.set_value(active);
            } else if !is_open && was_open == Some(true) {
                if let Some(el) = opener.get_value() {
                    let _ = el.focus();
                }
            }
        }
        if is_open {
            if let Some(el) = panel.get() {
                let _ = el.focus();
            }
        }
        let _ = was_open;
        is_open
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => open.set(false),
        #[cfg(feature = "hydrate")]
        "Tab" => trap_tab(&panel, &ev),
        _ => {}
    };
    let children = StoredValue::new(children);
    let labelled_by = title_id.clone();
    view! {
        <Show when=move || open.get()>
            <div class="fixed inset-0 z-40 flex items-center justify-center bg-slate-900/50 p-4" on:click=move |_| open.set(false)>
                <div
                    node_ref=panel
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby=labelled_by.clone()
                    tabindex="-1"
                    class="w-full max-w-md rounded-lg bg-white p-6 shadow-xl focus:outline-none dark:bg-slate-900"
                    on:click=|ev| ev.stop_propagation()
                    on:keydown=on_keydown
                >
                    <h2 id=title_id.clone() class="mb-3 text-lg font-semibold text-slate-900 dark:text-slate-100">{move || title.get()}</h2>
                    {children.read_value()()}
                </div>
            </div>
        </Show>
    }
}

/// Tab from the last focusable element wraps to the first, Shift+Tab from the
/// first (or from the panel itself) wraps to the last.
#[cfg(feature = "hydrate")]
fn trap_tab(panel: &NodeRef<leptos::html::Div>, ev: &leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let Some(panel) = panel.get() else { return };
    let Ok(list) = panel.query_selector_all(FOCUSABLE) else { return };
    let items: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        ev.prevent_default(); // nothing to move to: stay on the panel
        return;
    };
    let active = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element());
    let is_active = |node: &web_sys::Node| active.as_ref().is_some_and(|a| a.is_same_node(Some(node)));
    let on = |el: &web_sys::HtmlElement| is_active(el);
    let on_panel = is_active(&panel);
    if ev.shift_key() && (on(first) || on_panel) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && on(last) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// A process-wide counter for element ids. Server and browser render the same
/// components in the same order, but ids only need to be unique per page, and
/// a mismatch only affects which title labels a dialog, never hydration of text.
fn next_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
