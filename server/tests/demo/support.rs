//! The demo's test helpers, on top of the starter's (`tests/common`, re-exported here so that a
//! test file says `common::…` for both).

#![allow(dead_code)] // each test file uses a different part of this

pub use crate::common::*;

use eventsource_stream::Event;
use futures_util::Stream;

/// Places a valid order as the signed-in `client` (from connection `sender`, if given);
/// asserts 201.
pub async fn place_order(
    app: &TestApp,
    client: &reqwest::Client,
    sender: Option<&str>,
) -> app::demo::events::Order {
    let mut request = client
        .post(app.url("/api/orders"))
        .json(&serde_json::json!({"symbol":"ACME","side":"buy","quantity":10,"price":101.5}));
    if let Some(sender) = sender {
        request = request.header("x-connection-id", sender);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    response.json().await.expect("order json")
}

/// Sends a notification to `to` as the signed-in `client`; asserts 201.
pub async fn notify(app: &TestApp, client: &reqwest::Client, to: &str, title: &str) {
    let response = client
        .post(app.url("/api/notifications"))
        .json(&serde_json::json!({"user": to, "title": title, "body": "line one\r\nline two"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
}

/// The next event that is not a price tick (the price feed runs during every test).
pub async fn next_non_price(events: &mut (impl Stream<Item = EventResult> + Unpin)) -> Event {
    loop {
        let event = next_event(events).await;
        if event.event != "price" {
            return event;
        }
    }
}

/// A notification to alice with id `id`, title `n{id}`.
pub fn note(id: u64) -> app::demo::events::Notification {
    app::demo::events::Notification {
        id,
        from: "test".into(),
        to: "alice".into(),
        title: format!("n{id}"),
        body: String::new(),
        at_ms: 0,
    }
}

/// Publishes [`note`] `id` on alice's notifications through `app`'s hub.
pub async fn publish_note(app: &TestApp, id: u64) {
    app.state
        .hub
        .publish(
            &app::demo::events::channels::notifications("alice"),
            &note(id),
        )
        .await
        .expect("publish");
}

/// The next `n` notifications on `stream` (which carries only them): their ids, and the cursor
/// after the last.
pub async fn receive_notes(stream: &mut Opened, n: usize) -> (Vec<u64>, String) {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    for _ in 0..n {
        let event = next_event(&mut stream.events).await;
        assert_eq!(event.event, "notification", "{event:?}");
        let note: app::demo::events::Notification =
            serde_json::from_str(&event.data).expect("json");
        ids.push(note.id);
        cursor = event.id;
    }
    (ids, cursor)
}
