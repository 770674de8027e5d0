//! Resuming after a disconnect: exactly the missed events in order, then live, with no
//! duplicate at the seam, whether the cursor comes as the `Last-Event-ID` header or the
//! `last_event_id` query parameter; `resync` when the cursor is too old or foreign; 400 when
//! it is malformed.

use crate::support as common;

use common::{
    next_event, open, place_order, publish_note as publish, receive_notes as receive, signed_in,
    spawn_app,
};
use reqwest::StatusCode;

/// Disconnect, publish N, reconnect with the header: exactly the N, in order, then live.
#[tokio::test]
async fn reconnect_with_header_replays_exactly_the_missed_events() {
    resumes_exactly(true).await;
}

/// The same through `?last_event_id=` on a first connect.
#[tokio::test]
async fn connect_with_query_cursor_replays_exactly_the_missed_events() {
    resumes_exactly(false).await;
}

async fn resumes_exactly(header: bool) {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let mut stream = open(&app, &alice, "/api/notifications/stream", None).await;
    publish(&app, 1).await;
    publish(&app, 2).await;
    let (ids, cursor) = receive(&mut stream, 2).await;
    assert_eq!(ids, vec![1, 2]);
    drop(stream);

    for id in 3..=9 {
        publish(&app, id).await;
    }
    let mut resumed = if header {
        open(&app, &alice, "/api/notifications/stream", Some(&cursor)).await
    } else {
        let path = format!("/api/notifications/stream?last_event_id={cursor}");
        open(&app, &alice, &path, None).await
    };
    let (replayed, _) = receive(&mut resumed, 7).await;
    assert_eq!(replayed, (3..=9).collect::<Vec<_>>());
    publish(&app, 10).await;
    let (live, _) = receive(&mut resumed, 1).await;
    assert_eq!(live, vec![10], "live follows the replay with no duplicate");
    assert!(app.stats().await.replayed >= 7);
}

/// The header wins over a stale query parameter (browsers keep the URL on reconnect).
#[tokio::test]
async fn header_cursor_wins_over_query_cursor() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let mut stream = open(&app, &alice, "/api/notifications/stream", None).await;
    publish(&app, 1).await;
    let (_, old) = receive(&mut stream, 1).await;
    publish(&app, 2).await;
    let (_, newer) = receive(&mut stream, 1).await;
    drop(stream);
    publish(&app, 3).await;
    let path = format!("/api/notifications/stream?last_event_id={old}");
    let mut resumed = open(&app, &alice, &path, Some(&newer)).await;
    assert_eq!(receive(&mut resumed, 1).await.0, vec![3]);
}

/// A cursor older than the history (128 notifications) gets `resync`, then live events.
#[tokio::test]
async fn cursor_older_than_history_gets_resync() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let mut stream = open(&app, &alice, "/api/notifications/stream", None).await;
    publish(&app, 1).await;
    let (_, cursor) = receive(&mut stream, 1).await;
    drop(stream);
    for id in 2..=200 {
        publish(&app, id).await;
    }
    let mut resumed = open(&app, &alice, "/api/notifications/stream", Some(&cursor)).await;
    let event = next_event(&mut resumed.events).await;
    assert_eq!(event.event, "resync");
    let resync: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(resync["channel"], "users/alice/notifications");
    publish(&app, 201).await;
    assert_eq!(receive(&mut resumed, 1).await.0, vec![201]);
    // The resync's id moved the cursor to the head: resuming from it replays nothing old.
    drop(resumed);
    let mut again = open(&app, &alice, "/api/notifications/stream", Some(&event.id)).await;
    assert_eq!(receive(&mut again, 1).await.0, vec![201]);
    assert!(app.stats().await.resynced >= 1);
}

/// A cursor from another server's history (e.g. before a restart) gets `resync`.
#[tokio::test]
async fn foreign_cursor_gets_resync() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let foreign = "0000beef:users/alice/notifications=3";
    let mut stream = open(&app, &alice, "/api/notifications/stream", Some(foreign)).await;
    assert_eq!(next_event(&mut stream.events).await.event, "resync");
}

/// One multiplexed cursor resumes every channel of the connection.
#[tokio::test]
async fn multiplexed_cursor_resumes_all_channels() {
    let app = spawn_app().await;
    let alice = signed_in(&app, "alice").await;
    let path = "/api/stream?channels=orders,users/alice/notifications";
    let mut stream = open(&app, &alice, path, None).await;
    publish(&app, 1).await;
    let event = next_event(&mut stream.events).await;
    let cursor = event.id;
    drop(stream);

    publish(&app, 2).await;
    place_order(&app, &alice, None).await;

    let mut resumed = open(&app, &alice, path, Some(&cursor)).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let event = next_event(&mut resumed.events).await;
        let envelope: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        got.push((
            event.event,
            envelope["channel"].as_str().unwrap().to_string(),
        ));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "notification".to_string(),
                "users/alice/notifications".to_string()
            ),
            ("order:created".to_string(), "orders".to_string()),
        ]
    );
}

/// Cursors we could not have sent are a 400 with a reason, not a panic or a silent reset.
#[tokio::test]
async fn malformed_cursors_are_400() {
    let app = spawn_app().await;
    for bad in [
        "garbage",
        "e:prices=x",
        "e:prices=-1",
        "a%0Db:prices=1",
        "e:bad%00name=1",
    ] {
        let response = app
            .get(&format!("/api/prices/stream?last_event_id={bad}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("malformed cursor"),
            "{body}"
        );
    }
    let response = app
        .http
        .get(app.url("/api/prices/stream"))
        .header("last-event-id", "not a cursor")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
