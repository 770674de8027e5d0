//! Deploy reload for dashboards left open on a wall screen: when a stream announces a build
//! newer than the page's, say so and reload, each tab after its own random wait so that a
//! deploy does not send every open tab to the server at once.

use leptos::prelude::*;

use leptos_live::use_live_connection;

/// How long the banner shows before the page reloads: at least this…
#[cfg(feature = "hydrate")]
const RELOAD_AFTER_MS: f64 = 1_500.0;
/// …plus up to this, at random.
#[cfg(feature = "hydrate")]
const JITTER_MS: f64 = 8_500.0;

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
                std::time::Duration::from_millis(
                    (RELOAD_AFTER_MS + web_sys::js_sys::Math::random() * JITTER_MS) as u64,
                ),
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
