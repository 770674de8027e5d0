//! Static files and how long browsers and caches may keep them.
//!
//! A release build (`./x release`) names the wasm, its JavaScript and the stylesheet by a hash
//! of their content (cargo-leptos `hash-files`; the hashes are in `hash.txt` beside the
//! binary): those names never change meaning, so they are served `immutable` for a year, and a
//! new build's HTML names new files, never the old ones. Every other file (the favicon, a debug
//! build's unhashed bundle) is served `no-cache`: kept, but revalidated before each use. Pages
//! are `private, no-store` (`crate::headers`): they carry the user's data and a fresh nonce.

use std::{collections::HashSet, path::Path};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use leptos::config::LeptosOptions;

use crate::AppState;

/// For a file whose name is its content's hash.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// For every other file: revalidate before each use.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// The URL paths of the hashed bundle (`/pkg/NAME.HASH.js`, `.wasm`, `.css`) when the site was
/// built with hashed names: `hash.txt` beside the running binary names them and every one of
/// them exists under the site root. `None` for a build without (then pages name the plain
/// files): a `hash.txt` left over from an earlier build names files that are not there.
pub fn hashed_bundle(options: &LeptosOptions) -> Option<HashSet<String>> {
    let exe = std::env::current_exe().ok()?;
    let text = std::fs::read_to_string(exe.parent()?.join(&*options.hash_file)).ok()?;
    let (name, pkg) = (&options.output_name, &options.site_pkg_dir);
    let paths: HashSet<String> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(ext, _)| matches!(ext.trim(), "js" | "wasm" | "css"))
        .map(|(ext, hash)| format!("/{pkg}/{name}.{}.{}", hash.trim(), ext.trim()))
        .collect();
    let root = Path::new(&*options.site_root);
    let all_there = paths.len() == 3
        && paths
            .iter()
            .all(|path| root.join(path.trim_start_matches('/')).is_file());
    all_there.then_some(paths)
}

/// `Cache-Control` for a static file (unless the response set its own), and `Vary:
/// Accept-Encoding`: files are served as the release build precompressed them (`.br` / `.gz`
/// beside each, chosen by `Accept-Encoding`), so a shared cache must not hand brotli to a
/// client that did not ask for it.
pub async fn cache_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let immutable = state.config.hashed_bundle.contains(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        let policy = if immutable { IMMUTABLE } else { REVALIDATE };
        headers.insert(header::CACHE_CONTROL, policy);
    }
    response
}
