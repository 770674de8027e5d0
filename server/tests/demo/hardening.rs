//! What a hostile or careless client can make the server hold, over real HTTP: every resource
//! is bounded, and a refusal is a status with a one-line reason. (Who may do what: `ownership`.)

use crate::support as common;

use std::time::{Duration, Instant};

use common::{
    error, json, next_event, next_non_price, open, place_order, raw_request, signed_in, spawn_app,
    spawn_app_with,
};
use futures_util::StreamExt;
use leptos::server_fn::ServerFn;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use server::Config;

/// 5,000 channel names in one request are refused with 400 at once (the list is parsed only
/// up to the limit), and so is one name repeated 5,000 times, while `/healthz` keeps answering.
#[tokio::test]
async fn a_flood_of_channel_names_is_400() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..5_000).map(|i| format!("c{i}")).collect();
    let path = format!("/api/stream?channels={}", names.join(","));
    let flood = async {
        let started = Instant::now();
        let (status, reason) = error(app.get(&path).await).await;
        (status, reason, started.elapsed())
    };
    let health = async {
        for _ in 0..20 {
            assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
        }
    };
    let ((status, reason, took), ()) = tokio::join!(flood, health);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reason.contains("at most 16 channels"), "{reason}");
    println!("5,000 channel names refused in {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // One public name repeated is no way around it: the list is read only so far.
    let repeated = format!("/api/stream?channels={}", vec!["prices"; 5_000].join(","));
    let (status, reason) = error(app.get(&repeated).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reason.contains("at most 16 channels"), "{reason}");
}

/// One body limit on every route: REST, server functions and the benchmark route answer 413
/// with a one-line reason, a declared oversized body is refused before it is sent, and a
/// chunked one once the limit is read.
#[tokio::test]
async fn oversized_bodies_are_413_on_every_route() {
    let mut config = Config::for_tests();
    config.bench = true;
    let app = spawn_app_with(config).await;
    let alice = signed_in(&app, "alice").await;
    let place_order = app::demo::actions::PlaceOrder::PATH;
    let big = "x".repeat(20_000);
    for path in ["/api/orders", place_order, "/api/bench/bench"] {
        let response = alice
            .post(app.url(path))
            .header(header::CONTENT_TYPE, "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        let (status, reason) = error(response).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {reason}");
        assert!(reason.contains("16384 bytes"), "{path}: {reason}");
    }

    // 64 MB announced, nothing sent: refused at once, so nothing was waited for or buffered.
    let head = format!(
        "POST {place_order} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        app.addr,
        64 << 20
    );
    let answer = raw_request(app.addr, head.as_bytes(), &[]).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // 1 MB in chunks without a length: refused once the limit is read.
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        app.addr
    );
    let chunk = format!("{:x}\r\n{}\r\n", 4096, "y".repeat(4096));
    let answer = raw_request(app.addr, head.as_bytes(), &chunk.repeat(256).into_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// Streams are capped per client address (429) and in all (503), each with `Retry-After`;
/// another address is unaffected, and a closed stream frees its slot.
#[tokio::test]
async fn streams_are_capped_per_address_and_in_all() {
    let mut config = Config::for_tests();
    config.limits.streams.per_address = 3;
    config.limits.streams.total = 5;
    let app = spawn_app_with(config).await;
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let (one, two) = (from("127.0.0.1"), from("127.0.0.2"));
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open(&app, &one, "/api/prices/stream", None).await);
    }
    let refused = one.get(app.url("/api/prices/stream")).send().await.unwrap();
    assert_eq!(refused.headers()[header::RETRY_AFTER], "5");
    let (status, reason) = error(refused).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        reason.contains("at most 3 open streams per address"),
        "{reason}"
    );

    for _ in 0..2 {
        held.push(open(&app, &two, "/api/prices/stream", None).await);
    }
    let full = two.get(app.url("/api/prices/stream")).send().await.unwrap();
    assert_eq!(full.headers()[header::RETRY_AFTER], "5");
    let (status, reason) = error(full).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reason.contains("limit of 5 streams"), "{reason}");
    assert!(app.stats().await.refused >= 2);

    held.remove(0);
    app.wait_for_connections(4).await;
    open(&app, &one, "/api/prices/stream", None).await;
}

/// `X-Forwarded-For` counts only from a trusted proxy: then each forwarded client has its own
/// cap; from anyone else the header is ignored, so spoofing it escapes nothing.
#[tokio::test]
async fn forwarded_addresses_only_from_trusted_proxies() {
    let stream_from = |app: &common::TestApp, client: &str| {
        app.http
            .get(app.url("/api/prices/stream"))
            .header("x-forwarded-for", client.to_string())
            .send()
    };
    let mut config = Config::for_tests();
    config.limits.streams.per_address = 1;
    let untrusted = spawn_app_with(config.clone()).await;
    let _first = stream_from(&untrusted, "198.51.100.1").await.unwrap();
    let spoofed = stream_from(&untrusted, "198.51.100.2").await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);

    config.trusted_proxies = "127.0.0.1".parse().unwrap();
    let proxied = spawn_app_with(config).await;
    let _a = stream_from(&proxied, "198.51.100.1").await.unwrap();
    let b = stream_from(&proxied, "198.51.100.2").await.unwrap();
    assert_eq!(
        b.status(),
        StatusCode::OK,
        "another client behind the proxy"
    );
    let again = stream_from(&proxied, "198.51.100.1").await.unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A channel nobody uses is dropped with its history; a cursor from before gets `resync`
/// (not the channel's new events as if they followed the old ones).
#[tokio::test]
async fn dropped_idle_channels_resync_old_cursors() {
    let mut config = Config::for_tests();
    config.channel_idle = Duration::from_millis(100);
    let app = spawn_app_with(config).await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let cursor = {
        let mut inbox = open(&app, &alice, "/api/notifications/stream", None).await;
        common::notify(&app, &bob, "alice", "before").await;
        next_event(&mut inbox.events).await.id
    };
    app.wait_for_connections(0).await;
    // Idle time, plus the sweep's quarter: well past both.
    tokio::time::sleep(Duration::from_millis(400)).await;
    common::notify(&app, &bob, "alice", "after").await;
    let mut inbox = open(&app, &alice, "/api/notifications/stream", Some(&cursor)).await;
    let first = next_event(&mut inbox.events).await;
    assert_eq!(first.event, "resync", "{first:?}");
}

/// A user runs at most `MAX_JOBS_PER_USER` jobs at once (429 with the reason), and only job
/// channels that exist can be subscribed to (404 for any other name).
#[tokio::test]
async fn jobs_are_bounded_and_only_real_ones_subscribe() {
    let mut config = Config::for_tests();
    config.demo.job_step = Duration::from_secs(60);
    config.demo.jobs_per_user = 2;
    let app = spawn_app_with(config).await;
    let alice = signed_in(&app, "alice").await;
    let start = || alice.post(app.url("/api/jobs")).send();
    let started: Value = start().await.unwrap().json().await.unwrap();
    assert_eq!(start().await.unwrap().status(), StatusCode::CREATED);
    let refused = start().await.unwrap();
    assert_eq!(refused.headers()[reqwest::header::RETRY_AFTER], "5");
    let (status, reason) = error(refused).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reason.contains("2 jobs are already running"), "{reason}");

    // The job's own cursor replays it from its first event.
    let channel = started["channel"].as_str().unwrap();
    let cursor = started["cursor"].as_str().unwrap();
    let mut stream = open(
        &app,
        &alice,
        &format!("/api/stream?channels={channel}"),
        Some(cursor),
    )
    .await;
    let first = next_non_price(&mut stream.events).await;
    assert_eq!(first.event, "progress");
    assert!(first.data.contains(r#""percent":0"#), "{}", first.data);

    for made_up in ["users/alice/jobs/j999", "users/alice/jobs/anything"] {
        let response = alice
            .get(app.url(&format!("/api/stream?channels={made_up}")))
            .send()
            .await
            .unwrap();
        assert_eq!(error(response).await.0, StatusCode::NOT_FOUND, "{made_up}");
    }
    let bob = signed_in(&app, "bob").await;
    let response = bob
        .get(app.url(&format!("/api/stream?channels={channel}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error(response).await.0, StatusCode::FORBIDDEN);
}

/// The order book is bounded: open orders per user (429 with `Retry-After`), and settled orders age out; the
/// list says how many the book holds.
#[tokio::test]
async fn the_order_book_is_bounded() {
    let mut config = Config::for_tests();
    config.demo.orders.open_per_user = 2;
    config.demo.orders.settled_kept = 1;
    let app = spawn_app_with(config).await;
    let alice = signed_in(&app, "alice").await;
    let first = place_order(&app, &alice, None).await;
    let second = place_order(&app, &alice, None).await;
    let third = alice
        .post(app.url("/api/orders"))
        .json(&json!({"symbol":"ACME","side":"buy","quantity":1,"price":1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(third.headers()[reqwest::header::RETRY_AFTER], "5");
    let (status, reason) = error(third).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reason.contains("fill or cancel one first"), "{reason}");
    for order in [&first, &second] {
        let response = alice
            .patch(app.url(&format!("/api/orders/{}", order.id)))
            .json(&json!({"status":"filled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let list: Value = json(alice.get(app.url("/api/orders"))).await;
    assert_eq!(
        list["total"], 1,
        "the oldest settled order aged out: {list}"
    );
    assert_eq!(list["orders"][0]["id"], second.id);
}

/// A reader that stops reading costs a bounded amount: the server stops taking its frames once
/// its buffers are full (it does not queue every event for it), the other subscribers get every
/// event meanwhile, and when it reads again it gets `resync` for what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_reader_is_bounded_and_resynced() {
    const EVENTS: usize = 3_000;
    let mut config = Config::for_tests();
    config.bench = true;
    config.heartbeat = Duration::from_secs(60);
    let app = spawn_app_with(config).await;

    let stuck = common::stuck_reader(app.addr, "/api/stream?channels=bench").await;
    let mut reader = open(&app, &app.http, "/api/stream?channels=bench", None).await;
    app.wait_for_connections(2).await;
    let payload = format!("\"{}\"", "z".repeat(4_000));
    // In batches well below the channel's live ring (1,024): the reading subscriber gets each
    // batch before the next is published, however far behind the stuck one falls.
    for _ in 0..EVENTS / 100 {
        for _ in 0..100 {
            app.state
                .hub
                .publish_json("bench", "bench", payload.clone())
                .await
                .unwrap();
        }
        for _ in 0..100 {
            let event = next_event(&mut reader.events).await;
            assert_eq!(event.event, "bench", "the reading subscriber never lags");
        }
    }

    // Now read what the stuck one was given: far less than the 12 MB published, then resync.
    let (bytes, text) = common::drain_until(stuck, "event: resync").await;
    println!("stuck reader: {bytes} bytes before its resync (12 MB published)");
    assert!(
        text.contains("event: resync"),
        "no resync after {bytes} bytes"
    );
    assert!(bytes < 8 << 20, "{bytes} bytes were queued for one reader");
    assert!(app.stats().await.resynced >= 1);
}

/// Phased shutdown of the real binary: after SIGTERM, `/readyz` is 503 and new streams are
/// refused while open ones still flow (the grace time); then everything ends; and a client
/// that stopped reading cannot keep the process past the drain time.
#[tokio::test]
async fn sigterm_shuts_down_in_phases_despite_a_stuck_reader() {
    let server = common::Binary::start(&[
        ("PRICE_INTERVAL_MS", "50"),
        ("ORDER_SIMULATOR_MS", "0"),
        ("BENCH", "1"),
        ("SHUTDOWN_GRACE_MS", "1500"),
        ("SHUTDOWN_DRAIN_MS", "1000"),
        ("HEARTBEAT_MS", "100"),
        ("PRICE_INTERVAL_MS", "100"),
        // 1,200 publishes in a row, from one address.
        ("WRITE_BURST", "100000"),
    ]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    // A stuck reader with a full pipe: the server cannot finish writing to it.
    let addr = server.base.trim_start_matches("http://").parse().unwrap();
    let stuck = common::stuck_reader(addr, "/api/stream?channels=bench").await;
    let payload = format!("\"{}\"", "z".repeat(8_000));
    for _ in 0..1_200 {
        let response = http
            .post(url("/api/bench/bench"))
            .body(payload.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut open_stream = common::events(http.get(url("/api/prices/stream")).send().await.unwrap());
    next_event(&mut open_stream).await;

    let started = Instant::now();
    server.signal("TERM");
    // Phase 1: not ready, no new streams, open streams alive (heartbeats every 100 ms).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = http.get(url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let refused = http.get(url("/api/prices/stream")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    let alive = tokio::time::timeout(Duration::from_millis(800), open_stream.next()).await;
    assert!(
        matches!(alive, Ok(Some(Ok(_)))),
        "the open stream ended during the grace time: {alive:?}"
    );
    // Phases 2 and 3: streams end after the grace time, the stuck reader is cut off after the
    // drain time.
    let status = server.wait(Duration::from_secs(15)).await;
    let took = started.elapsed();
    println!("SIGTERM → exit with a stuck reader: {took:?} (grace 1.5 s + drain 1 s)");
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_millis(1_500),
        "exited during the grace time: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
    drop(stuck);
}
