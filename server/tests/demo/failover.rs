//! Redis losing part of its data, over real HTTP and a real `redis-server`: a restore from an
//! older dump (or a failover to a replica that lagged) keeps the epoch but rewinds the
//! channels' offsets, and must never make an id mean two different events; a pub/sub link
//! that goes half-open; stored data that no longer reads as its type.

use crate::support as common;

use std::time::{Duration, Instant};

use axum_extra::extract::cookie::Key;
use common::{
    RedisServer, instance_config, next_event, open, publish_note as publish,
    receive_notes as receive, signed_in, spawn_app_with,
};
use futures_util::StreamExt;

const STREAM: &str = "/api/notifications/stream";

/// Redis is stopped and comes back from its last dump, three events behind. The ids it would
/// issue next (4, 5, 6) are the ones the client already holds: the instance sees the publish
/// count behind what it saw, moves to a new epoch, and the client resuming from its newest
/// cursor gets `resync`, then what follows. (Before: `hello`, then nothing: a silent skip.)
#[tokio::test]
async fn a_redis_restored_from_an_older_dump_means_resync() {
    let mut redis = RedisServer::with_dumps().await;
    let app = spawn_app_with(instance_config(&redis, &Key::generate())).await;
    let alice = signed_in(&app, "alice").await;
    let mut stream = open(&app, &alice, STREAM, None).await;
    for id in 1..=3 {
        publish(&app, id).await;
    }
    redis.command(&["SAVE"]).await;
    for id in 4..=6 {
        publish(&app, id).await;
    }
    let (ids, cursor) = receive(&mut stream, 6).await;
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    let old = app.state.hub.epoch();

    redis.restart().await;
    let started = Instant::now();
    // The first command after the restore notices: the relink's catch-up of the open stream's
    // channel, or a publish.
    for id in 7..=9 {
        while app
            .state
            .hub
            .publish(
                &app::demo::events::channels::notifications("alice"),
                &common::note(id),
            )
            .await
            .is_err()
        {
            assert!(started.elapsed() < Duration::from_secs(10), "Redis is back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_ne!(app.state.hub.epoch(), old, "a new epoch");

    let mut resumed = open(&app, &alice, STREAM, Some(&cursor)).await;
    let first = next_event(&mut resumed.events).await;
    assert_eq!(first.event, "resync", "{first:?}");
    publish(&app, 10).await;
    assert_eq!(receive(&mut resumed, 1).await.0, vec![10]);
}

/// The pub/sub link goes half-open: its connection stays up and carries nothing (a peer or a
/// middlebox gone without a word), so no error ever comes. The instance finds it by a PING
/// that is not answered, relinks, and catches up from the stream: the event published
/// meanwhile reaches the open stream. (Before: never; `/readyz` stayed green.)
#[tokio::test]
async fn a_half_open_pubsub_link_is_found_and_relinked() {
    let redis = RedisServer::start().await;
    let key = Key::generate();
    let proxy = Blackhole::start(redis.port).await;
    let mut config = instance_config(&redis, &key);
    if let Some(redis) = config.redis.as_mut() {
        redis.url = proxy.url();
    }
    let a = spawn_app_with(config).await;
    let b = spawn_app_with(instance_config(&redis, &key)).await;
    let alice = signed_in(&a, "alice").await;
    let mut stream = open(&a, &alice, STREAM, None).await;
    publish(&b, 1).await;
    assert_eq!(receive(&mut stream, 1).await.0, vec![1]);

    proxy.silence_pubsub();
    let started = Instant::now();
    publish(&b, 2).await;
    // Found within PROBE + TIMEOUT (7 s); generous here, for a loaded machine.
    let event = tokio::time::timeout(Duration::from_secs(30), stream.events.next())
        .await
        .expect("the event published while the link was half-open arrives")
        .expect("stream still open")
        .expect("well-formed event");
    let note: app::demo::events::Notification =
        serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("{e}: {event:?}"));
    assert_eq!(note.id, 2);
    println!(
        "half-open link found and caught up in {:?}",
        started.elapsed()
    );
}

/// A TCP proxy to a local port that can silence the connections that subscribed
/// (`SUBSCRIBE`): they stay open and nothing more crosses them, either way. Connections made
/// later are carried as usual.
struct Blackhole {
    port: u16,
    silenced: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Blackhole {
    async fn start(to: u16) -> Self {
        use std::sync::{Arc, atomic::AtomicBool};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silenced = Arc::new(AtomicBool::new(false));
        let flag = silenced.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else {
                    continue;
                };
                // Connections made after the silence are new links: carried.
                let silenced =
                    (!flag.load(std::sync::atomic::Ordering::SeqCst)).then(|| flag.clone());
                tokio::spawn(carry(client, server, silenced));
            }
        });
        Self { port, silenced }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn silence_pubsub(&self) {
        self.silenced
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies both ways; once `silenced` is set, a connection that sent `SUBSCRIBE` carries
/// nothing more (its sockets stay open).
async fn carry(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    silenced: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let subscriber = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let quiet = {
        let subscriber = subscriber.clone();
        move || {
            subscriber.load(Ordering::SeqCst)
                && silenced.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
        }
    };
    let up_quiet = quiet.clone();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            if buf[..n].windows(15).any(|w| w == b"$9\r\nSUBSCRIBE\r\n") {
                subscriber.store(true, Ordering::SeqCst);
            }
            if !up_quiet() && server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            if !quiet() && client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(up, down);
}

/// A stored order that no longer reads as an order (its type changed under the data, or the
/// data was damaged) is the deployment's fault: settling it answers 500 with a generic reason
/// (the cause goes to the log), never 422 with the decoder's text; the list leaves it out and
/// shows the rest.
#[tokio::test]
async fn an_unreadable_stored_order_is_a_500_not_the_clients_fault() {
    let redis = RedisServer::start().await;
    let app = spawn_app_with(instance_config(&redis, &Key::generate())).await;
    let alice = signed_in(&app, "alice").await;
    let damaged = common::place_order(&app, &alice, None).await;
    let kept = common::place_order(&app, &alice, None).await;
    let id = damaged.id.to_string();
    redis
        .command(&[
            "HSET",
            "test:collection:orders",
            &id,
            "{\"id\":\"not an order\"}",
        ])
        .await;

    let settle = alice
        .patch(app.url(&format!("/api/orders/{id}")))
        .json(&serde_json::json!({"status": "filled"}))
        .send()
        .await
        .unwrap();
    let (status, reason) = common::error(settle).await;
    assert_eq!(status, reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reason, "internal error");

    let listed: serde_json::Value = common::json(alice.get(app.url("/api/orders"))).await;
    let ids: Vec<u64> = listed["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [kept.id]);
}
