//! [`app`]: the whole router: the stream and REST API, the Leptos pages (rendered with a
//! snapshot of the feeds) and the static files cargo-leptos builds.

use app::{
    App,
    events::{MULTI_STREAM, STATS_URL},
    shell,
};
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    handler::Handler,
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use tower_http::cors::CorsLayer;

use crate::{
    AppState, api, assets, auth,
    edge::{self, Edge},
    error::ApiError,
    feeds, headers,
    host::AppHost,
    metrics, publish, streams, writes,
};

/// Whether `path` is an event stream's: `/api/stream` and the single-channel `/api/{name}/stream`
/// (name an app's own stream endpoints the same way). The accept loop writes these answers
/// straight to the socket, without hyper's per-connection buffers (see `direct.rs`).
pub fn is_stream(path: &str) -> bool {
    path.starts_with("/api/") && path.ends_with("/stream")
}

/// Builds the router for `state`.
pub fn app(state: AppState) -> Router {
    let pages = generate_route_list(App);

    let api = Router::new()
        .route(MULTI_STREAM, get(streams::multiplexed))
        .route(STATS_URL, get(api::stats))
        .route(
            "/api/session",
            get(auth::whoami).post(auth::sign_in).delete(auth::sign_out),
        )
        .route("/api/ops/channels", get(api::channel_detail))
        .route("/api/ops/publish", post(publish::publish))
        .route("/metrics", get(metrics::render))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz));
    let api = if state.config.bench {
        api.route("/api/bench/{*channel}", post(feeds::bench::publish))
    } else {
        api
    };

    // Pages and server functions see the host (the domain code behind the UI's actions).
    let host = AppHost::shared(state.clone());
    let hub = state.hub.clone();
    let options = state.config.leptos.clone();
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            pages,
            move || {
                headers::provide_nonce();
                provide_context(host.clone());
                // Server functions reach live collections through the hub.
                provide_context(hub.clone());
            },
            move || shell(options.clone()),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            render_deadline,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            resolve_session,
        ));
    let mut router = Router::new()
        .merge(api)
        .merge(pages)
        .fallback(
            file_and_error_handler_with_context::<AppState, _>(headers::provide_nonce, shell)
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    assets::cache_headers,
                )),
        )
        .layer(middleware::from_fn_with_state(state.clone(), admit));
    if !state.config.cors_origins.is_empty() {
        router = router.layer(cors(&state.config.cors_origins));
    }
    // Outermost: refusals from the layers above carry the security headers and the request id
    // too, and are counted. Compression applies to pages, JSON and metrics, never to event
    // streams, whose events must each reach the client when sent (see `crate::compress`).
    let edge = Edge {
        config: state.config.clone(),
        http: metrics::Http::new(state.hub.metrics().clone()),
    };
    router
        .layer(middleware::from_fn_with_state(edge, edge::edge))
        .with_state(state)
}

/// Pages and server functions find the request's session already looked up: the UI's code
/// asks for it without waiting (`Host::user`). 503 when the sessions cannot be read.
async fn resolve_session(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(err) = state.sessions.resolve(&mut parts).await {
        return ApiError::from(err).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Page renders and server functions answer within `RENDER_TIMEOUT_MS` or get 503: a render
/// that never finishes (a resource whose task was lost, a backend that never answers) must not
/// hold its connection, and the client's, forever. Streams are not pages: they have routes of
/// their own and no deadline.
async fn render_deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match tokio::time::timeout(state.config.render_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(%path, "render timed out");
            ApiError::unavailable("the page took too long to answer; try again").into_response()
        }
    }
}

/// What every request passes before its route, in this order: the origin check (a cross-site
/// write is refused before its body is read, `auth::same_origin`), the sender's write budget
/// (`writes::limit`), then the one body limit ([`limit_body`]). One layer for the three: each
/// `from_fn` layer clones the services inside it on every request (bench/metrics-cost.md).
async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(refused) = auth::same_origin(&state, &request) {
        return refused.into_response();
    }
    let request = match writes::limit(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    match limit_body(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// One body limit for every route (REST, server functions, the benchmark route, pages):
/// `MAX_BODY_BYTES`, read within `BODY_READ_TIMEOUT_MS`. A declared `Content-Length` over it is
/// refused before anything is read; an undeclared (chunked) body is read up to the limit and
/// refused there. Either way 413 with a one-line reason, so no handler ever sees a partial body
/// or answers 500 for one; a body that stops arriving gets 408.
async fn limit_body(state: &AppState, request: Request) -> Result<Request, ApiError> {
    let limit = state.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over the limit of {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let deadline = state.config.body_read_timeout;
    let read = tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await;
    let Ok(read) = read else {
        let ms = deadline.as_millis();
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {ms} ms"),
        ));
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(err) => {
            return Err(
                if err.into_inner().is::<http_body_util::LengthLimitError>() {
                    too_large()
                } else {
                    ApiError::bad_request("the request body could not be read")
                },
            );
        }
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
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
