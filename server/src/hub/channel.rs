//! One channel: a bounded broadcast, the id counter and the latest event.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

/// Events a subscriber may fall behind by before it is told to resync. At ~100 bytes an event
/// this bounds the memory a slow client can pin to a few tens of KB per channel; a client that
/// falls this far behind gets an explicit `resync` event instead of a silent gap.
pub const CHANNEL_CAPACITY: usize = 256;

/// An event as it travels through the hub: serialised once, shared by every subscriber.
#[derive(Clone, Debug)]
pub struct Published {
    /// Per-channel, starting at 1, increasing by one per event.
    pub id: u64,
    /// The SSE event name (validated by the hub).
    pub name: &'static str,
    /// The event's JSON.
    pub data: Arc<str>,
}

pub(super) struct Channel {
    sender: broadcast::Sender<Published>,
    /// Held while an id is assigned *and* the event sent, so concurrent publishers cannot
    /// deliver id 8 before id 7. Never held across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: u64,
    latest: Option<Published>,
}

impl Channel {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::Sender::new(capacity),
            state: Mutex::default(),
        }
    }

    pub(super) fn publish(&self, name: &'static str, data: Arc<str>) -> u64 {
        // A panic elsewhere while holding the lock cannot leave `State` half-written (both
        // fields are replaced whole), so a poisoned lock is still safe to use.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.last_id += 1;
        let event = Published {
            id: state.last_id,
            name,
            data,
        };
        state.latest = Some(event.clone());
        // An error only means nobody is subscribed right now: nothing to deliver.
        let _ = self.sender.send(event);
        state.last_id
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.sender.subscribe()
    }

    pub(super) fn latest(&self) -> Option<Published> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.latest.clone()
    }
}
