//! The wasm entry point: cargo-leptos's generated loader calls `hydrate()`.
//! This crate depends only on `app` with the `hydrate` feature, so no
//! server-only crate can reach the browser bundle (checked by scripts/check-wasm-deps).

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate();
}
