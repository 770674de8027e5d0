//! The starter's own server without the demo: its example stream, its 404 page, health.

mod common;

use common::{next_event, open, spawn_app};
use reqwest::StatusCode;

/// The README's example channel: `clock` sends `event: time` with the server's time.
#[tokio::test]
async fn the_example_clock_channel_ticks() {
    let app = spawn_app().await;
    let anyone = reqwest::Client::new();
    let mut clock = open(&app, &anyone, "/api/stream?channels=clock", None)
        .await
        .events;
    let event = next_event(&mut clock).await;
    assert_eq!(event.event, "time");
    let envelope: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(envelope["channel"], "clock");
    let time: app::events::ServerTime = serde_json::from_value(envelope["data"].clone()).unwrap();
    let now = server::feeds::now_ms();
    assert!(now.abs_diff(time.at_ms) < 60_000, "{} vs {now}", time.at_ms);
}

/// Unknown pages are a 404 page, not a 200 or a panic.
#[tokio::test]
async fn unknown_page_is_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Not found"));
}

/// Health answers plainly.
#[tokio::test]
async fn healthz_is_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}
