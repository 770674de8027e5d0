//! With Redis, an instance's pub/sub link carries only what its own streams watch: one
//! `SUBSCRIBE` per channel with a stream here, dropped when the last one leaves.

use crate::support as common;

use std::time::{Duration, Instant};

use common::{RedisServer, open, publish_note as publish, receive_notes as receive, signed_in};

use crate::scale_out::pair;

const STREAM: &str = "/api/notifications/stream";

/// Each instance's pub/sub link is subscribed to the channels its own streams watch, and only
/// those: Redis sends an event to the instances that want it, not to all. When the last stream
/// of a channel on an instance goes, the sweep unsubscribes it there.
#[tokio::test]
async fn an_instance_subscribes_only_to_the_channels_its_streams_watch() {
    let redis = RedisServer::start().await;
    let (a, b) = pair(&redis).await;
    let subscribers = |channel: &'static str| {
        let redis = &redis;
        async move {
            let key = format!("test:pub:users/{channel}/notifications");
            let reply = redis.command(&["PUBSUB", "NUMSUB", &key]).await;
            let redis::Value::Array(reply) = reply else {
                panic!("NUMSUB answered {reply:?}");
            };
            redis::from_redis_value::<i64>(reply[1].clone()).expect("a count")
        }
    };
    let alice = signed_in(&b, "alice").await;
    let mut stream = open(&b, &alice, STREAM, None).await;
    assert_eq!(subscribers("alice").await, 1, "B alone, once");
    assert_eq!(subscribers("bob").await, 0, "nobody watches bob's");
    publish(&a, 1).await;
    assert_eq!(receive(&mut stream, 1).await.0, vec![1]);

    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribers("alice").await > 0 {
        assert!(
            Instant::now() < deadline,
            "B still subscribed 10 s after its stream left"
        );
        b.state.hub.sweep(Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Back again: subscribed again, and live; still so after the link's probe (a PING on a
    // subscribed link, every 5 s) has run, with no relink.
    let mut stream = open(&b, &alice, STREAM, None).await;
    assert_eq!(subscribers("alice").await, 1);
    publish(&a, 2).await;
    assert_eq!(receive(&mut stream, 1).await.0, vec![2]);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(subscribers("alice").await, 1);
    let metrics = b.state.hub.render_metrics();
    assert!(
        metrics.contains("leptos_live_backend_relinks_total 0"),
        "{metrics}"
    );
}
