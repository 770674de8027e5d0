//! One client connection's view of its channels: the replay of each, then their live events
//! merged, as a stream of [`Frame`]s that each carry the cursor resuming right after them.

use std::{sync::Arc, time::Duration};

use futures_util::{
    StreamExt,
    stream::{self, BoxStream},
};

use super::{
    backend::{Feed, Live, Replay, Stored},
    cursor::Cursor,
    stats::{ConnectionGuard, ConnectionId, Stats, SubscriberGuard},
};

/// What the SSE layer turns into one event.
#[derive(Debug)]
pub enum Frame {
    /// An event; `cursor` resumes right after it.
    Event { event: Arc<Stored>, cursor: String },
    /// Events of `channel` were lost (the cursor was older than the history, not from it, or
    /// the connection fell behind): the client should reload that channel's snapshot.
    Resync { channel: Arc<str>, cursor: String },
}

/// An open subscription to one or more channels.
pub struct Subscription {
    /// This connection, for `publish(…).except(…)`.
    pub connection: ConnectionId,
    /// The shortest heartbeat interval among its channels.
    pub heartbeat: Duration,
    /// Replay first, then live. Owns the stats guards: dropping it un-counts the connection.
    pub frames: BoxStream<'static, Frame>,
}

/// What goes into the merge, tagged with the channel's index on this connection.
enum Input {
    Replayed(usize, Arc<Stored>),
    Gap(usize),
    Live(usize, Live),
}

/// One channel of a connection, as handed over by the hub.
pub(super) struct Joined {
    pub name: Arc<str>,
    pub feed: Feed,
    /// Where the client stood in this channel (if its cursor was from this epoch).
    pub position: Option<u64>,
}

/// Assembles the frame stream for `channels`; see [`Subscription::frames`].
pub(super) fn frames(
    epoch: &str,
    channels: Vec<Joined>,
    connection: ConnectionGuard,
    stats: Arc<Stats>,
) -> BoxStream<'static, Frame> {
    let mut cursor = Cursor::new(epoch);
    let mut replays = Vec::new();
    let mut lives = Vec::new();
    let mut names = Vec::new();
    let mut subscribers: Vec<SubscriberGuard> = Vec::new();

    for (index, joined) in channels.into_iter().enumerate() {
        let Feed { head, replay, live } = joined.feed;
        // Until told otherwise the client stands where its cursor put it, or at the head.
        cursor
            .positions
            .insert(joined.name.to_string(), joined.position.unwrap_or(head));
        match replay {
            Replay::Events(events) => {
                replays.extend(events.into_iter().map(|e| Input::Replayed(index, e)));
            }
            Replay::Gap => {
                cursor.positions.insert(joined.name.to_string(), head);
                replays.push(Input::Gap(index));
            }
        }
        lives.push(live.map(move |item| Input::Live(index, item)).boxed());
        subscribers.push(stats.subscribe(joined.name.clone()));
        names.push(joined.name);
    }

    let id = connection.id();
    let mut tracker = Tracker {
        cursor,
        names,
        id,
        stats,
        _guards: (connection, subscribers),
    };
    stream::iter(replays)
        .chain(stream::select_all(lives))
        .filter_map(move |input| futures_util::future::ready(tracker.frame(input)))
        .boxed()
}

/// The per-connection state threaded through the merged stream.
struct Tracker {
    cursor: Cursor,
    names: Vec<Arc<str>>,
    id: ConnectionId,
    stats: Arc<Stats>,
    /// Held, never read: they un-count the connection and its subscriptions on drop.
    _guards: (ConnectionGuard, Vec<SubscriberGuard>),
}

impl Tracker {
    fn frame(&mut self, input: Input) -> Option<Frame> {
        match input {
            Input::Replayed(index, event) => {
                self.stats.replayed();
                Some(self.advance(index, event))
            }
            Input::Gap(index) | Input::Live(index, Live::Lagged(_)) => {
                self.stats.resynced();
                Some(Frame::Resync {
                    channel: self.names[index].clone(),
                    cursor: self.cursor.to_string(),
                })
            }
            Input::Live(index, Live::Event(event)) => {
                let name = &self.names[index];
                let seen = self.cursor.position(name).unwrap_or(0);
                // At the seam between replay and live an event could come twice (a backend
                // may overlap them); the cursor says which ones this client already has.
                if event.id <= seen || event.except.contains(&self.id) {
                    return None;
                }
                Some(self.advance(index, event))
            }
        }
    }

    fn advance(&mut self, index: usize, event: Arc<Stored>) -> Frame {
        self.cursor
            .positions
            .insert(self.names[index].to_string(), event.id);
        Frame::Event {
            event,
            cursor: self.cursor.to_string(),
        }
    }
}
