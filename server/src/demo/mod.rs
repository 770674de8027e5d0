//! The demo's server side: its channels, domain code (the order book, notifications, jobs),
//! producers (prices, the order simulator), REST endpoints and the host of its server
//! functions. It uses the engine (`leptos_live`) and the starter (`crate::feeds::Ticks`,
//! `crate::streams::single`, `crate::api::sender`) like any app would.
//!
//! To remove it: delete the demo's folders (`app/src/demo/`,
//! `server/src/demo/`, `server/tests/demo/`, `end2end/tests/demo/`) and the lines marked
//! `demo` (README, "Start your own"), or make the project with `demo = false`.
//!
//! - [`prices`]: a random walk over a few symbols, one task for all clients, and the samples
//!   the chart's history is made of;
//! - [`kpis`]: the business at a glance, from the order book;
//! - [`orders`]: the order book (a live collection) behind `POST/PATCH /api/orders`, and an
//!   optional [`order_simulator`] that trades on it;
//! - [`notifications`]: messages to one user;
//! - [`jobs`]: a long job streaming its progress;
//! - [`api`], [`host`]: the REST endpoints and the server functions' host;
//! - [`config`]: its settings (`PRICE_INTERVAL_MS`, `MAX_OPEN_ORDERS_PER_USER`, …).

pub mod api;
pub mod config;
pub mod host;
pub mod jobs;
pub mod kpis;
pub mod notifications;
pub mod order_simulator;
pub mod orders;
pub mod prices;

use std::{sync::Arc, time::Duration};

use app::demo::events::{
    NOTIFICATIONS_STREAM, ORDERS_STREAM, PRICES_STREAM,
    channels::{self, JOBS, KPIS, NOTIFICATIONS, ORDERS, PRICE_HISTORY, PRICES},
};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::Response,
    routing::{get, patch, post},
};
use leptos_live::hub::{
    Hub, Registry, Settings,
    registry::{owner, public, signed_in},
};

use crate::{
    AppState, Config,
    auth::{CurrentUser, SignedIn},
    client::ClientAddr,
    cluster::Shared,
    error::{ApiError, ApiQuery},
    feeds::Ticks,
    streams::{Request, StreamQuery, single},
};
use jobs::{JobError, JobStarted, Jobs};
use notifications::Notifier;
use orders::OrderBook;

/// The demo's domain state (cheap to clone: handles).
#[derive(Clone)]
pub struct Demo {
    pub orders: Arc<OrderBook>,
    pub notifier: Arc<Notifier>,
    pub jobs: Arc<Jobs>,
}

/// The demo's jobs, made before the hub: their channels' authorization asks them.
pub fn jobs(config: &Config, store: Option<Shared>) -> Arc<Jobs> {
    Arc::new(Jobs::new(
        config.demo.jobs_per_user,
        config.session_key.clone(),
        store,
    ))
}

/// The demo's channels, with `heartbeat` as each one's heartbeat interval and prices ticking
/// every `price_interval`; job channels exist only for `jobs` that do.
pub fn register(
    registry: &mut Registry,
    heartbeat: Duration,
    price_interval: Duration,
    jobs: &Arc<Jobs>,
) {
    let settings = |history| Settings { history, heartbeat };
    let entries = [
        // The chart's last minute at full rate (and any reconnect); samples for the rest.
        (
            PRICES,
            settings(prices::recent_history(price_interval)),
            public(),
        ),
        (PRICE_HISTORY, settings(prices::SAMPLES_KEPT), public()),
        (KPIS, settings(kpis::KEPT), public()),
        (ORDERS, settings(512), signed_in()),
        (NOTIFICATIONS, settings(128), owner("id")),
        // A whole job: 21 progress steps and `complete`.
        (JOBS, settings(32), jobs.authorize()),
    ];
    for (pattern, settings, authorize) in entries {
        registry
            .register(pattern, settings, authorize)
            .unwrap_or_else(|err| panic!("the demo's channel table is wrong: {err:?}"));
    }
}

impl Demo {
    /// The demo's domain code on `hub`.
    pub fn new(hub: &Arc<Hub>, config: &Config, store: Option<Shared>, jobs: Arc<Jobs>) -> Self {
        Self {
            orders: Arc::new(OrderBook::new(hub.clone(), config.demo.orders)),
            notifier: Arc::new(Notifier::new(store)),
            jobs,
        }
    }

    /// Starts a demo job for `user` with the configured pace, ending at shutdown: what both
    /// `POST /api/jobs` and the UI's action do.
    pub async fn start_job(&self, state: &AppState, user: &str) -> Result<JobStarted, JobError> {
        self.jobs
            .start(
                state.hub.clone(),
                user,
                state.config.demo.job_step,
                state.shutdown.clone(),
            )
            .await
    }

    /// Starts the demo's producers; `led` makes the clock of one that only the leading
    /// instance runs (see `crate::cluster`).
    pub fn spawn(&self, state: &AppState, led: &impl Fn(Duration) -> Ticks) {
        let interval = state.config.demo.price_interval;
        tokio::spawn(prices::run(state.hub.clone(), interval, led(interval)));
        tokio::spawn(kpis::run(
            state.hub.clone(),
            self.orders.clone(),
            led(kpis::INTERVAL),
        ));
        if let Some(every) = state.config.demo.order_simulator {
            tokio::spawn(order_simulator::run(self.orders.clone(), led(every)));
        }
    }
}

/// The demo's routes: its REST endpoints and one-channel streams.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PRICES_STREAM, get(prices_stream))
        .route(ORDERS_STREAM, get(orders_stream))
        .route(NOTIFICATIONS_STREAM, get(notifications_stream))
        .route("/api/orders", get(api::list_orders).post(api::create_order))
        .route("/api/orders/{id}", patch(api::update_order))
        .route("/api/notifications", post(api::send_notification))
        .route("/api/jobs", post(api::start_job))
}

/// `GET /api/prices/stream`.
async fn prices_stream(request: Request) -> Result<Response, ApiError> {
    single(request, channels::PRICES.to_string()).await
}

/// `GET /api/orders/stream` (signed-in users).
async fn orders_stream(request: Request) -> Result<Response, ApiError> {
    single(request, channels::ORDERS.to_string()).await
}

/// `GET /api/notifications/stream`: the signed-in user's own notifications.
async fn notifications_stream(
    state: State<AppState>,
    SignedIn(user): SignedIn,
    addr: ClientAddr,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel = channels::notifications(&user);
    single(
        (state, CurrentUser(Some(user)), addr, query, headers),
        channel,
    )
    .await
}

/// A hub with the app's and the demo's channels and an in-memory backend, for unit tests.
#[cfg(test)]
pub(crate) fn test_hub() -> Hub {
    let mut registry = crate::feeds::registry(Duration::from_secs(15));
    let jobs = Arc::new(Jobs::new(
        3,
        axum_extra::extract::cookie::Key::generate(),
        None,
    ));
    register(
        &mut registry,
        Duration::from_secs(15),
        Duration::from_millis(500),
        &jobs,
    );
    Hub::new(
        registry,
        Arc::new(leptos_live::hub::memory::Memory::new()),
        leptos_live::hub::Limits::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's table registers beside the app's (a panic here would be a programming
    /// error, caught by this test).
    #[test]
    fn the_demo_channels_register() {
        let mut registry = crate::feeds::registry(Duration::from_secs(15));
        let jobs = Arc::new(Jobs::new(
            1,
            axum_extra::extract::cookie::Key::generate(),
            None,
        ));
        register(
            &mut registry,
            Duration::from_secs(15),
            Duration::from_millis(500),
            &jobs,
        );
        for name in [
            "prices",
            "prices/history",
            "kpis",
            "presence/prices",
            "orders",
            "stats",
            "clock",
            "tasks",
            "users/bob/notifications",
            "users/bob/jobs/j1",
        ] {
            assert!(registry.resolve(name).is_some(), "{name}");
        }
    }
}
