//! Who may do what, over real HTTP: nobody reaches into another user's streams, orders or
//! presence, other sites cannot write, and the UI's actions refuse like the REST endpoints.

use crate::support as common;

use app::demo::events::Order;
use common::{error, json, next_event, open, place_order, signed_in, spawn_app, spawn_app_with};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::Config;

/// `X-Connection-Id` naming someone else's connection skips nobody: bob cannot hide his
/// order from alice's tab.
#[tokio::test]
async fn another_users_connection_id_changes_nothing() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let mut alices = open(&app, &alice, "/api/orders/stream", None).await;
    let placed = place_order(&app, &bob, Some(&alices.connection)).await;
    let seen: Order = serde_json::from_str(&next_event(&mut alices.events).await.data).unwrap();
    assert_eq!(seen.id, placed.id);
}

/// Public stats count subscribers by pattern and name nobody; the per-channel detail is for the
/// operator's token only, and absent when no token is configured.
#[tokio::test]
async fn stats_name_no_user() {
    let mut config = Config::for_tests();
    config.ops_token = Some("operator-token-0123456789".into());
    let app = spawn_app_with(config).await;
    let alice = signed_in(&app, "alice").await;
    let _inbox = open(&app, &alice, "/api/notifications/stream", None).await;
    app.wait_for_connections(1).await;
    let stats: Value = json(app.http.get(app.url("/api/stats"))).await;
    assert_eq!(stats["subscribers"]["users/:id/notifications"], 1);
    assert!(!stats.to_string().contains("alice"), "{stats}");

    let detail = |token: Option<&str>| {
        let mut request = app.http.get(app.url("/api/ops/channels"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(
        detail(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        detail(Some("operator-token-0123456780"))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let channels: Value = detail(Some("operator-token-0123456789"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(channels["users/alice/notifications"], 1);

    let without = spawn_app().await;
    let response = without.get("/api/ops/channels").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Only an order's owner may fill or cancel it, over REST and through the UI's server function.
#[tokio::test]
async fn only_the_owner_settles_an_order() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let order = place_order(&app, &alice, None).await;
    let path = format!("/api/orders/{}", order.id);
    let response = bob
        .patch(app.url(&path))
        .json(&json!({"status":"cancelled"}))
        .send()
        .await
        .unwrap();
    let (status, reason) = error(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(reason.contains("not yours"), "{reason}");
    let through_ui = bob
        .post(app.url(app::demo::actions::SetOrderStatus::PATH))
        .form(&[("id", order.id.to_string()), ("status", "filled".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(through_ui.status(), StatusCode::FORBIDDEN);
    let list: Value = json(alice.get(app.url("/api/orders"))).await;
    assert_eq!(list["orders"][0]["status"], "open", "{list}");
    let ok = alice
        .patch(app.url(&path))
        .json(&json!({"status":"cancelled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

/// Writes from other sites are refused by `Sec-Fetch-Site` (whatever `Origin` says) and by
/// `Origin: null`; the site's own pages pass.
#[tokio::test]
async fn cross_site_writes_are_403() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let own = format!("http://{}", app.addr);
    let post = |headers: &[(&'static str, &str)]| {
        let mut request = alice
            .post(app.url("/api/orders"))
            .json(&json!({"symbol":"ACME","side":"buy","quantity":1,"price":1.0}));
        for (name, value) in headers {
            request = request.header(*name, value.to_string());
        }
        request.send()
    };
    for refused in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site"), ("origin", own.as_str())],
        vec![("sec-fetch-site", "cross-site"), ("origin", own.as_str())],
        vec![("origin", "null")],
    ] {
        let (status, reason) = error(post(&refused).await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused:?}");
        assert_eq!(reason, "cross-origin request refused");
    }
    for allowed in [
        vec![("sec-fetch-site", "same-origin"), ("origin", own.as_str())],
        vec![("sec-fetch-site", "none")],
        vec![("origin", own.as_str())],
    ] {
        let response = post(&allowed).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{allowed:?}");
    }
}

/// The UI's actions answer like the REST endpoints: the right status and a one-line reason
/// that says what to do, as `{"error": …}`; never the framework's 500 or internal text.
#[tokio::test]
async fn server_functions_answer_with_typed_errors() {
    let app = spawn_app().await;
    let place = app::demo::actions::PlaceOrder::PATH;
    let form = [
        ("symbol", "acme"),
        ("side", "buy"),
        ("quantity", "1"),
        ("price", "1"),
    ];
    let anonymous = app
        .http
        .post(app.url(place))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error(anonymous).await,
        (StatusCode::UNAUTHORIZED, "sign in first".into())
    );
    let alice = signed_in(&app, "alice").await;
    let invalid = alice.post(app.url(place)).form(&form).send().await.unwrap();
    let (status, reason) = error(invalid).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reason.starts_with("symbol:"), "{reason}");
    // Quantity and price travel as typed: what is not a number gets its field's rule.
    for (field, typed) in [("quantity", "ten"), ("price", "1,5"), ("price", "")] {
        let mut form = form.map(|(k, v)| (k, if k == field { typed } else { v }));
        form[0].1 = "ACME";
        let refused = alice.post(app.url(place)).form(&form).send().await.unwrap();
        let (status, reason) = error(refused).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={typed:?}"
        );
        assert!(reason.starts_with(&format!("{field}:")), "{reason}");
    }
    let typed = [
        ("symbol", "ACME"),
        ("side", "sell"),
        ("quantity", " 3 "),
        ("price", "12.50 "),
    ];
    let order: serde_json::Value = json(alice.post(app.url(place)).form(&typed)).await;
    assert_eq!(
        (order["quantity"].as_u64(), order["price"].as_f64()),
        (Some(3), Some(12.5))
    );
    let garbled = alice
        .post(app.url(place))
        .form(&[("symbol", "ACME")])
        .send()
        .await
        .unwrap();
    let (status, reason) = error(garbled).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reason}");
}
