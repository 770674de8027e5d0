//! One component per route.

mod streams;
mod tasks;

pub use streams::Streams;
pub use tasks::Tasks;

use leptos::prelude::*;
use leptos_router::components::A;

/// `/about`: a page without streams; navigating here unmounts the dashboard, which drops its
/// subscriptions and so closes the tab's EventSource.
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

/// Any other path (404).
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
