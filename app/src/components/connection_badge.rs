//! The tab's connection status, with a "reconnect" button when it is not live.

use leptos::prelude::*;

use super::StatusBadge;
use crate::live::{StreamStatus, use_live_connection};

#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let connection = use_live_connection();
    let status = connection.status();
    let offline = move || {
        matches!(
            status.get(),
            StreamStatus::Reconnecting(_) | StreamStatus::Closed
        )
    };
    view! {
        <div class="connection">
            <StatusBadge status/>
            <Show when=offline>
                <button class="link-button" on:click=move |_| connection.reconnect()>
                    "Reconnect now"
                </button>
            </Show>
        </div>
    }
}
