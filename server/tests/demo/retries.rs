//! A write made again, over real HTTP: `POST /api/orders` with an `Idempotency-Key` places
//! one order however often it is sent, and the UI's action does the same with its form's key.

use crate::support as common;

use app::demo::{actions::PlaceOrder, events::Order};
use common::{error, next_event, open, signed_in, spawn_app};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::json;

async fn post(app: &common::TestApp, client: &reqwest::Client, key: &str) -> reqwest::Response {
    client
        .post(app.url("/api/orders"))
        .header("idempotency-key", key)
        .json(&json!({"symbol":"ACME","side":"buy","quantity":5,"price":10.0}))
        .send()
        .await
        .expect("request")
}

/// The same key twice: 201 both times with the same order, one `order:created`. Another
/// user's same key is their own; a malformed key is 422. (Before: two orders, two events.)
#[tokio::test]
async fn an_order_sent_twice_with_one_key_is_placed_once() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let mut watching = open(&app, &bob, "/api/orders/stream", None).await;

    let first = post(&app, &alice, "order-1").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Order = first.json().await.unwrap();
    let again = post(&app, &alice, "order-1").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.json::<Order>().await.unwrap(), first);
    let bobs: Order = post(&app, &bob, "order-1").await.json().await.unwrap();
    assert_ne!(bobs.id, first.id);

    let seen: Order = serde_json::from_str(&next_event(&mut watching.events).await.data).unwrap();
    assert_eq!(seen.id, first.id);
    let seen: Order = serde_json::from_str(&next_event(&mut watching.events).await.data).unwrap();
    assert_eq!(seen.id, bobs.id, "the retry announced nothing");
    let list: serde_json::Value = alice
        .get(app.url("/api/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2, "{list}");

    for bad in ["", &"k".repeat(129), "two words"] {
        let (status, reason) = error(post(&app, &alice, bad).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(reason.starts_with("Idempotency-Key"), "{reason}");
    }
}

/// The order form's action sends its key: the same submission twice places one order.
#[tokio::test]
async fn the_order_forms_retry_places_one_order() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let form = [
        ("symbol", "ACME"),
        ("side", "buy"),
        ("quantity", "3"),
        ("price", "9.5"),
        ("key", "f00d"),
    ];
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = alice
            .post(app.url(PlaceOrder::PATH))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        ids.push(response.json::<Order>().await.unwrap().id);
    }
    assert_eq!(ids[0], ids[1]);
}
