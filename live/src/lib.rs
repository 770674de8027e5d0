//! **leptos-live**: Leptos 0.8 components that update in real time from Server-Sent Events
//! served by axum 0.8. This crate is the engine; an app (like the demo in this repository)
//! uses only what it exports.
//!
//! Both sides:
//! - [`event`]: [`LiveEvent`] (one serde type per event, shared by server and browser) and the
//!   engine's own events: `hello`, `resync`, stats.
//! - [`cursor`]: the resume position `EPOCH:CHANNEL=ID,…` every event id carries.
//! - [`collection`]: a live list of items with ids and versions (an order book, tickets):
//!   kept by the server in the hub's backend with bounds and compare-and-set updates,
//!   announced as `created` / `updated`, folded into the page's list by [`use_collection`].
//! - [`snapshot`]: the state a page was rendered from, carried in the HTML to its island.
//! - [`client`]: one stream per browser shared by its tabs; [`use_channel`] and friends give a
//!   component signals; refusals and reconnects as [`StreamStatus`]. Inert during SSR.
//!
//! Server side (feature `ssr`):
//! - `hub`: channels with authorization, ids, bounded history, replay, resync, limits,
//!   eviction, stats; in memory or shared by several instances through Redis.
//! - `sse`: a subscription as a `text/event-stream` response, framed once per event.
//! - `shutdown`: one signal, phases (not ready, streams end, bounded drain).
//! - `metrics`: the hub's Prometheus registry, which an app's own metrics join.
//!
//! Browser side (feature `hydrate`): the client opens the stream with `fetch`, shares it
//! between tabs (Web Locks + `BroadcastChannel`) and delivers events to components.
//!
//! The event path: a producer calls `Hub::publish(channel, &event)`; the hub frames it once
//! and fans it out; a browser's components call [`use_channel::<T>(channel)`](use_channel) and
//! get a signal; a page rendered on the server seeds the browser's connection with the cursor
//! taken before its state was read ([`StreamInfo`]), so nothing falls between render and
//! subscribe.

pub mod client;
pub mod collection;
pub mod cursor;
pub mod event;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod shutdown;
pub mod snapshot;
#[cfg(feature = "ssr")]
pub mod sse;

pub use client::{
    Channel, LiveConnection, Refusal, StreamStatus, provide_live_connection, use_channel,
    use_channel_events, use_channel_events_from, use_channel_from, use_live_connection,
};
pub use collection::{Item, use_collection};
pub use cursor::Cursor;
pub use event::{Envelope, Hello, LiveEvent, Resync, STREAM_PATH, StreamInfo, StreamStats};
