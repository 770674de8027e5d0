//! The storage and fan-out behind the hub, as a trait, so that a Redis backend can replace the
//! in-memory one without touching handlers or feeds. A backend owns, per channel: the id
//! sequence, the bounded history, and the broadcast to live subscribers. Several server
//! instances sharing one backend then agree on ids and history.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;

use futures_util::{FutureExt, future::BoxFuture, stream::BoxStream};

use super::stats::ConnectionId;

/// A published event as stored and fanned out: serialised once, shared by every subscriber.
#[derive(Debug)]
pub struct Stored {
    /// The channel's id for it: consecutive per channel (a channel that was dropped for being
    /// idle and comes back continues above every id issued before; see `memory`).
    pub id: u64,
    pub channel: Arc<str>,
    /// The SSE event name.
    pub name: Arc<str>,
    /// The event's JSON.
    pub data: Arc<str>,
    /// Connections that must not receive it (e.g. the sender's own tab).
    pub except: Box<[ConnectionId]>,
    /// `{"channel":…,"data":…}` for multiplexed streams, built on first use and then shared.
    wrapped: OnceLock<Arc<str>>,
    /// The SSE layer's frames of this event, built by the first subscriber that sends it and
    /// then shared by all (see `crate::sse::wire`): fan-out writes the same bytes everywhere.
    pub frames: [OnceLock<Bytes>; 3],
}

impl Stored {
    pub fn new(
        id: u64,
        channel: Arc<str>,
        name: Arc<str>,
        data: Arc<str>,
        except: Box<[ConnectionId]>,
    ) -> Self {
        Self {
            id,
            channel,
            name,
            data,
            except,
            wrapped: OnceLock::new(),
            frames: Default::default(),
        }
    }

    /// The data of a multiplexed frame: the channel name and the event, built once per event.
    pub fn wrapped(&self) -> &Arc<str> {
        self.wrapped.get_or_init(|| {
            let channel = serde_json::Value::from(&*self.channel);
            format!(r#"{{"channel":{channel},"data":{}}}"#, self.data).into()
        })
    }
}

/// What a new subscriber gets before going live.
#[derive(Debug)]
pub enum Replay {
    /// Every event after the cursor, oldest first (empty when it is up to date).
    Events(Vec<Arc<Stored>>),
    /// The cursor is older than the history or not from it: events were lost; resync.
    Gap,
}

/// One item of a live subscription.
#[derive(Debug)]
pub enum Live {
    Event(Arc<Stored>),
    /// The subscriber fell behind the broadcast and `n` events were skipped.
    Lagged(u64),
    /// The backend lost events of the channel (e.g. while its link to a shared store was
    /// down) and cannot read them back: the subscriber resyncs.
    Missed,
}

/// A subscription to one channel: the replay, then the live events that follow it without gap
/// or overlap.
pub struct Feed {
    /// The epoch the head and replay belong to (a shared backend can move to a new one when
    /// its store lost its data; the hub then subscribes again).
    pub epoch: Arc<str>,
    /// The channel's last id when the subscription was taken.
    pub head: u64,
    pub replay: Replay,
    pub live: BoxStream<'static, Live>,
}

/// A backend failure (e.g. Redis unreachable); clients see 503, the log the cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// An event ready to be stored: everything but its id.
pub struct NewEvent {
    pub name: Arc<str>,
    pub data: Arc<str>,
    pub except: Box<[ConnectionId]>,
}

/// The state of a backend's link to a shared store, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Times the link was lost (each then relinked with backoff).
    pub relinks: u64,
    /// Channels that could not recover what they missed while it was down.
    pub gaps: u64,
}

pub trait Backend: Send + Sync + 'static {
    /// Names this backend's history; cursors from another epoch are foreign (see `Cursor`).
    fn epoch(&self) -> Arc<str>;

    /// Why the backend cannot serve right now (e.g. its store is unreachable), for `/readyz`.
    fn degraded(&self) -> Option<String> {
        None
    }

    /// Registers the backend's own series in the hub's registry (called once, by `Hub::new`).
    fn observe(&self, _metrics: &crate::metrics::Metrics) {}

    /// Its link to a shared store, if it has one.
    fn link(&self) -> Option<Link> {
        None
    }

    /// Assigns the channel's next id, appends to its history (keeping at most `history`
    /// events) and fans the event out, as one step with respect to `subscribe`.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        event: NewEvent,
    ) -> BoxFuture<'a, Result<Arc<Stored>, BackendError>>;

    /// Publishes `events` (channel, history, event), in order, as [`Backend::publish`] would
    /// one after another, with a result for each; a backend that can do it in one step does
    /// (Redis: one script for all, so all are published or none).
    fn publish_many<'a>(
        &'a self,
        events: Vec<(&'a str, usize, NewEvent)>,
    ) -> BoxFuture<'a, Vec<Result<Arc<Stored>, BackendError>>> {
        async move {
            let mut results = Vec::with_capacity(events.len());
            for (channel, history, event) in events {
                results.push(self.publish(channel, history, event).await);
            }
            results
        }
        .boxed()
    }

    /// Subscribes to `channel` (which keeps `history` events): with `after: None` live events
    /// only, with `Some(id)` first the history after `id` (or a `Gap`).
    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        after: Option<u64>,
    ) -> BoxFuture<'a, Result<Feed, BackendError>>;

    /// The channel's last id (where a subscriber standing at the head resumes from).
    fn head<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
    ) -> BoxFuture<'a, Result<u64, BackendError>>;

    /// The newest `n` events of `channel`, oldest first.
    fn recent<'a>(
        &'a self,
        channel: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<Arc<Stored>>, BackendError>>;

    /// The store of the live collection `name` (see [`crate::collection`]): kept where this
    /// backend keeps its channels, so instances sharing the backend share the collection.
    fn store(&self, name: &str) -> Arc<dyn crate::collection::Store>;

    /// Drops channels that have had no subscriber and no event for `idle`, with their
    /// history; returns how many. A later cursor for one of them replays as a gap (`resync`).
    fn sweep(&self, idle: std::time::Duration) -> usize;
}
