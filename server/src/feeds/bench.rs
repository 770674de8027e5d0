//! The benchmark channels, opened only with `BENCH=1` (see `./x bench` and BENCHMARKS.md):
//! `bench` (one channel for everyone: the fan-out scenario) and `bench/:id` (one per
//! simulated user: the personal scenario), both public, and `POST /api/bench/{channel}`, which
//! publishes its body, one JSON value, as a `bench` event. The load generator publishes
//! through it exactly as it does to the peer servers it is compared with.
//!
//! Anyone may publish while it is on: never set `BENCH` in production.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
};
use serde::Serialize;

use crate::{AppState, error::ApiError};
use leptos_live::hub::{Registry, Settings, registry::public};

/// The fan-out channel.
pub const BENCH: &str = "bench";
/// One channel per simulated user.
pub const BENCH_USER: &str = "bench/:id";
/// The event name of everything published here.
pub const EVENT: &str = "bench";

/// History of the fan-out channel: a reconnect storm replays up to this many events.
pub const HISTORY: usize = 1024;
/// History of a user's channel, as for the app's notifications.
pub const USER_HISTORY: usize = 128;

/// Adds the benchmark channels to `registry`, with `heartbeat`.
pub fn register(registry: &mut Registry, heartbeat: std::time::Duration) {
    for (pattern, history) in [(BENCH, HISTORY), (BENCH_USER, USER_HISTORY)] {
        registry
            .register(pattern, Settings { history, heartbeat }, public())
            .unwrap_or_else(|err| panic!("bench channels are wrong: {err:?}"));
    }
}

#[derive(Serialize)]
pub struct Published {
    pub id: u64,
}

/// `POST /api/bench/{channel}`: the body, which must be one JSON value, becomes a `bench` event
/// on `channel` (400 if it is not JSON, 404 if `channel` is not a benchmark channel).
pub async fn publish(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    body: Bytes,
) -> Result<Json<Published>, ApiError> {
    if channel != BENCH && !channel.starts_with("bench/") {
        return Err(ApiError::not_found(format!(
            "{channel:?} is not a benchmark channel"
        )));
    }
    let json = std::str::from_utf8(&body)
        .ok()
        .filter(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
        .ok_or_else(|| ApiError::bad_request("the body must be one JSON value"))?;
    let id = state
        .hub
        .publish_json(&channel, EVENT, json.to_string())
        .await?;
    Ok(Json(Published { id }))
}
