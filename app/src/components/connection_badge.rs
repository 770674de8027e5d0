//! The tab's connection status, with a "reconnect" button when it is not live.

use leptos::prelude::*;

use super::StatusBadge;
use leptos_live::use_live_connection;

#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let connection = use_live_connection();
    let offline = move || connection.status().offline();
    view! {
        <div class="connection">
            <StatusBadge/>
            {move || {
                offline()
                    .then(|| {
                        view! {
                            <button class="link-button" on:click=move |_| connection.reconnect()>
                                "Reconnect now"
                            </button>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}
