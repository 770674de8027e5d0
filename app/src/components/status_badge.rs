//! A pill that tells whether the tab's stream is connecting, live, reconnecting or closed.

use leptos::prelude::*;

use leptos_live::use_live_connection;

/// The connection's status as a coloured pill; `data-status` carries its label for tests and
/// CSS.
#[component]
pub fn StatusBadge() -> impl IntoView {
    let connection = use_live_connection();
    view! {
        <span
            class="status-badge"
            data-testid="status"
            data-status=move || connection.status().label()
            role="status"
        >
            <span class="status-dot" aria-hidden="true"></span>
            {move || connection.status().text()}
        </span>
    }
}
