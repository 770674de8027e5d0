//! One client connection's view of its channels: the replay of each, then their live events
//! merged, as a stream of [`Frame`]s that each carry the cursor resuming right after them.

use std::{sync::Arc, time::Duration};

use futures_util::{
    StreamExt,
    stream::{self, BoxStream},
};

use super::{
    backend::{Feed, Live, Replay, Stored},
    stats::{ConnectionGuard, ConnectionId, Stats, SubscriberGuard},
};

/// What the SSE layer turns into one event.
#[derive(Debug)]
pub enum Frame {
    /// An event; `cursor` resumes right after it. `None` on a connection to this one channel:
    /// the cursor is then the event's own, `EPOCH:CHANNEL=ID`, the same for every such
    /// subscriber, so its frame can be built once and shared.
    Event {
        event: Arc<Stored>,
        cursor: Option<String>,
    },
    /// Events of `channel` were lost (the cursor was older than the history, not from it, or
    /// the connection fell behind): the client should reload that channel's snapshot.
    Resync { channel: Arc<str>, cursor: String },
}

/// An open subscription to one or more channels.
pub struct Subscription {
    /// This connection, for `publish(…).except(…)`.
    pub connection: ConnectionId,
    /// The epoch of every cursor this subscription sends.
    pub epoch: Arc<str>,
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
    /// The registry pattern it matched (public stats count by pattern).
    pub pattern: Arc<str>,
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
    let mut positions = Vec::with_capacity(channels.len());
    let mut replays = Vec::new();
    let mut lives = Vec::new();
    let mut names = Vec::new();
    let mut subscribers: Vec<SubscriberGuard> = Vec::new();

    for (index, joined) in channels.into_iter().enumerate() {
        let Feed {
            head, replay, live, ..
        } = joined.feed;
        // Until told otherwise the client stands where its cursor put it, or at the head.
        let mut position = joined.position.unwrap_or(head);
        match replay {
            Replay::Events(events) => {
                replays.extend(events.into_iter().map(|e| Input::Replayed(index, e)));
            }
            Replay::Gap => {
                position = head;
                replays.push(Input::Gap(index));
            }
        }
        positions.push(position);
        lives.push(live.map(move |item| Input::Live(index, item)).boxed());
        subscribers.push(stats.subscribe(joined.name.clone(), joined.pattern, connection.user()));
        names.push(joined.name);
    }
    // Cursor text lists channels by name, whatever order the client asked for them in.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));

    let id = connection.id();
    let mut tracker = Tracker {
        epoch: epoch.into(),
        positions,
        order,
        names,
        id,
        stats,
        span: tracing::Span::current(),
        _guards: (connection, subscribers),
    };
    let live = if lives.len() == 1 {
        lives.pop().expect("one live feed")
    } else {
        stream::select_all(lives).boxed()
    };
    stream::iter(replays)
        .chain(live)
        .filter_map(move |input| futures_util::future::ready(tracker.frame(input)))
        .boxed()
}

/// The per-connection state threaded through the merged stream.
struct Tracker {
    epoch: Box<str>,
    /// The client's position in each channel, by the channel's index on this connection.
    positions: Vec<u64>,
    /// Channel indexes sorted by name: the order of the cursor text.
    order: Vec<usize>,
    names: Vec<Arc<str>>,
    id: ConnectionId,
    stats: Arc<Stats>,
    /// The span the subscription was made in (an app's request span, with its request id):
    /// what is logged of the stream later is logged in it. Entered only then, not on every
    /// event.
    span: tracing::Span,
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
            Input::Gap(index)
            | Input::Live(index, Live::Lagged(_))
            | Input::Live(index, Live::Missed) => {
                if let Input::Live(_, Live::Lagged(skipped)) = &input {
                    self.stats.skipped(*skipped);
                    // A connection that does not keep up (a stuck or slow reader): what it
                    // costs is bounded by the channel's ring, and it hears about the gap.
                    self.span.in_scope(|| {
                        tracing::warn!(
                            connection = %self.id,
                            channel = %self.names[index],
                            skipped,
                            "subscriber fell behind; sending resync"
                        );
                    });
                }
                self.stats.resynced();
                Some(Frame::Resync {
                    channel: self.names[index].clone(),
                    cursor: self.cursor(),
                })
            }
            Input::Live(index, Live::Event(event)) => {
                // At the seam between replay and live an event could come twice (a backend
                // may overlap them); the cursor says which ones this client already has.
                if event.id <= self.positions[index] || event.except.contains(&self.id) {
                    return None;
                }
                self.stats.delivered();
                Some(self.advance(index, event))
            }
        }
    }

    fn advance(&mut self, index: usize, event: Arc<Stored>) -> Frame {
        self.positions[index] = event.id;
        let cursor = (self.positions.len() > 1).then(|| self.cursor());
        Frame::Event { event, cursor }
    }

    /// `EPOCH:CHANNEL=ID,…` (see [`super::Cursor`]).
    fn cursor(&self) -> String {
        use std::fmt::Write;
        let mut text = String::with_capacity(16 + 24 * self.order.len());
        text.push_str(&self.epoch);
        text.push(':');
        for (n, &index) in self.order.iter().enumerate() {
            if n > 0 {
                text.push(',');
            }
            let _ = write!(text, "{}={}", self.names[index], self.positions[index]);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Cursor;

    /// The hand-built cursor text is exactly what [`Cursor`] prints and parses.
    #[test]
    fn cursor_text_matches_cursor() {
        let stats = Arc::new(Stats::default());
        let connection = stats
            .connect(Default::default(), crate::hub::Limits::default().streams)
            .unwrap();
        let tracker = Tracker {
            epoch: "e1".into(),
            positions: vec![7, 3, 0],
            order: vec![1, 2, 0],
            names: vec!["stats".into(), "prices".into(), "prices/x".into()],
            id: connection.id(),
            stats: stats.clone(),
            span: tracing::Span::none(),
            _guards: (connection, Vec::new()),
        };
        let text = tracker.cursor();
        let mut expected = Cursor::new("e1");
        for (name, id) in [("stats", 7), ("prices", 3), ("prices/x", 0)] {
            expected.positions.insert(name.to_string(), id);
        }
        assert_eq!(text, expected.to_string());
        assert_eq!(Cursor::parse(&text).unwrap(), Some(expected));
    }
}
