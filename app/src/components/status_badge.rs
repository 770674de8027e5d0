//! A small pill that tells whether a stream is connecting, live or reconnecting.

use crate::live::StreamStatus;
use leptos::prelude::*;

/// Shows `status` as a coloured pill; `data-status` carries the same word for tests and CSS.
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
            {move || status.get().label()}
        </span>
    }
}
