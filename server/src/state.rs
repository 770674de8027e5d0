//! [`AppState`]: the handles every handler, page render and producer shares.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::{
    Config,
    cluster::{Cluster, Shared},
    demo::{self, Demo}, // demo
    feeds,
    sessions::Sessions,
    sockets::Sockets,
    writes::WriteRate,
};
use leptos_live::hub::{Backend, BackendError, Hub, memory::Memory, redis::Redis};

/// The shared [`Handles`], behind one reference count: axum clones the state for every
/// middleware layer of every request, and a clone of the handles themselves (each an `Arc`, the
/// tokens taking a lock) showed at ~11k instructions per request (callgrind, 7 clones).
#[derive(Clone)]
pub struct AppState(Arc<Handles>);

impl std::ops::Deref for AppState {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

/// What [`AppState`] shares; reach the fields through it (`state.hub`).
pub struct Handles {
    /// Channels, ids, history, fan-out, stats.
    pub hub: Arc<Hub>,
    /// The other instances sharing the hub through Redis, if any: who runs the shared
    /// producers, and the stats of all.
    pub cluster: Arc<Cluster>,
    pub demo: Demo, // demo
    /// Start-up configuration.
    pub config: Arc<Config>,
    /// Signs the session cookie, connection ids and job ids.
    pub session_key: Key,
    /// Who is signed in (see `crate::sessions`).
    pub sessions: Arc<Sessions>,
    /// Each sender's write budget (see `crate::writes`).
    pub writes: Arc<WriteRate>,
    /// The open connections (see `crate::sockets`).
    pub sockets: Arc<Sockets>,
    /// Cancelled when a shutdown signal arrives: from then on `/readyz` says 503 and new
    /// streams are refused (see `crate::shutdown` for the phases).
    pub stopping: CancellationToken,
    /// Cancelled once streams must end (`SHUTDOWN_GRACE_MS` after `stopping`, by `serve`);
    /// every stream and producer ends when it fires.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// The hub with the app's channels, in this process or, with `REDIS_URL`, shared through
    /// Redis (which must answer: the error says why it does not). No producer runs yet (see
    /// `feeds::spawn_all`). Cancelling `stopping` starts the shutdown (see [`crate::serve`]).
    pub async fn start(config: Config, stopping: CancellationToken) -> Result<Self, BackendError> {
        let shutdown = CancellationToken::new();
        let (backend, store): (Arc<dyn Backend>, Option<Shared>) = match &config.redis {
            None => (Arc::new(Memory::new()), None),
            Some(redis) => {
                let backend = Redis::connect(
                    &redis.url,
                    &redis.prefix,
                    config.channel_idle,
                    shutdown.clone(),
                )
                .await?;
                let shared = Shared::new(backend.commands(), backend.prefix());
                (backend, Some(shared))
            }
        };
        let cluster = store.clone().map_or_else(Cluster::single, Cluster::shared);
        let mut registry = feeds::registry(config.heartbeat);
        let jobs = demo::jobs(&config, store.clone()); // demo
        let prices = config.demo.price_interval; // demo
        demo::register(&mut registry, config.heartbeat, prices, &jobs); // demo
        if config.bench {
            feeds::bench::register(&mut registry, config.heartbeat);
        }
        let hub = Arc::new(Hub::new(registry, backend, config.limits));
        let writes = WriteRate::new(config.write_burst, config.writes_per_second, store.clone());
        let sessions = Sessions::new(
            config.sessions,
            store.clone(),
            config.session_key.clone(),
            config.secure_cookies,
        );
        if let Some(path) = config.sessions_file.as_deref().filter(|_| store.is_none()) {
            match sessions.load(path) {
                Ok(n) => tracing::info!(sessions = n, file = %path.display(), "sessions restored"),
                Err(err) => {
                    tracing::warn!(error = %err, file = %path.display(), "sessions not restored")
                }
            }
        }
        Ok(Self(Arc::new(Handles {
            demo: Demo::new(&hub, &config, store, jobs), // demo
            hub,
            cluster: Arc::new(cluster),
            session_key: config.session_key.clone(),
            sessions: Arc::new(sessions),
            writes: Arc::new(writes),
            sockets: Arc::default(),
            config: Arc::new(config),
            stopping,
            shutdown,
        })))
    }
}

/// Lets leptos_axum find its options in our state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.config.leptos.clone()
    }
}
