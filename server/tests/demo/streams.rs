//! The price stream over real HTTP: framing, headers, stats, and the page that embeds it.

use crate::support as common;

use app::demo::events::{PRICES_STREAM, PriceTick};
use common::{events, next_event, spawn_app};
use reqwest::{StatusCode, header};

/// The stream answers as SSE with anti-buffering headers and sends named, numbered price events.
#[tokio::test]
async fn price_stream_sends_named_events_with_sse_headers() {
    let app = spawn_app().await;
    let response = app.get(PRICES_STREAM).await;

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");

    let mut stream = events(response);
    let hello = next_event(&mut stream).await;
    assert_eq!(hello.event, "hello");
    assert_eq!(hello.retry, Some(std::time::Duration::from_secs(1)));
    let mut ids = Vec::new();
    for _ in 0..2 {
        let event = next_event(&mut stream).await;
        assert_eq!(event.event, "price");
        let tick: PriceTick = serde_json::from_str(&event.data).expect("a PriceTick");
        assert!(tick.price > 0.0);
        assert!(!event.id.is_empty());
        ids.push(event.id);
    }
    assert_ne!(ids[0], ids[1], "every event has its own id");
}

/// Stats count a stream while it is open and not after the client goes away.
#[tokio::test]
async fn stats_count_open_connections_only() {
    let app = spawn_app().await;
    assert_eq!(app.stats().await.connections, 0);

    let mut stream = events(app.get(PRICES_STREAM).await);
    next_event(&mut stream).await;
    assert_eq!(app.stats().await.connections, 1);

    let mut second = events(app.get(PRICES_STREAM).await);
    next_event(&mut second).await;
    assert_eq!(app.stats().await.connections, 2);

    drop(stream);
    app.wait_for_connections(1).await;
    drop(second);
    app.wait_for_connections(0).await;
    assert!(app.stats().await.published >= 2);
}

/// The dashboard's HTML already holds the current prices, the stream URL and a resume cursor.
#[tokio::test]
async fn dashboard_html_carries_snapshot_stream_url_and_cursor() {
    let app = spawn_app().await;
    // Wait for the producer's first tick so the snapshot is not empty.
    let mut stream = events(app.get(PRICES_STREAM).await);
    while next_event(&mut stream).await.event != "price" {}

    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"data-stream="/api/stream""#), "{html}");
    let cursor = html
        .split(r#"data-cursor=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert!(
        cursor.starts_with(&*app.state.hub.epoch())
            && cursor
                .split_once(':')
                .is_some_and(|(_, at)| at.split(',').any(|p| p.starts_with("prices="))),
        "cursor {cursor:?}"
    );
    let prices: Vec<&str> = html
        .split(r#"data-testid="price""#)
        .skip(1)
        .filter_map(|rest| rest.split('>').nth(1))
        .filter_map(|text| text.split('<').next())
        .collect();
    assert_eq!(prices.len(), 3, "one tile per symbol: {prices:?}");
    for price in prices {
        assert!(
            price.parse::<f64>().is_ok_and(|p| p > 0.0),
            "price {price:?}"
        );
    }
}
