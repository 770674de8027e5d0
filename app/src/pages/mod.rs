//! One component per route.

use crate::components::LivePrice;
use leptos::prelude::*;
use leptos_router::components::A;

/// `/`: the live dashboard.
#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Dashboard"</h1>
            <p class="lede">
                "Rendered on the server with the current price, then kept live over Server-Sent Events."
            </p>
            <div class="grid">
                <LivePrice symbol="ACME"/>
            </div>
        </section>
    }
}

/// `/about`: a page without streams; navigating here unmounts the dashboard and closes its
/// EventSource.
#[component]
pub fn About() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"About"</h1>
            <p class="lede">
                "leptos-live is a full-stack Rust starter for live dashboards: Leptos components fed by
                Server-Sent Events from axum."
            </p>
            <p>"This page opens no stream. " <A href="/">"Back to the dashboard"</A></p>
        </section>
    }
}

/// Any other path.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="page">
            <h1>"Not found"</h1>
            <p><A href="/">"Back to the dashboard"</A></p>
        </section>
    }
}
