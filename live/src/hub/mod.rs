//! The stream hub: named channels with authorization, exact replay and fan-out.
//!
//! The event path: a producer calls [`Hub::publish`] with a typed [`LiveEvent`] of the app's.
//! The hub serialises it once; the [`Backend`] gives it the channel's next id, appends it to
//! the channel's bounded history and fans it out. A client's SSE handler calls
//! [`Hub::subscribe`], which authorizes every channel for the user, replays history after the
//! client's [`Cursor`] and then streams live events (see `subscription`).
//!
//! - [`registry`]: channel patterns, authorization callbacks, per-channel settings.
//! - [`cursor`]: the resume position a client sends back.
//! - [`backend`]: ids, history and fan-out as a trait; [`memory`] is the in-process default,
//!   [`redis`] the one several instances share.
//! - [`subscription`]: replay + live merged into frames; [`stats`]: counters and guards;
//!   `publish`: [`Hub::publish`] and its pending [`Publish`].

pub mod backend;
mod channel_list;
mod export;
pub mod memory;
mod publish;
pub mod redis;
pub mod registry;
pub mod stats;
pub mod subscription;

pub use crate::cursor::{Cursor, MalformedCursor};
pub use backend::{Backend, BackendError, Stored};
pub use channel_list::channel_list;
pub use export::Refusal;
pub use publish::{BatchEvent, Publish, is_valid_event_name};
pub use registry::{Access, Registry, Settings};
pub use stats::{Client, ConnectionId, Presence, Refused, Stats, StreamLimits, Totals};
pub use subscription::{Frame, Subscription};

use std::{sync::Arc, time::Duration};

use crate::{
    event::LiveEvent,
    metrics::{Histogram, Metrics},
};

use channel_list::distinct;
use subscription::Joined;

/// Why the hub refused a call. Each maps to one HTTP status (the app's error type says which).
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// No registered pattern matches the name (404).
    #[error("unknown channel {0:?}")]
    UnknownChannel(String),
    /// The channel needs a signed-in user (401).
    #[error("sign in to subscribe to {0:?}")]
    SignInRequired(String),
    /// The user may not subscribe to it (403).
    #[error("not allowed to subscribe to {0:?}")]
    Forbidden(String),
    /// `channels=` was empty (400).
    #[error("name at least one channel: ?channels=a,b")]
    NoChannels,
    /// More channels than one connection may carry (400).
    #[error("at most {limit} channels per connection")]
    TooManyChannels { limit: usize },
    /// A stream limit is reached: in all (503), for the address or the user (429).
    #[error(transparent)]
    Refused(Refused),
    /// The event name would break SSE framing: empty or with control characters (500).
    #[error("invalid event name {0:?}")]
    InvalidEventName(String),
    /// The event could not be serialised (500).
    #[error("cannot serialise event: {0}")]
    Serialize(serde_json::Error),
    /// The backend failed (503).
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Stored data no longer reads as its type (a collection's item after its type changed
    /// under it): the deployment's fault, not the client's, and not a passing outage (500).
    #[error("stored data is unreadable: {0}")]
    Unreadable(String),
}

/// Limits that protect the server from its clients (see SECURITY.md for each one's default and
/// config name).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Open streams in all, per address and per signed-in user.
    pub streams: StreamLimits,
    /// Channels one multiplexed connection may carry.
    pub channels_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            streams: StreamLimits {
                total: 10_000,
                per_address: 64,
                per_user: 16,
            },
            channels_per_connection: 16,
        }
    }
}

/// All channels of this server: the registry (what exists, who may listen), the backend
/// (ids, history, fan-out) and the stats.
pub struct Hub {
    registry: Registry,
    backend: Arc<dyn Backend>,
    stats: Arc<Stats>,
    limits: Limits,
    /// The hub's Prometheus registry, which the app's own metrics join.
    metrics: Metrics,
    /// `leptos_live_publish_duration_seconds`.
    publish_seconds: Histogram,
}

impl Hub {
    pub fn new(registry: Registry, backend: Arc<dyn Backend>, limits: Limits) -> Self {
        let metrics = Metrics::default();
        backend.observe(&metrics);
        let publish_seconds = metrics.histogram(
            "leptos_live_publish_duration_seconds",
            "From a publish call until the backend took the event: stored and in every local subscriber's ring (memory), or accepted by Redis.",
            &[],
        );
        Self {
            registry,
            backend,
            stats: Arc::default(),
            limits,
            metrics,
            publish_seconds,
        }
    }

    /// The hub's Prometheus registry: add an app's own metrics to it, and serve
    /// [`Hub::render_metrics`]. See [`crate::metrics`].
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Fails unless `channel` is registered (whoever may subscribe to it).
    pub fn registered(&self, channel: &str) -> Result<(), HubError> {
        match self.registry.resolve(channel) {
            Some(_) => Ok(()),
            None => Err(HubError::UnknownChannel(channel.to_string())),
        }
    }

    /// The registered pattern `channel` matches (a bounded label for metrics).
    pub fn pattern(&self, channel: &str) -> Option<Arc<str>> {
        self.registry.resolve(channel).map(|r| r.pattern)
    }

    /// Checks that `channel` exists and `user` may subscribe to it; returns its pattern and
    /// settings.
    pub fn authorize(
        &self,
        user: Option<&str>,
        channel: &str,
    ) -> Result<registry::Resolved, HubError> {
        let resolved = self
            .registry
            .resolve(channel)
            .ok_or_else(|| HubError::UnknownChannel(channel.to_string()))?;
        match (resolved.authorize)(user, &resolved.params) {
            Access::Allow => Ok(resolved),
            Access::NotFound => Err(HubError::UnknownChannel(channel.to_string())),
            Access::SignInRequired => Err(HubError::SignInRequired(channel.to_string())),
            Access::Forbidden => Err(HubError::Forbidden(channel.to_string())),
        }
    }

    /// Opens one connection's subscription to `channels` for `user`, resuming from `cursor`.
    ///
    /// Every channel is authorized before anything is subscribed, so a refused request leaves
    /// no trace. Each channel's replay and live feed come from the backend as one step, so
    /// nothing falls between them.
    /// A refusal is counted by its [`Refusal`] (`leptos_live_streams_refused_total`).
    pub async fn subscribe(
        &self,
        client: Client<'_>,
        channels: &[String],
        cursor: Option<Cursor>,
    ) -> Result<Subscription, HubError> {
        let subscribed = self.open(client, channels, cursor).await;
        if let Err(err) = &subscribed
            && !matches!(err, HubError::Refused(_))
        {
            // The stream limits count their own refusals.
            self.stats.refuse(Refusal::from(err));
        }
        subscribed
    }

    async fn open(
        &self,
        client: Client<'_>,
        channels: &[String],
        cursor: Option<Cursor>,
    ) -> Result<Subscription, HubError> {
        let user = client.user;
        let unique = distinct(
            channels.iter().map(String::as_str),
            self.limits.channels_per_connection,
        )?;
        let mut heartbeat = Duration::MAX;
        let mut resolved = Vec::with_capacity(unique.len());
        for name in &unique {
            let channel = self.authorize(user, name)?;
            heartbeat = heartbeat.min(channel.settings.heartbeat);
            resolved.push(channel);
        }
        let connection = self
            .stats
            .connect(client, self.limits.streams)
            .map_err(HubError::Refused)?;

        // A shared backend may move to a new epoch while this runs (its store lost its
        // data); the channels are then taken again, once, in the new one.
        let mut joined = self.join(&unique, &resolved, cursor.as_ref()).await?;
        if joined.iter().any(|j| j.feed.epoch != joined[0].feed.epoch) {
            joined = self.join(&unique, &resolved, cursor.as_ref()).await?;
        }
        let epoch = joined[0].feed.epoch.clone();
        let id = connection.id();
        self.stats.accepted();
        Ok(Subscription {
            connection: id,
            epoch: epoch.clone(),
            heartbeat,
            frames: subscription::frames(&epoch, joined, connection, self.stats.clone()),
        })
    }

    /// Each channel's feed from the backend, with the client's position in it. A cursor from
    /// another epoch (e.g. before a restart of an in-memory hub) says nothing about this
    /// history: every channel it names gets a resync.
    async fn join(
        &self,
        names: &[&str],
        resolved: &[registry::Resolved],
        cursor: Option<&Cursor>,
    ) -> Result<Vec<Joined>, HubError> {
        let epoch = self.epoch();
        let foreign = cursor.is_some_and(|c| *c.epoch != *epoch);
        let mut joined = Vec::with_capacity(names.len());
        for (&name, channel) in names.iter().zip(resolved) {
            let position = cursor.and_then(|c| c.position(name));
            let after = if foreign { None } else { position };
            let mut feed = self
                .backend
                .subscribe(name, channel.settings.history, after)
                .await?;
            let foreign = foreign || feed.epoch != epoch;
            if foreign && position.is_some() {
                feed.replay = backend::Replay::Gap;
            }
            joined.push(Joined {
                name: name.into(),
                pattern: channel.pattern.clone(),
                feed,
                position: position.filter(|_| !foreign),
            });
        }
        Ok(joined)
    }

    /// The newest `n` events on `channel` decoded as `E`, oldest first, for rendering a page.
    /// Events of other types on the channel are skipped.
    pub async fn recent<E: LiveEvent>(&self, channel: &str, n: usize) -> Result<Vec<E>, HubError> {
        let events = self.backend.recent(channel, n).await?;
        Ok(events
            .iter()
            .filter(|e| &*e.name == E::NAME)
            .filter_map(|e| serde_json::from_str(&e.data).ok())
            .collect())
    }

    /// The newest event on `channel` decoded as `E`.
    pub async fn latest<E: LiveEvent>(&self, channel: &str) -> Result<Option<E>, HubError> {
        Ok(self.recent(channel, 1).await?.pop())
    }

    /// A cursor standing at the current head of each of `channels`: what a page rendered now
    /// has seen. Take it *before* reading the state you render, so that an event published
    /// in between is replayed to the client (which applies events idempotently) rather than
    /// lost.
    pub async fn cursor(&self, channels: &[String]) -> Result<Cursor, HubError> {
        let mut cursor = Cursor::new(&*self.epoch());
        for channel in channels {
            let Some(resolved) = self.registry.resolve(channel) else {
                return Err(HubError::UnknownChannel(channel.clone()));
            };
            let head = self
                .backend
                .head(channel, resolved.settings.history)
                .await?;
            cursor.positions.insert(channel.clone(), head);
        }
        Ok(cursor)
    }

    /// Names the history this hub's ids belong to.
    /// Where the live collection `name` keeps its items (see [`crate::collection`]).
    pub fn store(&self, name: &str) -> Arc<dyn crate::collection::Store> {
        self.backend.store(name)
    }

    pub fn epoch(&self) -> Arc<str> {
        self.backend.epoch()
    }

    /// Why the hub cannot serve right now (its backend's store is unreachable), if so.
    pub fn degraded(&self) -> Option<String> {
        self.backend.degraded()
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Who subscribes to `channel` on this instance: its streams and the signed-in users among
    /// them. With several instances, each reports its own (an app sums them: the starter's
    /// `cluster` does, for the presence channels it publishes).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use leptos_live::hub::{Hub, Limits, Registry, Settings, Client, memory::Memory, registry::public};
    /// # tokio_test_block_on(async {
    /// let mut registry = Registry::default();
    /// registry.register("prices", Settings::default(), public()).unwrap();
    /// let hub = Hub::new(registry, Arc::new(Memory::new()), Limits::default());
    /// let alice = hub.subscribe(Client::user(Some("alice")), &["prices".into()], None).await.unwrap();
    /// let guest = hub.subscribe(Client::default(), &["prices".into()], None).await.unwrap();
    /// let watching = hub.presence("prices");
    /// assert_eq!((watching.streams, watching.guests()), (2, 1));
    /// assert_eq!(watching.users.keys().collect::<Vec<_>>(), ["alice"]);
    /// drop((alice, guest));
    /// assert_eq!(hub.presence("prices").streams, 0);
    /// # });
    /// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
    /// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn presence(&self, channel: &str) -> Presence {
        self.stats.presence(channel)
    }

    /// Drops channels unused for `idle` (see [`Backend::sweep`]); returns how many.
    pub fn sweep(&self, idle: Duration) -> usize {
        self.backend.sweep(idle)
    }
}

/// Sweeps unused channels every quarter of `idle` until `shutdown`, so a channel goes between
/// `idle` and 1¼ × `idle` after its last subscriber and its last event.
pub async fn sweeper(hub: Arc<Hub>, idle: Duration, shutdown: tokio_util::sync::CancellationToken) {
    let mut ticks = tokio::time::interval(idle / 4);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let dropped = hub.sweep(idle);
        if dropped > 0 {
            tracing::debug!(dropped, "idle channels dropped");
        }
    }
}

#[cfg(test)]
mod tests;
