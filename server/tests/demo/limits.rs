//! Bad input gets a clear answer (status + one-line reason), nothing is half-applied, and the
//! server keeps serving everyone else meanwhile.

use crate::support as common;

use axum_extra::extract::cookie::Key;
use common::{
    RedisServer, TestApp, error, instance_config, json, next_event, open, place_order, signed_in,
    spawn_app, spawn_app_with,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use server::Config;

/// Oversized bodies are 413, wrong JSON 400/415/422, bad values 422, unknown orders 404,
/// forbidden transitions 409; none of them changes the order book.
#[tokio::test]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let json_type = "application/json";
    let huge = "x".repeat(20_000);
    let cases: &[(&str, &str, StatusCode)] = &[
        (&huge, json_type, StatusCode::PAYLOAD_TOO_LARGE),
        ("{not json", json_type, StatusCode::BAD_REQUEST),
        ("{}", "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            r#"{"symbol":"ACME"}"#,
            json_type,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"symbol":"ACME","side":"buy","quantity":1,"price":1,"extra":1}"#,
            json_type,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"symbol":"ACME","side":"hold","quantity":1,"price":1}"#,
            json_type,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"symbol":"acme","side":"buy","quantity":1,"price":1}"#,
            json_type,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"symbol":"ACME","side":"buy","quantity":0,"price":1}"#,
            json_type,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for &(body, content_type, want) in cases {
        let response = alice
            .post(app.url("/api/orders"))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let (status, reason) = error(response).await;
        assert_eq!(status, want, "{}: {reason}", &body[..body.len().min(60)]);
        assert!(!reason.is_empty());
    }
    let list: Value = json(alice.get(app.url("/api/orders"))).await;
    assert_eq!(list["total"], 0, "nothing half-applied: {list}");

    // Updates: unknown id 404, bad status 422, second transition 409.
    let order = place_order(&app, &alice, None).await;
    let patch = |id: String, body: Value| {
        alice
            .patch(app.url(&format!("/api/orders/{id}")))
            .json(&body)
            .send()
    };
    let (status, _) = error(
        patch("999".into(), json!({"status":"filled"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = error(
        patch("abc".into(), json!({"status":"filled"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = error(
        patch(order.id.to_string(), json!({"status":"lost"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = patch(order.id.to_string(), json!({"status":"cancelled"}))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let (status, reason) = error(
        patch(order.id.to_string(), json!({"status":"filled"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(reason.contains("cancelled"), "{reason}");

    // Notifications: unknown user, empty title, oversized body.
    for (body, want) in [
        (
            json!({"user":"mallory","title":"t","body":""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user":"bob","title":"  ","body":""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user":"bob","title":"t","body":"x".repeat(2_001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user":"bob","title":"t"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let response = alice
            .post(app.url("/api/notifications"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(error(response).await.0, want, "{body}");
    }
    // Sessions: only demo users.
    let response = reqwest::Client::new()
        .post(app.url("/api/session"))
        .json(&json!({"user":"mallory"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(response).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

/// State changes need a session (401) and a same-site Origin when one is sent (403).
#[tokio::test]
async fn writes_need_a_session_and_our_origin() {
    let app = spawn_app().await;
    let order = json!({"symbol":"ACME","side":"buy","quantity":1,"price":1.0});
    let post = |client: &reqwest::Client, origin: Option<String>| {
        let mut request = client.post(app.url("/api/orders")).json(&order);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };
    let anonymous = post(&reqwest::Client::new(), None).await.unwrap();
    assert_eq!(error(anonymous).await.0, StatusCode::UNAUTHORIZED);

    let alice = signed_in(&app, "alice").await;
    let foreign = post(&alice, Some("http://evil.example".into()))
        .await
        .unwrap();
    assert_eq!(
        error(foreign).await,
        (StatusCode::FORBIDDEN, "cross-origin request refused".into())
    );
    let own = post(&alice, Some(format!("http://{}", app.addr)))
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CREATED);
    // Signing out ends the session.
    let out = alice.delete(app.url("/api/session")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = post(&alice, None).await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// A user at the stream limit gets 429 while others (and the user's open streams) carry on.
#[tokio::test]
async fn too_many_streams_for_one_user_is_429() {
    let app = spawn_app().await;
    let limit = app.state.config.limits.streams.per_user;
    let alice = signed_in(&app, "alice").await;
    let mut open_streams = Vec::new();
    for _ in 0..limit {
        open_streams.push(open(&app, &alice, "/api/prices/stream", None).await);
    }
    let refused = alice
        .get(app.url("/api/prices/stream"))
        .send()
        .await
        .unwrap();
    let (status, reason) = error(refused).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reason.contains(&limit.to_string()), "{reason}");

    // Others are served meanwhile, and alice's streams still flow.
    let bob = signed_in(&app, "bob").await;
    let mut bobs = open(&app, &bob, "/api/prices/stream", None).await;
    assert_eq!(next_event(&mut bobs.events).await.event, "price");
    assert_eq!(next_event(&mut open_streams[0].events).await.event, "price");

    // Closing one frees a slot.
    open_streams.pop();
    app.wait_for_connections(limit).await;
    open(&app, &alice, "/api/prices/stream", None).await;
}

/// Too many or no channels, and channels= on a single-feed endpoint, are 400.
#[tokio::test]
async fn bad_channel_lists_are_400() {
    let app = spawn_app().await;
    let limit = app.state.config.limits.channels_per_connection;
    let many: Vec<String> = (0..=limit)
        .map(|i| format!("users/alice/jobs/j{i}"))
        .collect();
    for path in [
        format!("/api/stream?channels={}", many.join(",")),
        "/api/stream".to_string(),
        "/api/stream?channels=,,".to_string(),
        "/api/prices/stream?channels=orders".to_string(),
    ] {
        let (status, reason) = error(app.get(&path).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {reason}");
    }
    // Repeating a channel is not "more channels".
    let response = app.get("/api/stream?channels=prices,prices").await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A signed-in user who loops over a write (here: notifications to another user) gets 429 with
/// `Retry-After` once their burst is spent, and nothing more is published; other users write
/// on. Anonymous writes (sign-in) count against the client's address.
#[tokio::test]
async fn writes_are_rate_limited_per_sender() {
    let mut config = Config::for_tests();
    config.write_burst = 5;
    config.writes_per_second = 1;
    let app = spawn_app_with(config).await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let notify = |client: &reqwest::Client| {
        client
            .post(app.url("/api/notifications"))
            .json(&json!({"user": "carol", "title": "hi", "body": ""}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(notify(&alice).await.unwrap().status(), StatusCode::CREATED);
    }
    let refused = notify(&alice).await.unwrap();
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    let (status, reason) = error(refused).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        reason.contains("too many writes: 5 at once and 1 a second"),
        "{reason}"
    );
    assert_eq!(notify(&bob).await.unwrap().status(), StatusCode::CREATED);

    // The two sign-ins above came from this address: three more spend its burst.
    let anonymous = reqwest::Client::new();
    let sign_in = || {
        anonymous
            .post(app.url("/api/session"))
            .json(&json!({"user": "carol"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(sign_in().await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(
        sign_in().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A sender's write budget is one across instances: writes spread over two instances run
/// out together, timed by Redis's clock.
#[tokio::test]
async fn the_write_budget_is_shared_by_the_instances() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let config = || {
        let mut config = instance_config(&redis, &key);
        config.write_burst = 4;
        config.writes_per_second = 1;
        config
    };
    let (a, b) = (
        spawn_app_with(config()).await,
        spawn_app_with(config()).await,
    );
    let alice_a = common::signed_in(&a, "alice").await;
    let alice_b = common::signed_in(&b, "alice").await;
    let notify = |app: &TestApp, client: &reqwest::Client| {
        client
            .post(app.url("/api/notifications"))
            .json(&serde_json::json!({"user": "bob", "title": "hi", "body": ""}))
            .send()
    };
    for (app, client) in [
        (&a, &alice_a),
        (&b, &alice_b),
        (&a, &alice_a),
        (&b, &alice_b),
    ] {
        assert_eq!(
            notify(app, client).await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    for (app, client) in [(&a, &alice_a), (&b, &alice_b)] {
        let refused = notify(app, client).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[reqwest::header::RETRY_AFTER], "1");
    }
}
