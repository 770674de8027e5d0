//! Each feed over real HTTP: named events with ids, the order lifecycle, notifications, jobs,
//! `except()`, stats and heartbeats.

use crate::support as common;

use std::time::Duration;

use app::demo::events::{Notification, Order, OrderStatus, PriceTick, Progress};
use common::{
    assert_quiet, json, next_event, next_non_price, notify, open, place_order, signed_in, spawn_app,
};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

/// Prices arrive as `event: price` with a fresh id each; orders as `order:created` then
/// `order:updated` for the same order.
#[tokio::test]
async fn orders_are_created_then_updated_on_the_stream() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let mut prices = open(&app, &alice, "/api/prices/stream", None).await.events;
    let first = next_event(&mut prices).await;
    assert_eq!(first.event, "price");
    serde_json::from_str::<PriceTick>(&first.data).expect("a PriceTick");

    let mut orders = open(&app, &alice, "/api/orders/stream", None).await.events;
    let created = place_order(&app, &alice, None).await;
    assert_eq!(created.status, OrderStatus::Open);
    assert_eq!(created.owner, "alice");

    let response = alice
        .patch(app.url(&format!("/api/orders/{}", created.id)))
        .json(&json!({"status":"filled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let event = next_event(&mut orders).await;
    assert_eq!(event.event, "order:created");
    assert_eq!(serde_json::from_str::<Order>(&event.data).unwrap(), created);
    let first_id = event.id;
    let event = next_event(&mut orders).await;
    assert_eq!(event.event, "order:updated");
    let updated: Order = serde_json::from_str(&event.data).unwrap();
    assert_eq!(
        (updated.id, updated.status),
        (created.id, OrderStatus::Filled)
    );
    assert_ne!(event.id, first_id);
}

/// A notification reaches its recipient's own stream as `event: notification`.
#[tokio::test]
async fn notifications_reach_the_recipient() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let mut inbox = open(&app, &bob, "/api/notifications/stream", None)
        .await
        .events;

    notify(&app, &alice, "bob", "Hi").await;

    let event = next_event(&mut inbox).await;
    assert_eq!(event.event, "notification");
    let notification: Notification = serde_json::from_str(&event.data).unwrap();
    assert_eq!(notification.from, "alice");
    assert_eq!(notification.body, "line one\r\nline two");
}

/// A job streams progress 0..=100 in order, then `complete`, on the starter's job channel.
#[tokio::test]
async fn a_job_streams_progress_then_complete() {
    let app = spawn_app().await;
    let carol = signed_in(&app, "carol").await;
    let started: serde_json::Value = json(carol.post(app.url("/api/jobs"))).await;
    let channel = started["channel"].as_str().unwrap();
    let cursor = started["cursor"].as_str().unwrap();
    // Subscribing with the returned cursor replays the steps already made.
    let path = format!("/api/stream?channels={channel}&last_event_id={cursor}");
    let mut job = open(&app, &carol, &path, None).await.events;
    let mut percents = Vec::new();
    loop {
        let event = next_event(&mut job).await;
        let envelope: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(envelope["channel"], channel);
        if event.event == "complete" {
            break;
        }
        assert_eq!(event.event, "progress");
        let progress: Progress = serde_json::from_value(envelope["data"].clone()).unwrap();
        percents.push(progress.percent);
    }
    assert_eq!(percents, (0..=100).step_by(5).collect::<Vec<u8>>());
}

/// `except()`: the sender's own connection (named in X-Connection-Id) is skipped; others get it.
#[tokio::test]
async fn except_skips_the_senders_connection() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let mut own = open(&app, &alice, "/api/orders/stream", None).await;
    let mut other = open(&app, &bob, "/api/orders/stream", None).await;

    let skipped = place_order(&app, &alice, Some(&own.connection)).await;
    let seen = place_order(&app, &alice, None).await;

    let first = next_event(&mut other.events).await;
    assert_eq!(
        serde_json::from_str::<Order>(&first.data).unwrap().id,
        skipped.id
    );
    let first_own = next_event(&mut own.events).await;
    assert_eq!(
        serde_json::from_str::<Order>(&first_own.data).unwrap().id,
        seen.id,
        "the sender's connection skipped its own order"
    );
}

/// Stats count connections and subscribers per channel while streams are open, and not after.
#[tokio::test]
async fn stats_rise_and_fall_with_connections() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let multi = open(
        &app,
        &alice,
        "/api/stream?channels=prices,orders,users/alice/notifications",
        None,
    )
    .await;
    let prices = open(&app, &alice, "/api/prices/stream", None).await;
    let stats = app.stats().await;
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.subscribers["prices"], 2);
    assert_eq!(stats.subscribers["orders"], 1);
    assert_eq!(stats.subscribers["users/:id/notifications"], 1);
    assert_eq!(stats.channels, 3);

    drop(multi);
    app.wait_for_connections(1).await;
    let stats = app.stats().await;
    assert_eq!(stats.subscribers.get("orders"), None);
    assert_eq!(stats.subscribers["prices"], 1);
    drop(prices);
    app.wait_for_connections(0).await;
    assert_eq!(app.stats().await.channels, 0);
}

/// Idle streams get heartbeat comments (200 ms in tests), which parsers ignore.
#[tokio::test]
async fn idle_streams_get_heartbeats() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let response = alice
        .get(app.url("/api/notifications/stream"))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while raw.windows(2).filter(|w| w == b"\n:").count() < 2 {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("two heartbeats within 5 s")
            .unwrap()
            .unwrap();
        raw.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("retry: 1000\n"), "{text:?}");
    assert!(!text.contains("event: notification"));
}

/// A quiet channel stays quiet: nothing but heartbeats on a fresh notification stream.
#[tokio::test]
async fn nothing_is_sent_that_was_not_published() {
    let app = spawn_app().await;
    let bob = signed_in(&app, "bob").await;
    let mut inbox = open(
        &app,
        &bob,
        "/api/stream?channels=users/bob/notifications",
        None,
    )
    .await
    .events;
    assert_quiet(&mut inbox, Duration::from_millis(500)).await;
    let mut prices = open(
        &app,
        &bob,
        "/api/stream?channels=prices,users/bob/notifications",
        None,
    )
    .await
    .events;
    let event = next_event(&mut prices).await;
    assert_eq!(event.event, "price");
    let alice = signed_in(&app, "alice").await;
    notify(&app, &alice, "bob", "t").await;
    assert_eq!(next_non_price(&mut prices).await.event, "notification");
}
