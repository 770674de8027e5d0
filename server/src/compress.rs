//! Compression of pages, JSON, metrics and static files without a precompressed copy: brotli or
//! gzip, as the client accepts (tower-http's
//! `Compression`, whose default predicate also leaves out `text/event-stream`, images, bodies
//! under 32 bytes and anything already encoded, like the precompressed assets). A request that
//! asks for an event stream (`Accept: text/event-stream`, as EventSource and the engine's
//! client send) or accepts neither encoding skips the layer altogether: its events then pass
//! through no compression wrapper on their way out.

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderName, header},
    middleware::Next,
    response::Response,
};
use tower::ServiceExt;
use tower_http::compression::Compression;

/// The answer of `next`, compressed as the client accepts (run by `crate::edge` when
/// [`worth_compressing`] says so).
pub async fn compressed(request: Request, next: Next) -> Response {
    match Compression::new(next).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

/// Whether the request may get a compressed answer that is not an event stream.
pub fn worth_compressing(headers: &HeaderMap) -> bool {
    let says = |name: HeaderName, what: &str| {
        headers
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains(what)))
    };
    !says(header::ACCEPT, "text/event-stream")
        && (says(header::ACCEPT_ENCODING, "br") || says(header::ACCEPT_ENCODING, "gzip"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streams and clients that accept no encoding skip the layer; pages and JSON go through.
    #[test]
    fn only_compressible_requests_go_through_the_layer() {
        let headers = |pairs: &[(HeaderName, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(name.clone(), value.parse().unwrap());
            }
            map
        };
        assert!(worth_compressing(&headers(&[(
            header::ACCEPT_ENCODING,
            "gzip, br"
        )])));
        assert!(!worth_compressing(&headers(&[])));
        assert!(!worth_compressing(&headers(&[(
            header::ACCEPT_ENCODING,
            "identity"
        )])));
        assert!(!worth_compressing(&headers(&[
            (header::ACCEPT_ENCODING, "gzip, br"),
            (header::ACCEPT, "text/event-stream"),
        ])));
    }
}
