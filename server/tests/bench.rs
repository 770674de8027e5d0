//! The benchmark channels behind `BENCH=1` (see `server::feeds::bench`), over real HTTP.

mod common;

use common::{next_event, open, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use server::Config;

fn bench_config() -> Config {
    Config {
        bench: true,
        ..Config::for_tests()
    }
}

/// Off by default: no publish route, no channels.
#[tokio::test]
async fn bench_channels_are_off_by_default() {
    let app = spawn_app().await;
    let published = app
        .http
        .post(app.url("/api/bench/bench"))
        .body(r#"{"seq":1}"#)
        .send()
        .await
        .unwrap();
    // No route: a POST to it is one of the pages' paths, not found (never a 500).
    assert_eq!(published.status(), StatusCode::NOT_FOUND);
    let stream = app.get("/api/stream?channels=bench").await;
    assert_eq!(stream.status(), StatusCode::NOT_FOUND);
}

/// What is posted arrives, byte for byte, on the fan-out channel and on a user's channel;
/// ids count up per channel.
#[tokio::test]
async fn posted_json_reaches_every_subscriber() {
    let app = spawn_app_with(bench_config()).await;
    let client = reqwest::Client::new();
    let mut a = open(&app, &client, "/api/stream?channels=bench", None)
        .await
        .events;
    let mut b = open(&app, &client, "/api/stream?channels=bench", None)
        .await
        .events;
    let mut mine = open(&app, &client, "/api/stream?channels=bench/7", None)
        .await
        .events;
    for (channel, body) in [
        ("bench", r#"{"seq":1,"t":5,"pad":"x"}"#),
        ("bench", "{\n  \"seq\": 2\n}"),
        ("bench/7", r#"[1,2,3]"#),
    ] {
        let response = client
            .post(app.url(&format!("/api/bench/{channel}")))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{channel}: {body}");
    }
    for events in [&mut a, &mut b] {
        let first = next_event(events).await;
        assert_eq!(first.event, "bench");
        assert_eq!(
            first.data,
            r#"{"channel":"bench","data":{"seq":1,"t":5,"pad":"x"}}"#
        );
        let position = |id: &str, channel: &str| -> u64 {
            let (_, rest) = id.split_once(':').expect("EPOCH:…");
            let (name, n) = rest.rsplit_once('=').expect("CHANNEL=ID");
            assert_eq!(name, channel, "{id}");
            n.parse().expect("a number")
        };
        let at = position(&first.id, "bench");
        // A body with line breaks travels as several data lines and comes back whole.
        let second = next_event(events).await;
        assert_eq!(
            second.data,
            "{\"channel\":\"bench\",\"data\":{\n  \"seq\": 2\n}}"
        );
        assert_eq!(position(&second.id, "bench"), at + 1, "consecutive ids");
    }
    let own = next_event(&mut mine).await;
    assert_eq!(own.data, r#"{"channel":"bench/7","data":[1,2,3]}"#);
    assert!(own.id.contains(":bench/7="), "{}", own.id);
}

/// Bad input gets its status and a one-line reason.
#[tokio::test]
async fn bad_publishes_are_refused() {
    let app = spawn_app_with(bench_config()).await;
    for (path, body, status) in [
        ("/api/bench/bench", "not json", StatusCode::BAD_REQUEST),
        ("/api/bench/bench", "", StatusCode::BAD_REQUEST),
        (
            "/api/bench/bench",
            r#"{"a":1} {"b":2}"#,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/bench/prices", "{}", StatusCode::NOT_FOUND),
        ("/api/bench/bench/a/b", "{}", StatusCode::NOT_FOUND),
    ] {
        let response = app
            .http
            .post(app.url(path))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path} {body:?}");
        let error: serde_json::Value = response.json().await.unwrap();
        let reason = error["error"].as_str().unwrap();
        assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
    }
}
