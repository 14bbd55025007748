//! Handoo's Leptos application: the UI and its typed server functions.
//!
//! Compiled twice: with `ssr` into the server (server functions run there,
//! backed by `services`), and with `hydrate` into wasm (server functions become
//! fetch calls). The wasm build depends only on `domain` + Leptos.

#![recursion_limit = "512"]

pub mod browser_audio;
#[cfg(feature = "ssr")]
pub mod client_ip;
pub mod csrf;
pub mod error;
pub mod features;
pub mod format;
pub mod i18n;
pub mod live;
#[cfg(feature = "ssr")]
pub mod login_throttle;
pub mod routes;
pub mod shell;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod ui;
pub mod url;

pub use error::AppError;
pub use shell::{shell, App};

/// Hydrates the server-rendered page (called by the `frontend` crate).
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    // Like `leptos::mount::hydrate_lazy`: a server-rendered page may be a
    // lazy route whose chunk must load before its DOM can be hydrated, so
    // hydration is async. The flag is set once it is done, for end-to-end
    // tests (and curious humans).
    wasm_bindgen_futures::spawn_local(async {
        let owner =
            leptos::mount::hydrate_from_async(leptos::prelude::document().body().expect("a <body>"), App)
                .await;
        owner.forget();
        if let Some(w) = web_sys::window() {
            // When, on the page's clock: the copilot bench reads it.
            if let Some(perf) = w.performance() {
                let _ = js_sys::Reflect::set(&w, &"__handooHydratedAt".into(), &perf.now().into());
            }
            let _ = js_sys::Reflect::set(&w, &"__handooHydrated".into(), &true.into());
        }
    });
}
