//! The hub on a real Redis Cluster (three masters on loopback, `common::RedisCluster`): two
//! instances given the nodes as `REDIS_URL` share events and replay, every key of the
//! deployment sits in one slot (the hash tag `{test}`), and a master that is killed and
//! replaced empty means `resync` for the streams that were open, then live again: never
//! silence.

mod common;

use std::time::{Duration, Instant};

use axum_extra::extract::cookie::Key;
use common::{RedisCluster, TestApp, next_event, open, spawn_app_with};
use leptos_live::hub::BatchEvent;
use server::{Config, config::RedisConfig};

fn config(cluster: &RedisCluster, key: &Key) -> Config {
    Config {
        redis: Some(RedisConfig {
            url: cluster.url(),
            prefix: "test".into(),
        }),
        session_key: key.clone(),
        ..Config::for_tests()
    }
}

/// Publishes `{"n": n}` as `mark` on `clock` through `app`, retrying while the cluster is
/// failing over (30 s at most); the event's id.
async fn mark(app: &TestApp, n: u64) -> u64 {
    let started = Instant::now();
    loop {
        match app
            .state
            .hub
            .publish_json("clock", "mark", format!("{{\"n\":{n}}}"))
            .await
        {
            Ok(id) => return id,
            Err(err) => assert!(
                started.elapsed() < Duration::from_secs(30),
                "publish kept failing: {err}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next `mark` on `events` (other events skipped): its `n` and id, or the name of a
/// `resync`.
async fn next_mark(
    events: &mut (impl futures_util::Stream<Item = common::EventResult> + Unpin),
) -> Result<(u64, String), String> {
    loop {
        let event = next_event(events).await;
        match event.event.as_str() {
            "mark" => {
                let envelope: serde_json::Value = serde_json::from_str(&event.data).unwrap();
                return Ok((envelope["data"]["n"].as_u64().unwrap(), event.id));
            }
            "resync" => return Err(event.event),
            _ => {}
        }
    }
}

/// Two instances on `cluster`, a stream on B, and mark 1 published on A and seen there: the
/// instances, the stream and its cursor after the mark.
async fn live_pair(cluster: &RedisCluster) -> (TestApp, TestApp, common::Opened, String) {
    let key = Key::generate();
    let a = spawn_app_with(config(cluster, &key)).await;
    let b = spawn_app_with(config(cluster, &key)).await;
    let anyone = reqwest::Client::new();
    let mut opened = open(&b, &anyone, "/api/stream?channels=clock", None).await;
    mark(&a, 1).await;
    let (n, cursor) = next_mark(&mut opened.events).await.expect("a mark");
    assert_eq!(n, 1, "A → B live");
    (a, b, opened, cursor)
}

#[tokio::test]
async fn two_instances_share_events_and_replay_through_a_cluster() {
    let cluster = RedisCluster::start().await;
    let (a, _b, opened, cursor) = live_pair(&cluster).await;
    // Two marks while the stream is away, then it resumes with its cursor on A.
    drop(opened);
    mark(&a, 2).await;
    mark(&a, 3).await;
    let anyone = reqwest::Client::new();
    let mut resumed = open(&a, &anyone, "/api/stream?channels=clock", Some(&cursor)).await;
    let n = |mark: Result<(u64, String), String>| mark.map(|(n, _)| n);
    assert_eq!(n(next_mark(&mut resumed.events).await), Ok(2), "replayed");
    assert_eq!(n(next_mark(&mut resumed.events).await), Ok(3), "replayed");
    // A batch is one script over the deployment's slot: no CROSSSLOT either.
    let batch = [4, 5].map(|n| BatchEvent::new("clock", "mark", format!("{{\"n\":{n}}}")));
    let published = a.state.hub.publish_batch(batch.to_vec()).await;
    assert!(published.iter().all(Result::is_ok), "{published:?}");
    assert_eq!(n(next_mark(&mut resumed.events).await), Ok(4), "batch");
    assert_eq!(n(next_mark(&mut resumed.events).await), Ok(5), "batch");

    // Every key in the slot of the hash tag: the node that holds it has them all.
    let owner = cluster.owner_of("{test}:epoch").await;
    let keys = cluster.nodes[owner].command(&["KEYS", "*"]).await;
    let redis::Value::Array(keys) = keys else {
        panic!("KEYS answered {keys:?}");
    };
    assert!(
        keys.len() >= 4,
        "the epoch, the count, the channel's offset and log: {keys:?}"
    );
    for key in keys {
        let key: String = redis::from_redis_value(key).unwrap();
        assert!(
            key.starts_with("{test}:"),
            "{key} outside the deployment's slot"
        );
    }
}

#[tokio::test]
async fn a_master_killed_and_replaced_means_resync_then_live() {
    let mut cluster = RedisCluster::start().await;
    let (a, b, mut opened, cursor) = live_pair(&cluster).await;

    // The master of the deployment's slot dies and comes back empty (no persistence).
    let owner = cluster.owner_of("{test}:epoch").await;
    cluster.nodes[owner].restart().await;
    cluster.wait_ok().await;
    mark(&a, 2).await;

    // The open stream ends (its events are gone with the data); resuming with its cursor
    // gets resync, never the new ids as if they followed; then it is live.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut opened.events).await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream from before the loss ended");
    let anyone = reqwest::Client::new();
    let mut resumed = open(&b, &anyone, "/api/stream?channels=clock", Some(&cursor)).await;
    assert_eq!(next_mark(&mut resumed.events).await, Err("resync".into()));
    mark(&a, 3).await;
    let (n, _) = next_mark(&mut resumed.events).await.expect("a mark");
    assert_eq!(n, 3, "live again");
}
