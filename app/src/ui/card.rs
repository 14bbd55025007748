use leptos::prelude::*;

#[component]
pub fn Card(
    #[prop(optional, into)] title: Option<Signal<String>>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    view! {
        // `.card`: style/main.css.
        <section class=if class.is_empty() { "card".to_string() } else { format!("card {class}") }>
            {title.map(|t| view! { <h2 class="mb-4 text-base font-semibold text-slate-900 dark:text-slate-100">{move || t.get()}</h2> })}
            {children()}
        </section>
    }
}
