//! The hub's own behaviour with a registry of its own: lag becomes `resync`, refusals leave
//! no trace, event names are checked.

use super::*;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Note {
    id: u64,
}

impl LiveEvent for Note {
    const NAME: &'static str = "note";
}

/// A public `prices` channel and one private channel per user, as an app registers them.
fn hub() -> Hub {
    let settings = |history| Settings {
        history,
        heartbeat: Duration::from_secs(15),
    };
    let mut registry = Registry::default();
    registry
        .register("prices", settings(64), registry::public())
        .unwrap();
    registry
        .register("users/:id/notes", settings(128), registry::owner("id"))
        .unwrap();
    Hub::new(registry, Arc::new(memory::Memory::new()), Limits::default())
}

fn note(id: u64) -> Note {
    Note { id }
}

/// A subscriber that falls more than the broadcast capacity behind gets one `resync` for
/// that channel, then the events that are still there, with ids still increasing.
#[tokio::test]
async fn a_lagging_subscriber_gets_resync_not_a_silent_gap() {
    let hub = hub();
    let channel = "users/alice/notes".to_string();
    let subscription = hub
        .subscribe(
            Client::user(Some("alice")),
            std::slice::from_ref(&channel),
            None,
        )
        .await
        .unwrap();
    let ring = memory::live_capacity(128);
    assert_eq!(ring, 128, "a channel's live ring is as deep as its history");
    let overflow = ring as u64 + 10;
    for id in 1..=overflow {
        hub.publish(&channel, &note(id)).await.unwrap();
    }
    let mut frames = subscription.frames;
    match frames.next().await.unwrap() {
        Frame::Resync { channel: name, .. } => assert_eq!(&*name, channel),
        other => panic!("expected resync, got {other:?}"),
    }
    let mut last = 0;
    for _ in 0..ring {
        match frames.next().await.unwrap() {
            Frame::Event { event, .. } => {
                assert!(event.id > last);
                last = event.id;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(last, overflow, "live again up to the newest event");
    assert_eq!(hub.stats().snapshot().resynced, 1);
}

/// Anything refused at subscribe time leaves no connection counted.
#[tokio::test]
async fn refused_subscriptions_leave_no_trace() {
    let hub = hub();
    let names = vec!["prices".to_string(), "users/bob/notes".to_string()];
    assert!(matches!(
        hub.subscribe(Client::user(Some("alice")), &names, None)
            .await,
        Err(HubError::Forbidden(_))
    ));
    assert!(matches!(
        hub.subscribe(Client::default(), &[], None).await,
        Err(HubError::NoChannels)
    ));
    let stats = hub.stats().snapshot();
    assert_eq!((stats.connections, stats.channels), (0, 0));
}

/// Names that would break framing are refused before they reach axum.
#[test]
fn event_names_are_validated() {
    for bad in ["", "a\nb", "a\rb", "a\0b", "tab\there", "bell\u{7}"] {
        assert!(!is_valid_event_name(bad), "{bad:?}");
    }
    for good in ["price", "order:created", "prix-€"] {
        assert!(is_valid_event_name(good), "{good:?}");
    }
}

/// A channel list is read only up to a bound set by the limit, duplicates included: a list of
/// one name repeated ten thousand times is refused like ten thousand names, not walked to its
/// end. A few repeats within the limit are still dropped.
#[test]
fn a_channel_list_is_bounded_by_the_limit_with_duplicates() {
    let repeated = vec!["a"; 10_000].join(",");
    assert!(matches!(
        channel_list(&repeated, 16),
        Err(HubError::TooManyChannels { limit: 16 })
    ));
    assert_eq!(channel_list("a,b,a,b", 16).unwrap(), ["a", "b"]);
    assert_eq!(channel_list(&vec!["a"; 32].join(","), 16).unwrap(), ["a"]);
    assert!(channel_list(&vec!["a"; 33].join(","), 16).is_err());
}
