//! Router behaviour that needs no stream: readiness during shutdown, CORS, the session
//! endpoints.

mod common;

use std::time::Duration;

use axum::{body::Body, http::Request};
use common::{spawn_app, spawn_app_with};
use reqwest::{StatusCode, header};
use server::{AppState, Config, app};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// `/readyz` says 503 once shutdown has begun, so balancers stop sending new clients.
#[tokio::test]
async fn readyz_turns_503_on_shutdown() {
    let shutdown = CancellationToken::new();
    let state = AppState::start(Config::for_tests(), shutdown.clone())
        .await
        .expect("start");
    let ready = |state: AppState| async move {
        app(state)
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready(state.clone()).await, StatusCode::OK);
    shutdown.cancel();
    assert_eq!(ready(state).await, StatusCode::SERVICE_UNAVAILABLE);
}

/// CORS is off by default; when configured, exactly the listed origins get credentials.
#[tokio::test]
async fn cors_allows_exact_origins_only() {
    let default = spawn_app().await;
    let response = default
        .http
        .get(default.url("/api/stats"))
        .header(header::ORIGIN, "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let mut config = Config::for_tests();
    config.cors_origins = vec!["https://app.example".into()];
    let app = spawn_app_with(config).await;
    let ask = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/session"))
            .header(header::ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = ask("https://app.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let refused = ask("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // An allowed origin may also write (the Origin check accepts it), and another may not.
    let sign_in = |origin: &'static str| {
        app.http
            .post(app.url("/api/session"))
            .header(header::ORIGIN, origin)
            .json(&serde_json::json!({"user":"alice"}))
            .send()
    };
    assert_eq!(
        sign_in("https://app.example").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        sign_in("https://evil.example").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

/// The session cookie is HttpOnly and SameSite=Lax, holds a session id rather than the user,
/// and a tampered cookie is anonymous.
#[tokio::test]
async fn session_cookie_is_signed_and_http_only() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/api/session"))
        .json(&serde_json::json!({"user":"bob"}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let value = cookie.split(';').next().unwrap();
    assert!(!value.contains("bob"), "the cookie names no user: {value}");

    let whoami = |cookie: String| {
        app.http
            .get(app.url("/api/session"))
            .header(header::COOKIE, cookie)
            .send()
    };
    let me: serde_json::Value = whoami(value.into()).await.unwrap().json().await.unwrap();
    assert_eq!(me["user"], "bob");
    // The signed value is `session=<signature><session id>`: another id under bob's signature,
    // bob's id with one signature character altered, and bob's id unsigned are all anonymous.
    let (name, signed) = value.split_once('=').unwrap();
    let (signature, id) = signed.split_at(signed.len() - 32);
    let other_id = id.chars().rev().collect::<String>();
    for forged in [
        format!("{name}={signature}{other_id}"),
        format!(
            "{name}={}{}{id}",
            if signature.starts_with('A') { "B" } else { "A" },
            &signature[1..]
        ),
        format!("{name}={id}"),
        format!("{name}=bob"),
    ] {
        let me: serde_json::Value = whoami(forged.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(me["user"], serde_json::Value::Null, "{forged}");
    }
}

/// Every answer (pages, the API, static files, refusals) forbids MIME sniffing and framing by
/// any site and sends no referrer off the origin; pages, which show who is signed in, are never
/// stored by a cache, signed in or not, and run only scripts from this origin or with their
/// own nonce (the not-found page too). Other answers keep their own caching and allow nothing.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let alice = common::signed_in(&app, "alice").await;
    let mut nonces = std::collections::HashSet::new();
    for (client, path, page) in [
        (&app.http, "/streams", true),
        (&alice, "/streams", true),
        (&app.http, "/no-such-page", true),
        (&app.http, "/api/stats", false),
        (&app.http, "/healthz", false),
        // A missing file gets the not-found page.
        (&app.http, "/pkg/missing.wasm", true),
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        let header_of = |name: header::HeaderName| {
            response
                .headers()
                .get(&name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            header_of(header::X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{path}"
        );
        assert_eq!(header_of(header::X_FRAME_OPTIONS), "DENY", "{path}");
        let policy = header_of(header::CONTENT_SECURITY_POLICY);
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(header_of(header::REFERRER_POLICY), "same-origin", "{path}");
        let cache = header_of(header::CACHE_CONTROL);
        let content_type = header_of(header::CONTENT_TYPE);
        let body = response.text().await.unwrap();
        if page {
            // Scripts run from this origin or with this response's nonce, which is on every
            // script the page carries; nothing else runs.
            let nonce = policy
                .split("'nonce-")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .unwrap_or_else(|| panic!("{path}: no nonce in {policy}"));
            assert!(nonce.len() >= 16, "{path}: {nonce}");
            assert!(
                policy.contains("script-src 'self' 'nonce-"),
                "{path}: {policy}"
            );
            assert!(policy.contains("style-src 'self';"), "{path}: {policy}");
            assert!(
                nonces.insert(nonce.to_string()),
                "{path}: nonce {nonce} used twice"
            );
            let scripts = body.matches("<script").count();
            let data = body.matches("<script type=\"application/json\"").count();
            let signed = body.matches(&format!("nonce=\"{nonce}\"")).count();
            assert!(scripts > data, "{path}: no script in the page");
            assert!(
                signed >= scripts - data,
                "{path}: {signed} of {scripts} scripts carry the nonce"
            );
        } else {
            assert_eq!(
                policy, "default-src 'none'; frame-ancestors 'none'",
                "{path}"
            );
        }
        assert_eq!(
            cache == "private, no-store",
            page,
            "{path}: {content_type}, cache-control {cache:?}",
        );
    }
    // A refusal (a cross-site write) carries them too.
    let refused = app
        .http
        .post(app.url("/api/session"))
        .header("sec-fetch-site", "cross-site")
        .json(&serde_json::json!({ "user": "alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

/// A client that sends half of its request headers is cut off after `HEADER_READ_TIMEOUT_MS`,
/// and one that stops halfway through its body gets 408 after `BODY_READ_TIMEOUT_MS`: neither
/// holds a connection (or a handler) for longer.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    let mut config = Config::for_tests();
    config.header_read_timeout = Duration::from_millis(300);
    config.body_read_timeout = Duration::from_millis(300);
    let app = spawn_app_with(config).await;
    let addr = app.addr;
    // Everything the server sends before it closes, or None if it is still open after 10 s.
    let answer = |request: &'static [u8]| async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut sent = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut sent))
            .await
            .ok()
            .map(|_| String::from_utf8_lossy(&sent).into_owned())
    };
    let half_headers = answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    assert!(
        half_headers.is_some(),
        "still open 10 s after half its headers"
    );
    let half_body = answer(
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"user\":",
    )
    .await
    .expect("still open 10 s after half its body");
    assert!(half_body.starts_with("HTTP/1.1 408"), "{half_body}");
    assert!(
        half_body.contains("did not arrive within 300 ms"),
        "{half_body}"
    );
}

/// One address holds at most `MAX_CONNECTIONS_PER_ADDRESS` open connections, streams or not:
/// the next is answered 429 with `Retry-After` and closed, and a closed one frees its place.
/// A trusted proxy's connections are not counted (its clients are, by `X-Forwarded-For`).
#[tokio::test]
async fn connections_are_capped_per_address() {
    let mut config = Config::for_tests();
    config.max_connections_per_address = 3;
    let app = spawn_app_with(config).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // The accept loop takes them in order: once a request on a fourth is answered, all three
    // are counted.
    let mut fourth = TcpStream::connect(app.addr).await.unwrap();
    let mut sent = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), fourth.read_to_end(&mut sent))
        .await
        .expect("the fourth is answered and closed")
        .unwrap();
    let refused = String::from_utf8_lossy(&sent);
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.contains("retry-after: 5"), "{refused}");
    assert!(
        refused.contains("3 open connections from this address"),
        "{refused}"
    );
    drop(held.pop());
    let admitted = async {
        loop {
            let answer = common::raw_request(
                app.addr,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                b"",
            )
            .await;
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), admitted)
        .await
        .expect("a closed connection frees its place");

    let mut config = Config::for_tests();
    config.max_connections_per_address = 1;
    config.trusted_proxies = "127.0.0.1".parse().unwrap();
    let behind_proxy = spawn_app_with(config).await;
    let _held = TcpStream::connect(behind_proxy.addr).await.unwrap();
    let through_proxy = common::raw_request(
        behind_proxy.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"",
    )
    .await;
    assert!(through_proxy.starts_with("HTTP/1.1 200"), "{through_proxy}");
}
