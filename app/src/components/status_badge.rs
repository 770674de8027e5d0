//! A pill that tells whether the stream is connecting, live, reconnecting or closed.

use crate::live::StreamStatus;
use leptos::prelude::*;

/// Shows `status` as a coloured pill; `data-status` carries its label for tests and CSS.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<StreamStatus>) -> impl IntoView {
    view! {
        <span
            class="status-badge"
            data-testid="status"
            data-status=move || status.get().label()
            role="status"
        >
            <span class="status-dot" aria-hidden="true"></span>
            {move || status.get().text()}
        </span>
    }
}
