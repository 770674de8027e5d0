//! Who may subscribe to what: anonymous, alice and bob against every channel and endpoint,
//! and bob never receives alice's notifications anywhere.

use crate::support as common;

use std::time::Duration;

use common::{TestApp, json, next_non_price, notify, open, signed_in, spawn_app};
use reqwest::StatusCode;

async fn status(app: &TestApp, client: &reqwest::Client, path: &str) -> StatusCode {
    // Dropping the response right away closes a stream that did open.
    client.get(app.url(path)).send().await.unwrap().status()
}

/// The matrix: 200 where allowed, 401 when a sign-in is needed, 403 for someone else's
/// channel, 404 for unknown channels and jobs that do not exist; on the multiplexed and the
/// per-feed endpoints.
#[tokio::test]
async fn authorization_matrix() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let job: serde_json::Value = json(alice.post(app.url("/api/jobs"))).await;
    let job_path = format!("/api/stream?channels={}", job["channel"].as_str().unwrap());
    use StatusCode as S;
    let cases: &[(&str, [StatusCode; 3])] = &[
        // path                                            anonymous      alice          bob
        ("/api/stream?channels=prices", [S::OK, S::OK, S::OK]),
        (
            "/api/stream?channels=orders",
            [S::UNAUTHORIZED, S::OK, S::OK],
        ),
        (
            "/api/stream?channels=users/alice/notifications",
            [S::UNAUTHORIZED, S::OK, S::FORBIDDEN],
        ),
        (
            "/api/stream?channels=users/bob/notifications",
            [S::UNAUTHORIZED, S::FORBIDDEN, S::OK],
        ),
        (&job_path, [S::UNAUTHORIZED, S::OK, S::FORBIDDEN]),
        (
            "/api/stream?channels=users/alice/jobs/j999",
            [S::UNAUTHORIZED, S::NOT_FOUND, S::FORBIDDEN],
        ),
        (
            "/api/stream?channels=prices,users/alice/notifications",
            [S::UNAUTHORIZED, S::OK, S::FORBIDDEN],
        ),
        (
            "/api/stream?channels=nope",
            [S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "/api/stream?channels=users/alice",
            [S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        ("/api/prices/stream", [S::OK, S::OK, S::OK]),
        ("/api/orders/stream", [S::UNAUTHORIZED, S::OK, S::OK]),
        ("/api/notifications/stream", [S::UNAUTHORIZED, S::OK, S::OK]),
    ];
    for (path, expected) in cases {
        let got = [
            status(&app, &anonymous, path).await,
            status(&app, &alice, path).await,
            status(&app, &bob, path).await,
        ];
        assert_eq!(&got, expected, "{path} (anonymous, alice, bob)");
    }
    // Refusals carry a one-line reason.
    let body: serde_json::Value =
        json(bob.get(app.url("/api/stream?channels=users/alice/notifications"))).await;
    assert_eq!(
        body["error"],
        "not allowed to subscribe to \"users/alice/notifications\""
    );
    app.wait_for_connections(0).await;
}

/// Bob, listening on every endpoint he may use, never sees a notification meant for alice.
#[tokio::test]
async fn bob_never_receives_alices_notifications() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let mut own = open(&app, &bob, "/api/notifications/stream", None).await;
    let mut multi = open(
        &app,
        &bob,
        "/api/stream?channels=prices,orders,users/bob/notifications",
        None,
    )
    .await;
    let mut alices = open(&app, &alice, "/api/notifications/stream", None).await;

    notify(&app, &alice, "alice", "for alice").await;
    notify(&app, &alice, "bob", "for bob").await;

    // Alice gets hers; each of bob's streams gets exactly his, first.
    let event = next_non_price(&mut alices.events).await;
    assert!(event.data.contains("for alice"));
    for stream in [&mut own.events, &mut multi.events] {
        let event = tokio::time::timeout(Duration::from_secs(10), next_non_price(stream))
            .await
            .unwrap();
        assert_eq!(event.event, "notification");
        assert!(event.data.contains("for bob"), "{}", event.data);
        assert!(!event.data.contains("for alice"));
    }
}
