//! The headers every response carries, and each page's Content-Security-Policy.
//!
//! Every response: no MIME sniffing, no framing by any site (old browsers read
//! `X-Frame-Options`, new ones the policy), no referrer sent off this origin. A page (HTML)
//! shows who is signed in, so no cache may keep it, and its policy lets scripts run only from
//! this origin or with the nonce made for this one response: Leptos writes that nonce on the
//! hydration script it inlines ([`provide_nonce`] hands it the request's), so an injected
//! `<script>` or `onclick=` never runs, even if some text escaped escaping. Styles come only
//! from the stylesheet (components set sizes through the CSS object model, which the policy
//! allows, never through a `style` attribute). Other responses (JSON, events, files) get a
//! policy that allows nothing, for whoever opens one as a document.

use axum::{
    extract::Request,
    http::{HeaderValue, header, request::Parts},
    response::Response,
};
use leptos::{nonce::Nonce, prelude::use_context};

/// For responses that are not pages.
const NOTHING: &str = "default-src 'none'; frame-ancestors 'none'";

/// Makes the request's nonce, where the page's render finds it ([`provide_nonce`]). Run for
/// every request by `crate::edge`, which then calls [`secure`] on its answer.
pub fn nonce(request: &mut Request) -> Nonce {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    nonce
}

/// Sets the headers every answer carries; a page's policy allows scripts with `nonce`, and
/// `dev_reload` is `cargo leptos watch`'s reload port, if any.
pub fn secure(response: &mut Response, nonce: &Nonce, dev_reload: Option<u32>) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let page = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let policy = if page {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        HeaderValue::from_str(&page_policy(nonce, dev_reload))
            .unwrap_or_else(|_| HeaderValue::from_static(NOTHING))
    } else {
        HeaderValue::from_static(NOTHING)
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
}

/// A page's policy. `'wasm-unsafe-eval'` lets the page compile its WebAssembly (and nothing
/// else: no `eval`); `dev_reload` is the port of `cargo leptos watch`'s reload socket, which
/// the page opens on its own host name.
pub fn page_policy(nonce: &Nonce, dev_reload: Option<u32>) -> String {
    let reload = dev_reload
        .map(|port| format!(" ws://*:{port}"))
        .unwrap_or_default();
    let nonce: &str = nonce;
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// For the render's context (pages and the not-found page): the nonce of the request, so the
/// scripts Leptos writes carry the one its header names.
pub fn provide_nonce() {
    let nonce = use_context::<Parts>().and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        leptos::prelude::provide_context(nonce);
    }
}
