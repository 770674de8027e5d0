//! Demo producers and the domain code that publishes into the hub:
//!
//! - [`prices`]: a random walk over a few symbols, one task for all clients;
//! - [`orders`]: the order book behind `POST/PATCH /api/orders`, and an optional
//!   [`order_simulator`] that trades on it;
//! - [`notifications`]: messages to one user;
//! - [`jobs`]: a long job streaming its progress;
//! - [`stats`]: the hub's own numbers, every second.

pub mod jobs;
pub mod notifications;
pub mod order_simulator;
pub mod orders;
pub mod prices;
pub mod stats;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// Starts every background producer; each one stops when `state.shutdown` fires.
pub fn spawn_all(state: &AppState) {
    tokio::spawn(prices::run(
        state.hub.clone(),
        state.config.price_interval,
        state.shutdown.clone(),
    ));
    tokio::spawn(stats::run(
        state.hub.clone(),
        stats::INTERVAL,
        state.shutdown.clone(),
    ));
    if let Some(every) = state.config.order_simulator {
        tokio::spawn(order_simulator::run(
            state.hub.clone(),
            state.orders.clone(),
            every,
            state.shutdown.clone(),
        ));
    }
}

/// Milliseconds since the Unix epoch, for event timestamps.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The clock of a producer: ticks every `every` (the first at once) until shutdown.
pub struct Ticks {
    interval: Interval,
    shutdown: CancellationToken,
}

impl Ticks {
    pub fn new(every: Duration, shutdown: CancellationToken) -> Self {
        let mut interval = tokio::time::interval(every);
        // After a stall, carry on at the normal pace rather than bursting to catch up.
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { interval, shutdown }
    }

    /// Waits for the next tick; `false` once shutdown has fired.
    pub async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = self.interval.tick() => true,
        }
    }
}
