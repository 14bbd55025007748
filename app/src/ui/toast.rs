//! Toast notifications: `use_toasts().push(ToastKind::Success, msg)`.
//! Rendered in an `aria-live` region so screen readers announce them.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
    Info,
}

#[derive(Debug, Clone)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn new() -> Self {
        Self { items: RwSignal::new(Vec::new()), next: StoredValue::new(0) }
    }

    pub fn push(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.items.update(|v| v.push(Toast { id, kind, message: message.into() }));
        let items = self.items;
        set_timeout(move || items.update(|v| v.retain(|t| t.id != id)), std::time::Duration::from_secs(5));
    }

    pub fn dismiss(&self, id: u64) {
        self.items.update(|v| v.retain(|t| t.id != id));
    }
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_toasts() -> Toasts {
    use_context::<Toasts>().unwrap_or_else(|| {
        let t = Toasts::new();
        provide_context(t);
        t
    })
}

#[component]
pub fn Toaster() -> impl IntoView {
    let toasts = use_toasts();
    let i18n = crate::i18n::use_i18n();
    view! {
        <div aria-live="polite" class="pointer-events-none fixed bottom-4 right-4 z-50 flex w-80 flex-col gap-2">
            <For each=move || toasts.items.get() key=|t| t.id let:toast>
                {
                    let tone = match toast.kind {
                        ToastKind::Success => "border-green-300 bg-green-50 text-green-800 dark:border-green-800 dark:bg-green-950 dark:text-green-200",
                        ToastKind::Error => "border-red-300 bg-red-50 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200",
                        ToastKind::Info => "border-slate-300 bg-white text-slate-800 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-200",
                    };
                    let id = toast.id;
                    view! {
                        <div role="status" data-testid="toast" class=format!("pointer-events-auto flex items-start justify-between gap-3 rounded-md border p-3 text-sm shadow-lg {tone}")>
                            <span>{toast.message}</span>
                            <button type="button" aria-label=move || crate::i18n::t_string!(i18n, common.dismiss).to_string() class="opacity-60 hover:opacity-100 focus:outline-none focus-visible:ring-2" on:click=move |_| toasts.dismiss(id)>"×"</button>
                        </div>
                    }
                }
            </For>
        </div>
    }
}
