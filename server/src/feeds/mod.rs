//! Demo producers: tasks that publish typed events into the hub until shutdown.

pub mod prices;

use crate::AppState;

/// Starts every producer; each one stops when `state.shutdown` fires.
pub fn spawn_all(state: &AppState) {
    tokio::spawn(prices::run(
        state.hub.clone(),
        state.config.price_interval,
        state.shutdown.clone(),
    ));
}
