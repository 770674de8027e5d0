//! The wasm entry point. cargo-leptos builds this crate for `wasm32-unknown-unknown`; the
//! generated JS calls [`hydrate`], which brings the page's islands to life (see `app`: only
//! `#[island]` components run in the browser; the rest of the page is server-rendered HTML).

// Links `app`: its `#[island]` components are this wasm's exports, found by name in the page.
extern crate app;

/// Hydrates the islands of the server-rendered page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
