//! [`AppState`]: the handles every handler, page render and producer shares.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::{
    Config,
    feeds::{self, jobs::Jobs, notifications::Notifier, orders::OrderBook},
    hub::{Hub, memory::Memory},
};

/// Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct AppState {
    /// Channels, ids, history, fan-out, stats.
    pub hub: Arc<Hub>,
    pub orders: Arc<OrderBook>,
    pub notifier: Arc<Notifier>,
    pub jobs: Arc<Jobs>,
    /// Start-up configuration.
    pub config: Arc<Config>,
    /// Signs the session cookie.
    pub session_key: Key,
    /// Cancelled once on shutdown; every stream and producer ends when it fires.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// A fresh in-memory hub with the app's channels; no producer runs yet (see
    /// `feeds::spawn_all`).
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        let mut registry = feeds::registry(config.heartbeat);
        if config.bench {
            feeds::bench::register(&mut registry, config.heartbeat);
        }
        let hub = Hub::new(registry, Arc::new(Memory::new()), config.limits);
        Self {
            hub: Arc::new(hub),
            orders: Arc::default(),
            notifier: Arc::default(),
            jobs: Arc::default(),
            session_key: config.session_key.clone(),
            config: Arc::new(config),
            shutdown,
        }
    }
}

/// Lets leptos_axum find its options in our state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.config.leptos.clone()
    }
}
