//! The app's server as a library, so that `main.rs` stays thin and tests run the real thing
//! on `127.0.0.1:0`. The live layer (hub, SSE framing, shutdown, the browser's stream) is the
//! engine crate [`leptos_live`]; this crate uses only its public API.
//!
//! - [`config`]: typed configuration from the environment, with defaults.
//! - [`state`]: [`AppState`], the shared handles every handler gets.
//! - [`clock`]: wall-clock milliseconds for event timestamps.
//! - [`cluster`]: what instances sharing one Redis agree on beyond the hub: which one runs
//!   the shared producers, and the stats of all.
//! - [`feeds`]: the channel table and the app's producers (stats, the example clock), and
//!   [`feeds::Ticks`] for producers that run on the leading instance.
//! - [`streams`]: the stream endpoints: the user and address, then the engine's subscription
//!   and framing ([`leptos_live::sse`]).
//! - [`api`]: the REST endpoints; [`auth`]: the demo sign-in and the origin check;
//!   [`sessions`]: who a request is (a server-side record behind the cookie);
//!   [`client`]: the client's address (behind trusted proxies) for per-address limits.
//! - [`error`]: [`error::ApiError`], status + one-line reason for every refusal.
//! - [`compress`]: pages and JSON compressed, event streams never.
//! - [`edge`]: the outermost layer: request id and span, HTTP metrics, compression.
//! - [`writes`]: each sender's write budget (429 beyond).
//! - [`sockets`]: the open connections' sockets, for the connection gauges of `/metrics`.
//! - [`host`]: the server side of the UI's server functions.
//! - [`assets`]: static files: the release build's hashed bundle served immutable.
//! - [`headers`]: the headers on every response, and each page's Content-Security-Policy.
//! - [`metrics`]: `GET /metrics` for Prometheus (operator only) and the HTTP series.
//! - [`logs`]: text or JSON log lines, and each request's span with its id.
//! - [`routes`]: [`app`], the whole router: API routes, Leptos pages, static files.
//!
//! Run it with `./x dev` (hot reload through `cargo leptos watch`).

mod accept;
pub mod api;
pub mod assets;
pub mod auth;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod compress;
pub mod config;
mod direct;
pub mod edge;
pub mod error;
pub mod feeds;
pub mod headers;
pub mod host;
pub mod logs;
pub mod metrics;
pub mod publish;
pub mod routes;
pub mod sessions;
pub mod sockets;
pub mod state;
pub mod streams;
pub mod writes;

pub use config::Config;
pub use routes::app;
pub use state::AppState;

use leptos_live::shutdown;
use tokio::net::TcpListener;

/// Serves [`app`] on `listener` until shutdown, in the phases of [`leptos_live::shutdown`]: when
/// `state.stopping` fires, `/readyz` says 503 and new streams are refused; after
/// `SHUTDOWN_GRACE_MS` every open stream ends (each body polls `state.shutdown`) and the
/// listener closes; open connections then get `SHUTDOWN_DRAIN_MS` to finish, and this returns
/// when they have or when that time is up, whichever comes first (a client that stopped
/// reading would otherwise hold the process forever).
///
/// Connections come from [`accept`]: at most `MAX_CONNECTIONS_PER_ADDRESS` from one address,
/// each with `HEADER_READ_TIMEOUT_MS` to send its request headers. `into_make_service_with_connect_info` hands each connection a clone of the one router (a
/// reference count) and the peer's address; serving the `Router` itself would rebuild its
/// route table for every connection, about 20 KB per open stream (measured with massif; see
/// BENCHMARKS.md).
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let drain = state.config.shutdown_drain;
    tokio::spawn(shutdown::end_streams_after(
        state.stopping.clone(),
        state.config.shutdown_grace,
        shutdown.clone(),
    ));
    let rules = accept::Rules {
        header_read_timeout: state.config.header_read_timeout,
        per_address: state.config.max_connections_per_address,
        trusted_proxies: state.config.trusted_proxies.clone(),
        sockets: state.sockets.clone(),
        streams: routes::is_stream,
        write_delay: state.config.stream_write_delay,
    };
    let server = accept::serve(listener, app(state), rules, shutdown.clone());
    tokio::select! {
        () = server => Ok(()),
        () = shutdown::drained(shutdown, drain) => {
            tracing::warn!(?drain, "connections still open at the end of the drain time; exiting");
            Ok(())
        }
    }
}
