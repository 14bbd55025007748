//! Handoo's Leptos application: the UI and its typed server functions.
//!
//! Compiled twice: with `ssr` into the server (server functions run there,
//! backed by `services`), and with `hydrate` into wasm (server functions become
//! fetch calls). The wasm build depends only on `domain` + Leptos.

#![recursion_limit = "512"]

pub mod csrf;
pub mod error;
pub mod features;
pub mod format;
pub mod i18n;
pub mod routes;
pub mod shell;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod ui;

pub use error::AppError;
pub use shell::{shell, App};

/// Hydrates the server-rendered page (called by the `frontend` crate).
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    leptos::mount::hydrate_body(App);
    // A flag for end-to-end tests (and curious humans) that hydration ran.
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"__handooHydrated".into(), &true.into());
    }
}
