//! Several instances sharing one hub through a real Redis (a throwaway `redis-server` per
//! test): events published on one reach subscribers of another, cursors taken on one resume on
//! another, a lost pub/sub link is recovered from the stream, a Redis that lost its data gives
//! `resync` instead of a silent gap, and a Redis outage is ridden out without a restart.

use crate::support as common;

use std::time::{Duration, Instant};

use app::demo::events::Notification;
use axum_extra::extract::cookie::Key;
use common::{
    EventResult, RedisServer, TestApp, error, instance_config, next_event, open, place_order,
    publish_note as publish, receive_notes as receive, signed_in, spawn_app_with,
};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;

const STREAM: &str = "/api/notifications/stream";

/// Two instances sharing `redis`.
pub(crate) async fn pair(redis: &RedisServer) -> (TestApp, TestApp) {
    let key = Key::generate();
    let a = spawn_app_with(instance_config(redis, &key)).await;
    let b = spawn_app_with(instance_config(redis, &key)).await;
    (a, b)
}

/// Waits until `path` on `app` answers `status` (10 s at most).
async fn wait_for_status(app: &TestApp, path: &str, status: StatusCode) {
    let started = Instant::now();
    loop {
        let response = app.get(path).await;
        if response.status() == status {
            return;
        }
        let body = response.text().await.unwrap_or_default();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} never answered {status}; the last answer: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads until the stream ends (10 s at most), returning the event names seen.
async fn until_end(events: &mut (impl Stream<Item = EventResult> + Unpin)) -> Vec<String> {
    let mut names = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Ok(event))) => names.push(event.event),
            Ok(Some(Err(_)) | None) => return names,
            Err(_) => panic!("the stream did not end; saw {names:?}"),
        }
    }
}

/// Published on A, received on B, in order, with the same ids A's publish returned.
#[tokio::test]
async fn an_event_published_on_one_instance_reaches_the_other() {
    let redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let alice = signed_in(&b, "alice").await;
    let mut stream = open(&b, &alice, STREAM, None).await;
    for id in 1..=5 {
        publish(&a, id).await;
    }
    let (ids, _) = receive(&mut stream, 5).await;
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(a.state.hub.epoch(), b.state.hub.epoch(), "one epoch");
}

/// A cursor taken on A resumes on B: exactly the missed events, by header and by query.
#[tokio::test]
async fn a_cursor_from_one_instance_resumes_on_the_other() {
    let redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let alice = signed_in(&a, "alice").await;
    let mut stream = open(&a, &alice, STREAM, None).await;
    publish(&a, 1).await;
    publish(&b, 2).await;
    let (ids, cursor) = receive(&mut stream, 2).await;
    assert_eq!(ids, vec![1, 2]);
    drop(stream);

    for id in 3..=6 {
        publish(&a, id).await;
    }
    // The session cookie was issued by A; B accepts it (one SESSION_KEY).
    let mut by_header = open(&b, &alice, STREAM, Some(&cursor)).await;
    assert_eq!(receive(&mut by_header, 4).await.0, vec![3, 4, 5, 6]);
    let path = format!("{STREAM}?last_event_id={cursor}");
    let mut by_query = open(&b, &alice, &path, None).await;
    assert_eq!(receive(&mut by_query, 4).await.0, vec![3, 4, 5, 6]);
    // Then live on both, with no duplicate at the seam.
    publish(&a, 7).await;
    assert_eq!(receive(&mut by_header, 1).await.0, vec![7]);
    assert_eq!(receive(&mut by_query, 1).await.0, vec![7]);
}

/// Redis drops the pub/sub connections (`CLIENT KILL TYPE pubsub`) and refuses new ones (an
/// ACL without `SUBSCRIBE`) while five events go out, so none of them can arrive by pub/sub.
/// Once B may subscribe again it relinks and reads the missed events from the stream: all of
/// them, in order, no resync.
#[tokio::test]
async fn a_lost_pubsub_link_is_recovered_from_the_stream() {
    let redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let alice = signed_in(&b, "alice").await;
    let mut stream = open(&b, &alice, STREAM, None).await;
    publish(&a, 1).await;
    assert_eq!(receive(&mut stream, 1).await.0, vec![1]);

    redis
        .command(&["ACL", "SETUSER", "default", "-subscribe"])
        .await;
    redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    for id in 2..=6 {
        publish(&a, id).await;
    }
    common::assert_quiet(&mut stream.events, Duration::from_millis(300)).await;
    redis
        .command(&["ACL", "SETUSER", "default", "+subscribe"])
        .await;
    let (ids, _) = receive(&mut stream, 5).await;
    assert_eq!(ids, vec![2, 3, 4, 5, 6]);
    publish(&a, 7).await;
    assert_eq!(receive(&mut stream, 1).await.0, vec![7], "live again");
    assert_eq!(b.stats().await.resynced, 0);
}

/// FLUSHALL: the next script finds no epoch and makes a new one. Open streams end; a client
/// resuming with its old cursor gets `resync`, never the new ids read as if they followed.
/// Sessions were data too: they are gone, and their cookies sign nobody in.
#[tokio::test]
async fn a_redis_that_lost_its_data_means_resync() {
    let redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let alice = signed_in(&b, "alice").await;
    let mut stream = open(&b, &alice, STREAM, None).await;
    for id in 1..=3 {
        publish(&a, id).await;
    }
    let (_, cursor) = receive(&mut stream, 3).await;
    let old = b.state.hub.epoch();

    redis.command(&["FLUSHALL"]).await;
    publish(&a, 4).await;
    assert_ne!(a.state.hub.epoch(), old, "A moved to a new epoch");
    until_end(&mut stream.events).await;
    assert_ne!(b.state.hub.epoch(), old, "B moved to it as well");

    // The sessions were in the lost data too: alice's cookie names nobody now.
    let anonymous = alice.get(b.url(STREAM)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let alice = signed_in(&b, "alice").await;
    let mut resumed = open(&b, &alice, STREAM, Some(&cursor)).await;
    let first = next_event(&mut resumed.events).await;
    assert_eq!(first.event, "resync", "{first:?}");
    publish(&a, 5).await;
    assert_eq!(receive(&mut resumed, 1).await.0, vec![5]);
}

/// Redis goes away: `/readyz` says degraded, publishes answer 503 with a reason, open streams
/// stay open (heartbeats). It comes back (empty): all of it recovers with no restart, and the
/// open stream's client resyncs.
#[tokio::test]
async fn a_redis_outage_is_ridden_out() {
    let mut redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let alice = signed_in(&a, "alice").await;
    wait_for_status(&a, "/readyz", StatusCode::OK).await;
    let mut stream = open(&b, &alice, STREAM, None).await;
    publish(&a, 1).await;
    let (_, cursor) = receive(&mut stream, 1).await;

    redis.stop();
    wait_for_status(&a, "/readyz", StatusCode::SERVICE_UNAVAILABLE).await;
    let body = a.get("/readyz").await.text().await.unwrap();
    assert!(body.starts_with("degraded: "), "{body}");
    let refused = alice
        .post(a.url("/api/notifications"))
        .json(&serde_json::json!({"user": "alice", "title": "t", "body": ""}))
        .send()
        .await
        .unwrap();
    let (status, reason) = error(refused).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reason.contains("try again"), "{reason}");
    // The open stream stays open: heartbeats (comments) keep coming, nothing else.
    common::assert_quiet(&mut stream.events, Duration::from_millis(600)).await;

    redis.restart().await;
    wait_for_status(&a, "/readyz", StatusCode::OK).await;
    wait_for_status(&b, "/readyz", StatusCode::OK).await;
    // The Redis came back empty: B's open stream ends; its cursor now resyncs. (Its sessions
    // are gone with the rest: alice signs in again.)
    until_end(&mut stream.events).await;
    let alice = signed_in(&a, "alice").await;
    let mut resumed = open(&b, &alice, STREAM, Some(&cursor)).await;
    assert_eq!(next_event(&mut resumed.events).await.event, "resync");
    publish(&a, 2).await;
    assert_eq!(receive(&mut resumed, 1).await.0, vec![2]);
}

/// Without Redis at start the process says why, in one line, and exits.
#[tokio::test]
async fn unreachable_redis_at_start_is_a_clear_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{port}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "leptos-live")
        .env("REDIS_URL", &url)
        .env("SESSION_KEY", "ab".repeat(64))
        .env("RUST_LOG", "off")
        .output()
        .expect("run the server binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with(&format!("error: cannot reach Redis at {url}: "))
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// An order placed through A is listed by B, settled through B (only by its owner), and both
/// changes reach a subscriber on A; the open-order limit counts across instances, and settled
/// orders age out of the shared book (oldest settlement first) whichever instance settled them.
#[tokio::test]
async fn orders_are_one_book_across_instances() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let mut config = instance_config(&redis, &key);
    config.demo.orders.open_per_user = 2;
    config.demo.orders.settled_kept = 1;
    let a = spawn_app_with(config.clone()).await;
    let b = spawn_app_with(config).await;
    let alice = signed_in(&a, "alice").await;
    let bob = signed_in(&a, "bob").await;
    let mut watching = open(&a, &alice, "/api/orders/stream", None).await;

    let placed = place_order(&a, &alice, None).await;
    let listed: serde_json::Value = common::json(alice.get(b.url("/api/orders"))).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["orders"][0]["id"], placed.id);

    let settle = |app: &TestApp, client: &reqwest::Client| {
        client
            .patch(app.url(&format!("/api/orders/{}", placed.id)))
            .json(&serde_json::json!({"status": "filled"}))
            .send()
    };
    assert_eq!(
        settle(&b, &bob).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(settle(&b, &alice).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        settle(&a, &alice).await.unwrap().status(),
        StatusCode::CONFLICT
    );

    let names: Vec<String> = [
        next_event(&mut watching.events).await,
        next_event(&mut watching.events).await,
    ]
    .into_iter()
    .map(|e| e.event)
    .collect();
    assert_eq!(names, ["order:created", "order:updated"]);

    // Two open orders, one through each instance: the third is refused on either.
    let second = place_order(&a, &alice, None).await;
    let third = place_order(&b, &alice, None).await;
    let refused = alice
        .post(b.url("/api/orders"))
        .json(&serde_json::json!({"symbol":"ACME","side":"buy","quantity":1,"price":1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);

    // Settled through one instance and the other: one settled order is kept, the newest.
    for (app, order) in [(&a, &second), (&b, &third)] {
        let settled = alice
            .patch(app.url(&format!("/api/orders/{}", order.id)))
            .json(&serde_json::json!({"status": "cancelled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(settled.status(), StatusCode::OK);
    }
    let listed: serde_json::Value = common::json(alice.get(a.url("/api/orders"))).await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["orders"][0]["id"], third.id);
    // Settling freed both places.
    place_order(&b, &alice, None).await;
    place_order(&a, &alice, None).await;
}

/// `X-Connection-Id` from a stream held by B skips that stream when the order is placed
/// through A; any other stream of the user still gets it.
#[tokio::test]
async fn except_works_across_instances() {
    let redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let alice = signed_in(&a, "alice").await;
    let mut on_b = open(&b, &alice, "/api/orders/stream", None).await;
    let mut on_a = open(&a, &alice, "/api/orders/stream", None).await;
    let placed = place_order(&a, &alice, Some(&on_b.connection)).await;
    let seen = next_event(&mut on_a.events).await;
    assert_eq!(seen.event, "order:created");
    common::assert_quiet(&mut on_b.events, Duration::from_millis(500)).await;
    // The next change, without the header, reaches both.
    let response = alice
        .patch(a.url(&format!("/api/orders/{}", placed.id)))
        .json(&serde_json::json!({"status": "cancelled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(next_event(&mut on_b.events).await.event, "order:updated");
}

/// A job started through A is followed on B from its cursor (0 % to complete); the running
/// limit counts across instances; notification ids never repeat across instances.
#[tokio::test]
async fn jobs_and_notifications_across_instances() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let mut config = instance_config(&redis, &key);
    config.demo.jobs_per_user = 1;
    config.demo.job_step = Duration::from_millis(20);
    let a = spawn_app_with(config.clone()).await;
    let b = spawn_app_with(config).await;
    let alice = signed_in(&a, "alice").await;

    let started: serde_json::Value = common::json(alice.post(a.url("/api/jobs"))).await;
    let refused = alice.post(b.url("/api/jobs")).send().await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one job at a time, anywhere"
    );
    let path = format!(
        "/api/stream?channels={}&last_event_id={}",
        started["channel"].as_str().unwrap(),
        started["cursor"].as_str().unwrap()
    );
    let mut job = open(&b, &alice, &path, None).await;
    let mut percents = Vec::new();
    loop {
        let event = next_event(&mut job.events).await;
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        match event.event.as_str() {
            "progress" => percents.push(data["data"]["percent"].as_u64().unwrap()),
            "complete" => break,
            other => panic!("{other}: {data}"),
        }
    }
    assert_eq!(percents, (0..=100).step_by(5).collect::<Vec<_>>());

    let mut ids = Vec::new();
    for app in [&a, &b, &a, &b] {
        let sent: Notification = common::json(
            alice
                .post(app.url("/api/notifications"))
                .json(&serde_json::json!({"user": "bob", "title": "t", "body": ""})),
        )
        .await;
        ids.push(sent.id);
    }
    assert_eq!(ids, vec![1, 2, 3, 4]);
}

/// A page whose render waits on a Redis that stopped answering is answered 503 once
/// `RENDER_TIMEOUT_MS` is up (here before Redis's own command timeout), not held open.
#[tokio::test]
async fn a_render_that_cannot_finish_is_503_at_the_render_timeout() {
    let redis = RedisServer::start().await;
    let mut config = instance_config(&redis, &Key::generate());
    config.render_timeout = Duration::from_millis(300);
    let app = spawn_app_with(config).await;
    assert_eq!(app.get("/").await.status(), StatusCode::OK);

    redis.pause();
    let response = app.get("/").await;
    redis.resume();
    let (status, reason) = common::error(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reason, "the page took too long to answer; try again");
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "and fine again after"
    );
}
