//! The outermost layer of every request, doing four jobs in one middleware: the request's id
//! and log span ([`crate::logs`]), its HTTP series ([`crate::metrics`]), compression
//! ([`crate::compress`]) and the security headers with the page's nonce ([`crate::headers`]).
//! One layer, not four: each `from_fn` layer costs every request a clone of the services
//! inside it (bench/metrics-cost.md: what callgrind showed).

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use crate::{Config, compress, headers, logs, metrics};

/// What the edge needs: the config (trusted proxies for forwarded ids, the dev reload port for
/// a page's policy) and the HTTP series.
#[derive(Clone)]
pub struct Edge {
    pub config: Arc<Config>,
    pub http: metrics::Http,
}

/// The middleware; see the module docs. It sees the answers of every layer inside it, so
/// refusals (403, 413, 429) are counted and carry the request id too; only the accept loop's
/// raw 429 for an address over `MAX_CONNECTIONS_PER_ADDRESS` never reaches it.
pub async fn edge(State(edge): State<Edge>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("fallback", MatchedPath::as_str);
    let method = metrics::method_label(request.method());
    let id = logs::request_id(&edge.config, &mut request);
    let span = logs::span(&id, request.method(), route);
    let nonce = headers::nonce(&mut request);
    let answer = async move {
        if compress::worth_compressing(request.headers()) {
            compress::compressed(request, next).await
        } else {
            next.run(request).await
        }
    };
    let mut response = answer.instrument(span.clone()).await;
    headers::secure(&mut response, &nonce, edge.config.dev_reload_port);
    let status = response.status();
    span.in_scope(|| tracing::debug!(status = status.as_u16(), "answered"));
    edge.http.record(route, method, status, started.elapsed());
    response.headers_mut().insert(logs::REQUEST_ID, id);
    response
}
