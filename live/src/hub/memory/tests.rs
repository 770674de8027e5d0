//! The in-memory backend on its own: live rings, exact replay or a gap, live after replay without overlap, idle channels dropped, recent events.

use super::*;

/// Short histories get short live rings; none is shallower than 64 or deeper than the cap.
#[test]
fn live_rings_follow_history() {
    assert_eq!(live_capacity(0), 64);
    assert_eq!(live_capacity(8), 64);
    assert_eq!(live_capacity(100), 128);
    assert_eq!(live_capacity(512), 512);
    assert_eq!(live_capacity(5_000), BROADCAST_CAPACITY);
}

fn event(text: &str) -> NewEvent {
    NewEvent {
        name: "test".into(),
        data: format!("\"{text}\"").into(),
        except: Box::new([]),
    }
}

fn ids(replay: &Replay) -> Option<Vec<u64>> {
    match replay {
        Replay::Events(events) => Some(events.iter().map(|e| e.id).collect()),
        Replay::Gap => None,
    }
}

/// History keeps the newest events; replay gives exactly those after the cursor, or a gap.
#[tokio::test]
async fn replay_is_exact_or_a_gap() {
    let memory = Memory::new();
    for i in 0..10 {
        memory.publish("c", 5, event(&i.to_string())).await.unwrap();
    }
    // Kept: 6..=10.
    let memory = &memory;
    let replay = |after| async move { memory.subscribe("c", 8, after).await.unwrap().replay };
    assert_eq!(ids(&replay(None).await), Some(vec![]));
    assert_eq!(ids(&replay(Some(10)).await), Some(vec![]));
    assert_eq!(ids(&replay(Some(7)).await), Some(vec![8, 9, 10]));
    assert_eq!(ids(&replay(Some(5)).await), Some(vec![6, 7, 8, 9, 10]));
    assert_eq!(ids(&replay(Some(4)).await), None, "5 was dropped");
    assert_eq!(ids(&replay(Some(11)).await), None, "never reached");
}

/// A fresh channel: cursor 0 is up to date, anything else is foreign.
#[tokio::test]
async fn empty_channel_replays_nothing() {
    let memory = Memory::new();
    let feed = memory.subscribe("c", 8, Some(0)).await.unwrap();
    assert_eq!(ids(&feed.replay), Some(vec![]));
    assert_eq!(feed.head, 0);
    assert!(ids(&memory.subscribe("c", 8, Some(3)).await.unwrap().replay).is_none());
}

/// Live events continue right after the replay: no gap, no overlap.
#[tokio::test]
async fn live_follows_replay_without_overlap() {
    let memory = Memory::new();
    for i in 0..3 {
        memory
            .publish("c", 10, event(&i.to_string()))
            .await
            .unwrap();
    }
    let mut feed = memory.subscribe("c", 8, Some(1)).await.unwrap();
    memory.publish("c", 10, event("live")).await.unwrap();
    assert_eq!(ids(&feed.replay), Some(vec![2, 3]));
    match feed.live.next().await.unwrap() {
        Live::Event(e) => assert_eq!(e.id, 4),
        other => panic!("{other:?}"),
    }
}

/// The sweep drops a channel only after `idle` without subscribers and without events; a
/// cursor from its earlier life then replays as a gap, and its new ids continue above
/// every id issued before. (Paused time.)
#[tokio::test(start_paused = true)]
async fn idle_channels_are_dropped_and_old_cursors_gap() {
    let idle = Duration::from_secs(60);
    let memory = Memory::new();
    for i in 0..3 {
        memory.publish("c", 8, event(&i.to_string())).await.unwrap();
    }
    memory.publish("other", 8, event("x")).await.unwrap();
    let watched = memory.subscribe("w", 8, None).await.unwrap();

    assert_eq!(memory.sweep(idle), 0, "first sight starts the clock");
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(memory.sweep(idle), 0, "not idle long enough");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(memory.sweep(idle), 2, "c and other go; w is watched");
    assert_eq!(memory.len(), 1);
    drop(watched);

    // c comes back: ids continue above the 4 ever issued, and cursor 3 (c's old head)
    // is a gap, since "other" published after it.
    let back = memory.publish("c", 8, event("new")).await.unwrap();
    assert_eq!(back.id, 5);
    assert_eq!(
        ids(&memory.subscribe("c", 8, Some(3)).await.unwrap().replay),
        None
    );
    assert_eq!(
        ids(&memory.subscribe("c", 8, Some(4)).await.unwrap().replay),
        Some(vec![5]),
        "a cursor at the new start misses nothing"
    );
}

/// A publish keeps an unwatched channel: only a channel quiet for `idle` goes.
#[tokio::test(start_paused = true)]
async fn publishing_keeps_a_channel() {
    let idle = Duration::from_secs(60);
    let memory = Memory::new();
    memory.publish("c", 8, event("a")).await.unwrap();
    memory.sweep(idle);
    tokio::time::advance(Duration::from_secs(50)).await;
    memory.publish("c", 8, event("b")).await.unwrap();
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(memory.sweep(idle), 0, "published 20 s ago");
    tokio::time::advance(Duration::from_secs(40)).await;
    assert_eq!(memory.sweep(idle), 1);
}

/// `recent` returns the newest n, oldest first.
#[tokio::test]
async fn recent_returns_newest_oldest_first() {
    let memory = Memory::new();
    for i in 0..4 {
        memory
            .publish("c", 10, event(&i.to_string()))
            .await
            .unwrap();
    }
    let recent = memory.recent("c", 2).await.unwrap();
    assert_eq!(recent.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 4]);
}

/// The multiplexed form names the channel and embeds the data unchanged.
#[test]
fn wrapped_names_the_channel() {
    let stored = Stored::new(
        1,
        "users/a/n".into(),
        "x".into(),
        r#"{"k":1}"#.into(),
        Box::new([]),
    );
    assert_eq!(
        &**stored.wrapped(),
        r#"{"channel":"users/a/n","data":{"k":1}}"#
    );
}
