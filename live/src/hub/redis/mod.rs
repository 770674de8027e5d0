//! The Redis backend: several instances of the server share ids, history and fan-out through
//! one Redis (`REDIS_URL`), the way Centrifugo and nchan scale out.
//!
//! Per channel Redis holds an offset (`{prefix}:off:{channel}`) and a stream of its newest
//! events (`{prefix}:log:{channel}`, entry id `{offset}-0`). A publish is one Lua script: the
//! offset is incremented, the event appended (trimmed to the channel's history) and `PUBLISH`ed
//! on `{prefix}:pub:{channel}`, so ids are gap-free and ordered across instances without
//! clocks; publishes that arrive while one script is in flight share the next (up to 64).
//! Both keys expire `CHANNEL_IDLE_SECS` after the last publish or subscribe; instances refresh
//! them for channels they still serve. A channel that comes back continues above
//! `{prefix}:issued`, the count of every publish, as in [`super::memory`].
//!
//! The epoch is `{prefix}:epoch`, created by whichever script finds it missing: every instance
//! issues and accepts the same cursors, and a Redis that lost its data has a new epoch, so old
//! cursors get `resync`. A Redis that lost only its newest writes (restored from an older
//! dump, failed over to a replica that lagged) keeps its epoch but would issue ids again: each
//! instance passes the highest publish count it saw, and a script that finds the count behind
//! it starts a new epoch (see [`scripts::EPOCH`]). An instance that sees a new epoch ends its
//! open streams; their clients reconnect with a cursor of the old epoch and resync.
//!
//! Fan-out: each instance holds one pub/sub connection, subscribed (`SUBSCRIBE
//! {prefix}:pub:{channel}`) to the channels that have subscribers here, so it receives only
//! their events; it feeds a local broadcast per such channel; those keep the in-memory
//! path (one `Stored` per event per instance, frames built once). Ids are consecutive, so a
//! jump shows a lost message: the missing events are read from the stream (`XRANGE`), or the
//! subscribers get `resync` when the stream no longer has them. After the pub/sub link drops
//! and comes back, every local channel is checked the same way.
//!
//! On a Redis Cluster (several nodes in `REDIS_URL`) every key is under the hash tag
//! `{prefix}`, so all of a deployment's keys, and each script's, are in one slot.
//!
//! - `batch`: publishing: one script per event, per batch, or per group of single publishes
//!   that queued up behind the script in flight.
//! - `connect`: [`Redis::connect`]: the command connection, the epoch, the link started.
//! - `commands`: [`Commands`]: one Redis or a cluster behind one connection type.
//! - `scripts`: the Lua scripts and the key names they use.
//! - `local`: the channels with subscribers on this instance, fed by the link.
//! - `link`: the pub/sub link: relinking, recovery after a drop, gaps in ids.
//! - `decode`: pub/sub messages and stream entries as events.

mod batch;
mod commands;
mod connect;
mod decode;
mod link;
mod local;
mod scripts;

use std::{
    collections::HashMap,
    sync::{
        Arc, OnceLock, PoisonError, RwLock, Weak,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use ::redis::{Client, Script, aio::PubSubSink};
use futures_util::{FutureExt, StreamExt, future::BoxFuture};
use rand::Rng;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use crate::metrics::{Histogram, Metrics};

use super::backend::{Backend, BackendError, Feed, Link, Live, NewEvent, Replay, Stored};
pub use commands::Commands;
use decode::entries;
use local::{Delivery, Local};
use scripts::{EPOCH, FLATTEN, Keys, PUBLISH, READ, RECENT};

/// How long a command or a connection attempt may take before it counts as failed: a publish
/// while Redis is away answers 503 after this (at most twice this if it queued behind a
/// script that was failing the same way; see `batch`), not never.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How often the pub/sub link is pinged: a link that died without closing is found within
/// `PROBE + TIMEOUT`.
const PROBE: Duration = Duration::from_secs(5);
/// Longest wait between two attempts to relink pub/sub.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The history this instance knows: the epoch, and the highest publish count seen in it.
#[derive(Default)]
struct History {
    epoch: Arc<str>,
    issued: u64,
}

/// What [`READ`] found.
struct Read {
    epoch: Arc<str>,
    head: u64,
    replay: Replay,
}

pub struct Redis {
    /// This backend, for the tasks it spawns.
    me: Weak<Redis>,
    keys: Keys,
    /// Where the pub/sub link connects: the one Redis, or the cluster's nodes (in turn).
    clients: Vec<Client>,
    commands: Commands,
    publish: Script,
    /// Single publishes waiting for the next script (see `batch`).
    queue: tokio::sync::mpsc::UnboundedSender<batch::Queued>,
    read: Script,
    recent: Script,
    /// Seconds a channel's keys live after its last publish or subscribe.
    ttl: u64,
    history: RwLock<History>,
    /// Channels with subscribers on this instance.
    local: RwLock<HashMap<Arc<str>, Arc<Local>>>,
    /// Whether the pub/sub connection is subscribed right now.
    linked: AtomicBool,
    /// The pub/sub link's number (links counted from 1) and its command half, while linked.
    sink: RwLock<Option<(u64, PubSubSink)>>,
    /// Links made so far.
    links: AtomicU64,
    /// Attempts to link so far (which of `clients` the next one uses).
    attempts: AtomicUsize,
    /// Whether the last command succeeded.
    commands_ok: AtomicBool,
    /// Times the pub/sub link was lost (metrics).
    relinks: AtomicU64,
    /// Channels that could not catch up after a relink (metrics).
    gaps: AtomicU64,
    /// `leptos_live_backend_pubsub_lag_seconds`, once the hub hands over its registry.
    lag: OnceLock<Histogram>,
}

/// A failed command, in one line.
fn failed(what: &str, err: impl std::fmt::Display) -> BackendError {
    BackendError(format!("redis {what}: {err}"))
}

impl Redis {
    /// The command connection, for domain state kept beside the hub's (e.g. an app's live
    /// collections): keys under [`Redis::prefix`] stay in the deployment's slot on a cluster.
    pub fn commands(&self) -> Commands {
        self.commands.clone()
    }

    /// The prefix of every key of this deployment (on a cluster the hash tag `{REDIS_PREFIX}`).
    pub fn prefix(&self) -> &str {
        &self.keys.prefix
    }

    fn candidate() -> String {
        format!("{:08x}", rand::rng().random::<u32>())
    }

    /// Runs a script invocation, recording whether Redis answered.
    async fn run<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        invocation: &::redis::ScriptInvocation<'_>,
    ) -> Result<T, BackendError> {
        let mut commands = self.commands.clone();
        let result = invocation.invoke_async(&mut commands).await;
        self.commands_ok.store(result.is_ok(), Ordering::Relaxed);
        result.map_err(|e| failed(what, e))
    }

    /// Adopts `epoch` if it is new: the store lost data, so every local stream ends (its
    /// client reconnects with a cursor of the old epoch and gets `resync`). `issued`, the
    /// publish count a script saw (none from a pub/sub message), raises what this instance
    /// has seen in the epoch.
    fn adopt(&self, epoch: &str, issued: Option<u64>) -> Arc<str> {
        let mut current = self.history.write().unwrap_or_else(PoisonError::into_inner);
        let issued = issued.unwrap_or(0);
        if *current.epoch == *epoch {
            current.issued = current.issued.max(issued);
            return current.epoch.clone();
        }
        let new = History {
            epoch: epoch.into(),
            issued,
        };
        let old = std::mem::replace(&mut *current, new).epoch;
        drop(current);
        if !old.is_empty() {
            let ended =
                std::mem::take(&mut *self.local.write().unwrap_or_else(PoisonError::into_inner));
            tracing::warn!(%old, new = %epoch, channels = ended.len(), "Redis has a new epoch (it lost data); open streams end and resync");
        }
        epoch.into()
    }

    /// An invocation of `script` with what [`EPOCH`] takes: the epoch and count keys, an
    /// epoch candidate, and the history this instance knows.
    fn invoke<'s>(&self, script: &'s Script) -> ::redis::ScriptInvocation<'s> {
        let (epoch, issued) = {
            let history = self.history.read().unwrap_or_else(PoisonError::into_inner);
            (history.epoch.to_string(), history.issued)
        };
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.keys.epoch())
            .key(self.keys.issued())
            .arg(Self::candidate())
            .arg(epoch)
            .arg(issued);
        invocation
    }

    /// [`READ`] on `channel`: its offset and log keys, and the TTL.
    fn on_channel<'s>(&self, script: &'s Script, channel: &str) -> ::redis::ScriptInvocation<'s> {
        let mut invocation = self.invoke(script);
        invocation
            .key(self.keys.offset(channel))
            .key(self.keys.log(channel))
            .arg(self.ttl);
        invocation
    }

    /// The channel's history after `after` (see [`READ`]); creates the channel if missing.
    async fn read(&self, channel: &str, after: Option<u64>) -> Result<Read, BackendError> {
        let mut invocation = self.on_channel(&self.read, channel);
        invocation.arg(after.map(|a| a.to_string()).unwrap_or_default());
        let reply: Vec<String> = self.run("read", &invocation).await?;
        let mut reply = reply.into_iter();
        let (Some(epoch), Some(issued), Some(head), Some(status)) =
            (reply.next(), reply.next(), reply.next(), reply.next())
        else {
            return Err(failed("read", "short reply"));
        };
        let issued = issued.parse().map_err(|e| failed("read", e))?;
        let head = head.parse().map_err(|e| failed("read", e))?;
        let replay = match status.as_str() {
            "gap" => Replay::Gap,
            _ => Replay::Events(entries(channel, reply)?),
        };
        Ok(Read {
            epoch: self.adopt(&epoch, Some(issued)),
            head,
            replay,
        })
    }

    async fn recent_raw(
        &self,
        channel: &str,
        n: usize,
    ) -> Result<(Arc<str>, Vec<Arc<Stored>>), BackendError> {
        let mut invocation = self.invoke(&self.recent);
        invocation.key(self.keys.log(channel)).arg(n);
        let reply: Vec<String> = self.run("recent", &invocation).await?;
        let mut reply = reply.into_iter();
        let (Some(epoch), Some(issued)) = (reply.next(), reply.next()) else {
            return Err(failed("recent", "short reply"));
        };
        let issued = issued.parse().map_err(|e| failed("recent", e))?;
        Ok((self.adopt(&epoch, Some(issued)), entries(channel, reply)?))
    }
}

impl Backend for Redis {
    fn store(&self, name: &str) -> Arc<dyn crate::collection::Store> {
        Arc::new(crate::collection::redis::Shared::new(
            self.commands(),
            self.prefix(),
            name,
        ))
    }

    fn epoch(&self) -> Arc<str> {
        self.history
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .epoch
            .clone()
    }

    fn degraded(&self) -> Option<String> {
        if !self.linked.load(Ordering::Relaxed) {
            Some("Redis pub/sub is not linked".into())
        } else if !self.commands_ok.load(Ordering::Relaxed) {
            Some("Redis commands fail".into())
        } else {
            None
        }
    }

    fn observe(&self, metrics: &Metrics) {
        let lag = metrics.histogram(
            "leptos_live_backend_pubsub_lag_seconds",
            "From a publish on any instance until this instance's pub/sub link delivered it (across instances, their clocks' difference included).",
            &[],
        );
        let _ = self.lag.set(lag);
    }

    fn link(&self) -> Option<Link> {
        Some(Link {
            relinks: self.relinks.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        event: NewEvent,
    ) -> BoxFuture<'a, Result<Arc<Stored>, BackendError>> {
        self.publish_queued(channel, history, event).boxed()
    }

    /// One script for the whole batch (see `batch`): all published, or the same error for each.
    fn publish_many<'a>(
        &'a self,
        events: Vec<(&'a str, usize, NewEvent)>,
    ) -> BoxFuture<'a, Vec<Result<Arc<Stored>, BackendError>>> {
        async move {
            let count = events.len();
            batch::per_event(self.publish_all(events).await, count)
        }
        .boxed()
    }

    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
        history: usize,
        after: Option<u64>,
    ) -> BoxFuture<'a, Result<Feed, BackendError>> {
        async move {
            // Joined before reading: every event published after the read arrives live.
            let (local, receiver) = self.join(channel, history);
            self.ensure_subscribed(&local).await?;
            let read = self.read(channel, after).await?;
            local
                .last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(read.head);
            let live = BroadcastStream::new(receiver)
                .map(|item| match item {
                    Ok(Delivery::Event(event)) => Live::Event(event),
                    Ok(Delivery::Missed) => Live::Missed,
                    Err(BroadcastStreamRecvError::Lagged(n)) => Live::Lagged(n),
                })
                .boxed();
            Ok(Feed {
                epoch: read.epoch,
                head: read.head,
                replay: read.replay,
                live,
            })
        }
        .boxed()
    }

    fn head<'a>(
        &'a self,
        channel: &'a str,
        _history: usize,
    ) -> BoxFuture<'a, Result<u64, BackendError>> {
        async move { Ok(self.read(channel, None).await?.head) }.boxed()
    }

    fn recent<'a>(
        &'a self,
        channel: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<Arc<Stored>>, BackendError>> {
        async move { Ok(self.recent_raw(channel, n).await?.1) }.boxed()
    }

    /// Forgets local channels nobody here subscribes to (Redis keeps their history until it
    /// expires) and refreshes the expiry of those still served.
    fn sweep(&self, _idle: Duration) -> usize {
        self.sweep_local()
    }
}
