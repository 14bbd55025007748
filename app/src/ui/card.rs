use leptos::prelude::*;

#[component]
pub fn Card(
    #[prop(optional, into)] title: Option<Signal<String>>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class=format!("rounded-lg border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-700 dark:bg-slate-900 {class}")>
            {title.map(|t| view! { <h2 class="mb-4 text-base font-semibold text-slate-900 dark:text-slate-100">{move || t.get()}</h2> })}
            {children()}
        </section>
    }
}
