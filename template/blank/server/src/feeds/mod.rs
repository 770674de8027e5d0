//! The app's channels (who may listen, how much history each keeps) and its producers: the
//! example `clock`, [`stats`] (the hub's own numbers, every second), [`presence`] (who is
//! watching the channels of [`watched`]), the benchmark's channels; and what every producer
//! uses: [`Ticks`] (a clock that runs only on the leading instance when it should) and
//! [`Outage`]. The demo registers and spawns its own (`crate::demo`).

pub mod bench;
pub mod presence;
pub mod stats;

use std::{sync::Arc, time::Duration};

use app::events::{
    ServerTime,
    channels::{self, CLOCK, PRESENCE, PRESENCE_PEOPLE, STATS},
};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::{AppState, cluster::Cluster};
use leptos_live::hub::{
    self, Hub, Registry, Settings,
    registry::{public, signed_in},
};

/// The app's channels, with `heartbeat` as each one's heartbeat interval. Add a channel here
/// (and its name and event type in `app::events`).
pub fn registry(heartbeat: Duration) -> Registry {
    let settings = |history| Settings { history, heartbeat };
    let mut registry = Registry::default();
    let entries = [
        // Only the newest matters; a little history covers a reconnect.
        (STATS, settings(8), public()),
        (CLOCK, settings(4), public()),
        // The example live collection (app/src/tasks.rs).
        (app::tasks::TASKS, settings(64), signed_in()),
        // Who watches the channels of `watched()`: only the newest matters.
        (
            PRESENCE,
            settings(1),
            presence::of_watched(watched(), public()),
        ),
        (
            PRESENCE_PEOPLE,
            settings(1),
            presence::of_watched(watched(), signed_in()),
        ),
    ];
    for (pattern, settings, authorize) in entries {
        registry
            .register(pattern, settings, authorize)
            .unwrap_or_else(|err| panic!("channel table is wrong: {err:?}"));
    }
    registry
}

/// The channels whose presence is published (`presence/{channel}`): one-segment names.
pub fn watched() -> Vec<&'static str> {
    vec![
        // Who has the tasks page open.
        app::tasks::TASKS,
    ]
}

/// Starts every background producer; each one stops when `state.shutdown` fires. Those whose
/// events every instance shares (stats, clock; the demo's prices and simulated orders) tick
/// only on the instance that leads (see `crate::cluster`).
///
/// Returns the lease task: it gives the lease up once `state.shutdown` fires, and the process
/// should wait for it (as `main` does) so that another instance takes over at once.
pub fn spawn_all(state: &AppState) -> tokio::task::JoinHandle<()> {
    let led = |every| Ticks::new(every, state.shutdown.clone()).led_by(state.cluster.clone());
    tokio::spawn(stats::run(
        state.hub.clone(),
        state.cluster.clone(),
        led(stats::INTERVAL),
    ));
    tokio::spawn(clock(state.hub.clone(), led(Duration::from_secs(1))));
    tokio::spawn(presence::run(
        state.hub.clone(),
        state.cluster.clone(),
        watched(),
        led(presence::INTERVAL),
    ));
    // Histogram samples fold into buckets on every scrape; with nobody scraping, here.
    tokio::spawn(leptos_live::metrics::upkeep(
        state.hub.metrics().clone(),
        Duration::from_secs(5),
        state.shutdown.clone(),
    ));
    tokio::spawn(hub::sweeper(
        state.hub.clone(),
        state.config.channel_idle,
        state.shutdown.clone(),
    ));
    tokio::spawn(
        state
            .cluster
            .clone()
            .run(state.hub.clone(), watched(), state.shutdown.clone()),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The table registers (a panic here would be a programming error, caught by this test).
    #[test]
    fn registry_builds() {
        let registry = registry(Duration::from_secs(15));
        for name in [
            "stats",
            "clock",
            "tasks",
            "presence/tasks",
            "presence/tasks/people",
        ] {
            assert!(registry.resolve(name).is_some(), "{name}");
        }
        // Presence of a channel nobody watches is no channel.
        let other = registry.resolve("presence/stats").unwrap();
        assert_eq!(
            (other.authorize)(None, &other.params),
            leptos_live::hub::Access::NotFound
        );
        let people = registry.resolve("presence/tasks/people").unwrap();
        assert_eq!(
            (people.authorize)(None, &people.params),
            leptos_live::hub::Access::SignInRequired
        );
        assert!(
            registry.resolve("prices").is_none(),
            "the demo registers its own"
        );
    }
}
