//! The app's channels (who may listen, how much history each keeps) and the producers and
//! domain code that publish on them:
//!
//! - [`prices`]: a random walk over a few symbols, one task for all clients;
//! - [`orders`]: the order book behind `POST/PATCH /api/orders`, and an optional
//!   [`order_simulator`] that trades on it;
//! - [`notifications`]: messages to one user;
//! - [`jobs`]: a long job streaming its progress;
//! - [`stats`]: the hub's own numbers, every second.

pub mod bench;
pub mod jobs;
pub mod notifications;
pub mod order_simulator;
pub mod orders;
pub mod prices;
pub mod stats;

use std::{sync::Arc, time::Duration};

use app::events::{
    ServerTime,
    channels::{self, CLOCK, JOBS, NOTIFICATIONS, ORDERS, PRICES, STATS},
};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::{AppState, cluster::Cluster};
use jobs::Jobs;
use leptos_live::hub::{
    self, Hub, Registry, Settings,
    registry::{owner, public, signed_in},
};

/// Every channel of the app, with `heartbeat` as each one's heartbeat interval; job channels
/// exist only for `jobs` that do. Add a channel here (and its name and event type in
/// `app::events`).
pub fn registry(heartbeat: Duration, jobs: &Arc<Jobs>) -> Registry {
    let settings = |history| Settings { history, heartbeat };
    let mut registry = Registry::default();
    let entries = [
        // A few seconds of ticks: enough to cover a reconnect.
        (PRICES, settings(64), public()),
        (ORDERS, settings(512), signed_in()),
        (NOTIFICATIONS, settings(128), owner("id")),
        // A whole job: 21 progress steps and `complete`.
        (JOBS, settings(32), jobs.authorize()),
        // Only the newest matters; a little history covers a reconnect.
        (STATS, settings(8), public()),
        (CLOCK, settings(4), public()),
    ];
    for (pattern, settings, authorize) in entries {
        registry
            .register(pattern, settings, authorize)
            .unwrap_or_else(|err| panic!("channel table is wrong: {err:?}"));
    }
    registry
}

/// Starts every background producer; each one stops when `state.shutdown` fires. Those whose
/// events every instance shares (prices, stats, clock, simulated orders) tick only on the
/// instance that leads (see `crate::cluster`).
pub fn spawn_all(state: &AppState) {
    let led = |every| Ticks::new(every, state.shutdown.clone()).led_by(state.cluster.clone());
    tokio::spawn(prices::run(
        state.hub.clone(),
        led(state.config.price_interval),
    ));
    tokio::spawn(stats::run(
        state.hub.clone(),
        state.cluster.clone(),
        led(stats::INTERVAL),
    ));
    tokio::spawn(clock(state.hub.clone(), led(Duration::from_secs(1))));
    tokio::spawn(
        state
            .cluster
            .clone()
            .run(state.hub.clone(), state.shutdown.clone()),
    );
    tokio::spawn(hub::sweeper(
        state.hub.clone(),
        state.config.channel_idle,
        state.shutdown.clone(),
    ));
    if let Some(every) = state.config.order_simulator {
        tokio::spawn(order_simulator::run(state.orders.clone(), led(every)));
    }
}

/// The example producer of the README's "Add your own stream": the server's time, every
/// second, on the `clock` channel.
async fn clock(hub: Arc<Hub>, mut ticks: Ticks) {
    let mut outage = Outage::new("clock");
    while ticks.next().await {
        let now = ServerTime { at_ms: now_ms() };
        outage.record(hub.publish(channels::CLOCK, &now).await);
    }
}

pub use crate::clock::now_ms;

/// The clock of a producer: ticks every `every` (the first at once) until shutdown.
pub struct Ticks {
    interval: Interval,
    shutdown: CancellationToken,
    /// Ticks only while this instance leads (shared producers run on one instance).
    cluster: Option<Arc<Cluster>>,
    /// Whether the tick just returned is the first since this instance (again) leads.
    took_over: bool,
    leading: bool,
}

impl Ticks {
    pub fn new(every: Duration, shutdown: CancellationToken) -> Self {
        let mut interval = tokio::time::interval(every);
        // After a stall, carry on at the normal pace rather than bursting to catch up.
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            interval,
            shutdown,
            cluster: None,
            took_over: false,
            leading: false,
        }
    }

    /// Skips the ticks at which this instance does not lead `cluster`: a producer whose
    /// events all instances share runs on one of them at a time.
    pub fn led_by(mut self, cluster: Arc<Cluster>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Waits for the next tick; `false` once shutdown has fired.
    pub async fn next(&mut self) -> bool {
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                _ = self.interval.tick() => {}
            }
            let leads = self.cluster.as_ref().is_none_or(|c| c.leads());
            self.took_over = leads && !self.leading;
            self.leading = leads;
            if leads {
                return true;
            }
        }
    }

    /// Whether this tick is the first one this instance runs the producer since it started or
    /// took it over from another instance: state the producer carries from tick to tick (a
    /// random walk) should be picked up from what was last published.
    pub fn took_over(&self) -> bool {
        self.took_over
    }
}

/// A producer's failures, logged once per outage rather than once per tick: a producer keeps
/// going while its backend is away and carries on by itself when it returns.
pub struct Outage {
    what: &'static str,
    failing: bool,
}

impl Outage {
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            failing: false,
        }
    }

    /// Logs the start and the end of a run of failures.
    pub fn record<T, E: std::fmt::Display>(&mut self, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => {
                if std::mem::replace(&mut self.failing, false) {
                    tracing::info!(producer = self.what, "publishing again");
                }
                Some(value)
            }
            Err(err) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::error!(producer = self.what, error = %err, "cannot publish; retrying every tick");
                }
                None
            }
        }
    }
}

/// A hub with the app's channels and an in-memory backend, for unit tests.
#[cfg(test)]
pub(crate) fn test_hub() -> Hub {
    Hub::new(
        registry(
            Duration::from_secs(15),
            &Arc::new(Jobs::new(
                3,
                axum_extra::extract::cookie::Key::generate(),
                None,
            )),
        ),
        Arc::new(hub::memory::Memory::new()),
        hub::Limits::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table registers (a panic here would be a programming error, caught by this test).
    #[test]
    fn registry_builds() {
        let jobs = Arc::new(Jobs::new(
            1,
            axum_extra::extract::cookie::Key::generate(),
            None,
        ));
        let registry = registry(Duration::from_secs(15), &jobs);
        for name in [
            "prices",
            "orders",
            "stats",
            "clock",
            "users/bob/notifications",
            "users/bob/jobs/j1",
        ] {
            assert!(registry.resolve(name).is_some(), "{name}");
        }
    }
}
