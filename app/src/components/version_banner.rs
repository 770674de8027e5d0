//! Deploy reload for dashboards left open on a wall screen: when a stream announces a build
//! other than the page's, say so and reload.

use leptos::prelude::*;

use leptos_live::use_live_connection;

/// How long the banner shows before the page reloads.
#[cfg(feature = "hydrate")]
const RELOAD_AFTER_MS: u64 = 1_500;

#[island]
pub fn VersionBanner() -> impl IntoView {
    let connection = use_live_connection();
    let new_build = move || connection.new_build();
    Effect::new(move |_| {
        if new_build().is_some() {
            #[cfg(feature = "hydrate")]
            set_timeout(
                || {
                    let _ = window().location().reload();
                },
                std::time::Duration::from_millis(RELOAD_AFTER_MS),
            );
        }
    });
    view! {
        {move || {
            new_build()
                .map(|build| {
                    view! {
                        <div class="banner" role="status" data-testid="new-version">
                            "A new version is available (" {build} "); reloading…"
                        </div>
                    }
                })
        }}
    }
}
