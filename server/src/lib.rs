//! The leptos-live server as a library, so that `main.rs` stays thin and tests run the real
//! thing on `127.0.0.1:0`.
//!
//! - [`config`]: typed configuration from the environment, with defaults.
//! - [`state`]: [`AppState`], the shared handles every handler gets.
//! - [`hub`]: channels, authorization, ids, history, replay, fan-out, stats.
//! - [`feeds`]: the channel table, and the producers and domain code that publish: prices,
//!   orders, notifications, jobs, stats, and the example clock.
//! - [`sse`]: thin handlers turning a hub subscription into an event stream; [`sse::wire`]:
//!   the bytes on the wire, framed once per event and shared by subscribers.
//! - [`api`]: the REST endpoints; [`auth`]: the demo session and the origin check.
//! - [`error`]: [`error::ApiError`], status + one-line reason for every refusal.
//! - [`host`]: the server side of the UI's server functions, and the page snapshot.
//! - [`routes`]: [`app`], the whole router: API routes, Leptos pages, static files.
//! - [`shutdown`]: one cancellation token that SIGINT/SIGTERM fire; every stream ends on it.
//!
//! Run it with `./x dev` (hot reload through `cargo leptos watch`).

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod feeds;
pub mod host;
pub mod hub;
pub mod routes;
pub mod shutdown;
pub mod sse;
pub mod state;

pub use config::Config;
pub use routes::app;
pub use state::AppState;

use tokio::net::TcpListener;

/// Serves [`app`] on `listener` until `state.shutdown` is cancelled.
///
/// Cancelling ends every open stream at once (each one is cut by the same token), so the
/// graceful shutdown below has no long-lived responses to wait for and returns promptly.
///
/// `into_make_service` hands each connection a clone of the one router (a reference count);
/// serving the `Router` itself would rebuild its route table for every connection, about
/// 20 KB per open stream (measured with massif; see BENCHMARKS.md).
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    axum::serve(listener, app(state).into_make_service())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
