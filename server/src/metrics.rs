//! `GET /metrics` for Prometheus (the operator's: `Authorization: Bearer $OPS_TOKEN`), and the
//! HTTP series every request adds to it. The hub's own series and the registry are the
//! engine's ([`leptos_live::metrics`]); this adds what only the app knows: requests by route
//! template and status, and whether this instance holds the cluster lease.
//!
//! ```text
//! curl -H "Authorization: Bearer $OPS_TOKEN" http://127.0.0.1:3000/metrics
//! ```

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, api, error::ApiError};

/// The Prometheus text format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: every series in the Prometheus text format; the operator's only (404 without
/// `OPS_TOKEN`, 401 with a wrong one), since it tells how busy the service is.
pub async fn render(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api::operator(&state, &headers)?;
    state
        .hub
        .metrics()
        .gauge(
            "cluster_lease_held",
            "1 while this instance holds the cluster lease and runs the shared producers.",
            &[],
        )
        .set(if state.cluster.leads() { 1.0 } else { 0.0 });
    let text = state.hub.render_metrics();
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        text,
    )
        .into_response())
}

/// Counts every request (`http_requests_total`) and times it to its response's head
/// (`http_request_duration_seconds`: for a stream, until it opened), by route *template*
/// (`/api/orders/{id}`, never the path itself), method and status. A request no route matched
/// (static files, unknown paths) counts under `fallback`.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status();
    let metrics = state.hub.metrics();
    metrics
        .counter(
            "http_requests_total",
            "HTTP requests, by route template, method and status.",
            &[
                ("route", &route),
                ("method", method),
                ("status", status.as_str()),
            ],
        )
        .increment(1);
    metrics
        .histogram(
            "http_request_duration_seconds",
            "Time from a request to its response's head, by route template and method.",
            &[("route", &route), ("method", method)],
        )
        .record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label from a fixed set: a client can send any token as a method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
