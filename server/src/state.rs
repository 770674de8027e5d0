//! [`AppState`]: the handles every handler, page render and producer shares.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::{
    Config,
    feeds::{
        self,
        jobs::{JobError, JobStarted, Jobs},
        notifications::Notifier,
        orders::OrderBook,
    },
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
    /// Cancelled when a shutdown signal arrives: from then on `/readyz` says 503 and new
    /// streams are refused (see `crate::shutdown` for the phases).
    pub stopping: CancellationToken,
    /// Cancelled once streams must end (`SHUTDOWN_GRACE_MS` after `stopping`, by `serve`);
    /// every stream and producer ends when it fires.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// A fresh in-memory hub with the app's channels; no producer runs yet (see
    /// `feeds::spawn_all`). Cancelling `stopping` starts the shutdown (see [`crate::serve`]).
    pub fn new(config: Config, stopping: CancellationToken) -> Self {
        let jobs = Arc::new(Jobs::new(config.jobs_per_user));
        let mut registry = feeds::registry(config.heartbeat, &jobs);
        if config.bench {
            feeds::bench::register(&mut registry, config.heartbeat);
        }
        let hub = Hub::new(registry, Arc::new(Memory::new()), config.limits);
        Self {
            hub: Arc::new(hub),
            orders: Arc::new(OrderBook::new(config.orders)),
            notifier: Arc::default(),
            jobs,
            session_key: config.session_key.clone(),
            config: Arc::new(config),
            stopping,
            shutdown: CancellationToken::new(),
        }
    }
}

impl AppState {
    /// Starts a demo job for `user` with the configured pace, ending at shutdown: what both
    /// `POST /api/jobs` and the UI's action do.
    pub async fn start_job(&self, user: &str) -> Result<JobStarted, JobError> {
        self.jobs
            .start(
                self.hub.clone(),
                user,
                self.config.job_step,
                self.shutdown.clone(),
            )
            .await
    }
}

/// Lets leptos_axum find its options in our state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.config.leptos.clone()
    }
}
