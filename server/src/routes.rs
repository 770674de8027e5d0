//! [`app`]: the whole router: the stream and REST API, the Leptos pages (rendered with a
//! snapshot of the feeds) and the static files cargo-leptos builds.

use app::{
    App,
    events::{MULTI_STREAM, NOTIFICATIONS_STREAM, ORDERS_STREAM, PRICES_STREAM, STATS_URL},
    shell,
};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, Method, header},
    middleware,
    routing::{get, patch, post},
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::cors::CorsLayer;

use crate::{AppState, api, auth, feeds, host::AppHost, sse};

/// Largest request body the API reads (413 beyond): plenty for an order or a notification.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Builds the router for `state`.
pub fn app(state: AppState) -> Router {
    let pages = generate_route_list(App);

    let api = Router::new()
        .route(PRICES_STREAM, get(sse::prices))
        .route(ORDERS_STREAM, get(sse::orders))
        .route(NOTIFICATIONS_STREAM, get(sse::notifications))
        .route(MULTI_STREAM, get(sse::multiplexed))
        .route(STATS_URL, get(api::stats))
        .route(
            "/api/session",
            get(auth::whoami).post(auth::sign_in).delete(auth::sign_out),
        )
        .route("/api/orders", get(api::list_orders).post(api::create_order))
        .route("/api/orders/{id}", patch(api::update_order))
        .route("/api/notifications", post(api::send_notification))
        .route("/api/jobs", post(api::start_job))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let api = if state.config.bench {
        api.route("/api/bench/{*channel}", post(feeds::bench::publish))
    } else {
        api
    };

    // Pages and server functions see the host (the domain code behind the UI's actions).
    let host = AppHost::shared(state.clone());
    let options = state.config.leptos.clone();
    let mut router = Router::new()
        .merge(api)
        .leptos_routes_with_context(
            &state,
            pages,
            move || provide_context(host.clone()),
            move || shell(options.clone()),
        )
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::same_origin,
        ));
    if !state.config.cors_origins.is_empty() {
        router = router.layer(cors(&state.config.cors_origins));
    }
    router.with_state(state)
}

/// CORS for exactly the configured origins, with credentials (the session cookie).
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static("last-event-id"),
            header::HeaderName::from_static("x-connection-id"),
        ])
}
