//! [`app`]: the whole router: the stream and stats API, the Leptos pages (rendered with a
//! snapshot of the feeds) and the static files cargo-leptos builds.

use app::{
    App,
    events::{PRICES_STREAM, PriceTick, STATS_URL, StreamStats, channels},
    live::Snapshot,
    shell,
};
use axum::{Json, Router, extract::State, routing::get};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};

use crate::{AppState, sse};

/// Builds the router for `state`.
pub fn app(state: AppState) -> Router {
    let options = state.config.leptos.clone();
    let pages = generate_route_list(App);
    let render_state = state.clone();

    Router::new()
        .route(PRICES_STREAM, get(sse::prices))
        .route(STATS_URL, get(stats))
        .route("/healthz", get(|| async { "ok\n" }))
        .leptos_routes_with_context(
            &state,
            pages,
            // Runs for every page request, before rendering: the page shows what the feeds
            // hold at this moment.
            move || provide_context(snapshot(&render_state)),
            move || shell(options.clone()),
        )
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

/// `GET /api/stats`: open stream connections and events published, as JSON.
async fn stats(State(state): State<AppState>) -> Json<StreamStats> {
    Json(state.hub.stats().snapshot())
}

/// What the feeds hold right now, for the page being rendered.
fn snapshot(state: &AppState) -> Snapshot {
    Snapshot {
        price: state.hub.latest::<PriceTick>(channels::PRICES),
    }
}
