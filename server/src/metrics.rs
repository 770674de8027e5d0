//! `GET /metrics` for Prometheus (the operator's: `Authorization: Bearer $OPS_TOKEN`), and the
//! HTTP series every request adds to it. The hub's own series and the registry are the
//! engine's ([`leptos_live::metrics`]); this adds what only the app knows: requests by route
//! template and status, open connections and their unsent bytes ([`crate::sockets`]), and
//! whether this instance holds the cluster lease.
//!
//! ```text
//! curl -H "Authorization: Bearer $OPS_TOKEN" http://127.0.0.1:3000/metrics
//! ```

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use leptos_live::metrics::{Counter, Histogram, Metrics};

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
    let metrics = state.hub.metrics();
    metrics
        .gauge("http_connections_open", "Open HTTP connections.", &[])
        .set(state.sockets.count() as f64);
    metrics
        .gauge(
            "http_connections_unsent_bytes",
            "Bytes written to open connections that their clients have not taken yet (the kernel's send queues): what slow readers hold up.",
            &[],
        )
        .set(state.sockets.unsent() as f64);
    let text = state.hub.render_metrics();
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        text,
    )
        .into_response())
}

/// The HTTP series, with the handles of each route, method and status kept after their first
/// request (the registry is asked once per combination, not once per request).
#[derive(Clone)]
pub struct Http {
    metrics: Metrics,
    /// By route template, then by method and status: bounded by the router's routes.
    series: Arc<RwLock<HashMap<Box<str>, ByRoute>>>,
}

/// One route's series by method and status.
type ByRoute = HashMap<(&'static str, u16), Series>;

#[derive(Clone)]
struct Series {
    requests: Counter,
    duration: Histogram,
}

impl Http {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            series: Arc::default(),
        }
    }

    /// Counts a request (`http_requests_total`) and its time to the response's head
    /// (`http_request_duration_seconds`: for a stream, until it opened), by route *template*
    /// (`/api/orders/{id}`, never the path itself; `fallback` where no route matched: static
    /// files, unknown paths), method and status. Run by `crate::edge` for every request.
    pub fn record(&self, route: &str, method: &'static str, status: StatusCode, took: Duration) {
        let series = self.series(route, method, status);
        series.requests.increment(1);
        series.duration.record(took.as_secs_f64());
    }

    fn series(&self, route: &str, method: &'static str, status: StatusCode) -> Series {
        let key = (method, status.as_u16());
        let known = self.series.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(series) = known.get(route).and_then(|by| by.get(&key)) {
            return series.clone();
        }
        drop(known);
        let series = Series {
            requests: self.metrics.counter(
                "http_requests_total",
                "HTTP requests, by route template, method and status.",
                &[
                    ("route", route),
                    ("method", method),
                    ("status", status.as_str()),
                ],
            ),
            duration: self.metrics.histogram(
                "http_request_duration_seconds",
                "Time from a request to its response's head, by route template and method.",
                &[("route", route), ("method", method)],
            ),
        };
        let mut known = self.series.write().unwrap_or_else(PoisonError::into_inner);
        known
            .entry(route.into())
            .or_default()
            .insert(key, series.clone());
        series
    }
}

/// The method as a label from a fixed set: a client can send any token as a method.
pub fn method_label(method: &Method) -> &'static str {
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
