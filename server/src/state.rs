//! [`AppState`]: the handles every handler, page render and producer shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::{Config, hub::Hub};

/// Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct AppState {
    /// Channels, their broadcasts and the stats.
    pub hub: Arc<Hub>,
    /// Start-up configuration.
    pub config: Arc<Config>,
    /// Cancelled once on shutdown; every stream and producer ends when it fires.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// A fresh hub with every channel registered; no producer runs yet (see `feeds::spawn_all`).
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        Self {
            hub: Arc::new(Hub::new()),
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
