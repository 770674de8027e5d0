//! The in-memory backend: per channel a tokio broadcast, a history ring and an id counter.
//! The default for one process.
//!
//! Channels appear on first publish or subscribe and are dropped by [`Backend::sweep`] once
//! they have had no subscriber and no event for the idle time, so clients cannot make the
//! server hold channels forever. A channel that comes back continues from the highest id this
//! hub has issued on *any* channel, never from 1: a cursor from its earlier life is then either
//! exactly at the new start (nothing was missed) or before it, which replays as a gap
//! (`resync`). Ids restarting at 1 would instead replay the new events as if they followed
//! the old ones.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::{FutureExt, StreamExt, future::BoxFuture};
use rand::Rng;
use tokio::{sync::broadcast, time::Instant};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::backend::{Backend, BackendError, Feed, Live, NewEvent, Replay, Stored};

/// The most events a live subscriber may fall behind by before it gets a `resync`. The ring is
/// shared by all subscribers of a channel (one slot per event, not per subscriber).
pub const BROADCAST_CAPACITY: usize = 1024;

/// The live ring of a channel keeping `history` events: as deep as its history (a subscriber
/// further behind than that could not be replayed either), at least 64, at most
/// [`BROADCAST_CAPACITY`]. Per-user channels with a short history then cost a few KB each,
/// not the ~40 KB of a full ring.
pub fn live_capacity(history: usize) -> usize {
    history.next_power_of_two().clamp(64, BROADCAST_CAPACITY)
}

pub struct Memory {
    epoch: Arc<str>,
    /// Channels appear on first publish or subscribe. Read-mostly: the write lock is taken
    /// only to add a channel and by the sweep.
    channels: RwLock<HashMap<Arc<str>, Arc<Channel>>>,
    /// The highest id issued on any channel: where a new channel's ids continue from.
    issued: AtomicU64,
    /// The live collections' items.
    stores: crate::collection::store::Stores,
}

struct Channel {
    name: Arc<str>,
    sender: broadcast::Sender<Arc<Stored>>,
    /// Held while an id is assigned, the history appended and the event sent, and while a
    /// subscriber takes its receiver and its replay: so a subscriber sees every event exactly
    /// once, either in its replay or live. Never held across an await.
    history: Mutex<History>,
}

struct History {
    last_id: u64,
    events: VecDeque<Arc<Stored>>,
    /// The last publish (or the creation).
    published_at: Instant,
    /// Since when the sweep has seen this channel without subscribers.
    unwatched_since: Option<Instant>,
    /// Set by the sweep, under this lock, as it removes the channel: whoever locks it later
    /// holds a stale handle and must look the channel up again.
    evicted: bool,
}

impl History {
    fn after(&self, after: Option<u64>) -> Replay {
        let Some(after) = after else {
            return Replay::Events(Vec::new());
        };
        if after > self.last_id {
            // A position this history never reached: a cursor from elsewhere.
            return Replay::Gap;
        }
        let oldest_kept = self.events.front().map_or(self.last_id + 1, |e| e.id);
        if after + 1 < oldest_kept {
            return Replay::Gap;
        }
        Replay::Events(
            self.events
                .iter()
                .filter(|e| e.id > after)
                .cloned()
                .collect(),
        )
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

impl Memory {
    pub fn new() -> Self {
        Self {
            epoch: format!("{:08x}", rand::rng().random::<u32>()).into(),
            channels: RwLock::default(),
            issued: AtomicU64::new(0),
            stores: Default::default(),
        }
    }

    /// Runs `f` on the channel `name` (created with a live ring for `history` events if it is
    /// new) under its lock: the lock is what keeps the sweep from removing it meanwhile.
    fn with_channel<R>(
        &self,
        name: &str,
        history: usize,
        f: impl FnOnce(&Channel, &mut History) -> R,
    ) -> R {
        loop {
            let channel = self.existing(name).unwrap_or_else(|| {
                let mut channels = self
                    .channels
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                channels
                    .entry(name.into())
                    .or_insert_with(|| Arc::new(self.new_channel(name, history)))
                    .clone()
            });
            let mut state = channel.lock();
            // Lost a race with the sweep: this handle is no longer the channel.
            if !state.evicted {
                return f(&channel, &mut state);
            }
        }
    }

    fn new_channel(&self, name: &str, history: usize) -> Channel {
        Channel {
            name: name.into(),
            sender: broadcast::Sender::new(live_capacity(history)),
            history: Mutex::new(History {
                last_id: self.issued.load(Ordering::Relaxed),
                events: VecDeque::new(),
                published_at: Instant::now(),
                unwatched_since: None,
                evicted: false,
            }),
        }
    }

    /// Channels held right now (for tests of the sweep).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Memory {
    /// The channel `name` if it was ever published to or subscribed.
    fn existing(&self, name: &str) -> Option<Arc<Channel>> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, History> {
        // Every update below replaces whole values, so a panic elsewhere cannot leave the
        // history half-written: a poisoned lock is still consistent.
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for Memory {
    fn epoch(&self) -> Arc<str> {
        self.epoch.clone()
    }

    fn store(&self, name: &str) -> Arc<dyn crate::collection::Store> {
        self.stores.get(name)
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        event: NewEvent,
    ) -> BoxFuture<'a, Result<Arc<Stored>, BackendError>> {
        let stored = self.with_channel(channel, history, |channel, state| {
            state.last_id += 1;
            state.published_at = Instant::now();
            let stored = Arc::new(Stored::new(
                state.last_id,
                channel.name.clone(),
                event.name,
                event.data,
                event.except,
            ));
            state.events.push_back(stored.clone());
            while state.events.len() > history {
                state.events.pop_front();
            }
            // Under the channel's lock, so the sweep (which takes it too) can never drop this
            // channel before `issued` covers its newest id.
            self.issued.fetch_max(stored.id, Ordering::Relaxed);
            // An error only means nobody is subscribed right now.
            let _ = channel.sender.send(stored.clone());
            stored
        });
        futures_util::future::ready(Ok(stored)).boxed()
    }

    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        after: Option<u64>,
    ) -> BoxFuture<'a, Result<Feed, BackendError>> {
        let feed = self.with_channel(channel, history, |channel, state| {
            let receiver = channel.sender.subscribe();
            state.unwatched_since = None;
            Feed {
                epoch: self.epoch.clone(),
                head: state.last_id,
                replay: state.after(after),
                live: BroadcastStream::new(receiver)
                    .map(|item| match item {
                        Ok(event) => Live::Event(event),
                        Err(BroadcastStreamRecvError::Lagged(n)) => Live::Lagged(n),
                    })
                    .boxed(),
            }
        });
        futures_util::future::ready(Ok(feed)).boxed()
    }

    fn head<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        // Created if missing: a cursor at 0 for a channel that later starts at a higher id
        // would replay as a gap.
        let head = self.with_channel(channel, history, |_, state| state.last_id);
        futures_util::future::ready(Ok(head)).boxed()
    }

    fn sweep(&self, idle: Duration) -> usize {
        let now = Instant::now();
        let mut channels = self
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let before = channels.len();
        channels.retain(|_, channel| {
            let mut state = channel.lock();
            if channel.sender.receiver_count() > 0 {
                state.unwatched_since = None;
                return true;
            }
            let unwatched = now - *state.unwatched_since.get_or_insert(now);
            let quiet = now - state.published_at;
            if unwatched >= idle && quiet >= idle {
                state.evicted = true;
                return false;
            }
            true
        });
        before - channels.len()
    }

    fn recent<'a>(
        &'a self,
        channel: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<Arc<Stored>>, BackendError>> {
        let events = self.existing(channel).map_or_else(Vec::new, |channel| {
            let state = channel.lock();
            let skip = state.events.len().saturating_sub(n);
            state.events.iter().skip(skip).cloned().collect()
        });
        futures_util::future::ready(Ok(events)).boxed()
    }
}

#[cfg(test)]
mod tests;
