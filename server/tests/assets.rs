//! How answers travel: static files precompressed as built, the hashed bundle immutable and
//! everything else revalidated, pages and JSON compressed, event streams never.

mod common;

use common::{spawn_app, spawn_app_with};
use reqwest::{StatusCode, header};
use server::Config;

/// Built assets go out as the release build precompressed them (`--precompress` writes a `.br`
/// and a `.gz` beside each), chosen by `Accept-Encoding`, and every answer says it varies by it.
#[tokio::test]
async fn static_files_are_served_precompressed() {
    let site = std::env::temp_dir().join(format!("leptos-live-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    for (name, body) in [
        ("app.wasm", "as built"),
        ("app.wasm.br", "brotli"),
        ("app.wasm.gz", "gzip"),
    ] {
        std::fs::write(site.join("pkg").join(name), body).unwrap();
    }
    let mut config = Config::for_tests();
    config.leptos.site_root = site.to_string_lossy().into();
    let app = spawn_app_with(config).await;

    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "brotli"),
        (Some("gzip, deflate"), Some("gzip"), "gzip"),
        (None, None, "as built"),
    ] {
        let mut request = app.http.get(app.url("/pkg/app.wasm"));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{accept:?}");
        let header_of = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_string())
        };
        assert_eq!(header_of(header::CONTENT_ENCODING).as_deref(), encoding);
        let vary = header_of(header::VARY).unwrap_or_default();
        assert!(
            vary.contains("accept-encoding"),
            "{accept:?}: vary {vary:?}"
        );
        assert_eq!(response.text().await.unwrap(), body);
    }
    let _ = std::fs::remove_dir_all(&site);
}

/// The release build's content-hashed bundle is cached for a year as immutable; any other file
/// is revalidated before each use (`no-cache`); pages are never stored.
#[tokio::test]
async fn hashed_files_are_immutable_and_others_revalidated() {
    let site = std::env::temp_dir().join(format!("leptos-live-hashed-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    for name in ["app.Xyz123.wasm", "app.wasm", "favicon.svg"] {
        let dir = if name.ends_with(".svg") {
            site.clone()
        } else {
            site.join("pkg")
        };
        std::fs::write(dir.join(name), "bytes").unwrap();
    }
    let mut config = Config::for_tests();
    config.leptos.site_root = site.to_string_lossy().into();
    config.hashed_bundle = ["/pkg/app.Xyz123.wasm".to_string()].into();
    let app = spawn_app_with(config).await;
    for (path, policy) in [
        (
            "/pkg/app.Xyz123.wasm",
            "public, max-age=31536000, immutable",
        ),
        ("/pkg/app.wasm", "no-cache"),
        ("/favicon.svg", "no-cache"),
        ("/streams", "private, no-store"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[header::CACHE_CONTROL], policy, "{path}");
    }
    let _ = std::fs::remove_dir_all(&site);
}

/// Pages and JSON are compressed as the client allows; an event stream never is (each event
/// must reach the client when sent), and it still delivers its events.
#[tokio::test]
async fn pages_and_json_are_compressed_streams_never() {
    let app = spawn_app().await;
    let encoding_of = |response: &reqwest::Response| {
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap().to_string())
    };
    for (path, accept, want) in [
        ("/streams", "br, gzip", Some("br")),
        ("/streams", "gzip", Some("gzip")),
        ("/streams", "identity", None),
        ("/api/stats", "gzip", Some("gzip")),
    ] {
        let request = app
            .http
            .get(app.url(path))
            .header(header::ACCEPT_ENCODING, accept);
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            encoding_of(&response).as_deref(),
            want,
            "{path} with {accept}"
        );
    }
    let stream = app
        .http
        .get(app.url("/api/stream?channels=clock"))
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(encoding_of(&stream), None);
    let mut events = common::events(stream);
    assert_eq!(common::next_event(&mut events).await.event, "hello");
    assert_eq!(common::next_event(&mut events).await.event, "time");
}
