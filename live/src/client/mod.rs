//! The client side of streams (both builds compile it; only `hydrate` opens streams).
//!
//! - [`connection`]: one stream per browser, carrying every channel the mounted components of
//!   all its tabs need; one tab reads it (fetch) and relays it to the others; reconnects with
//!   backoff and resumes from the last id seen; refusals become clear states.
//! - [`share`]: what the tabs tell each other and what the leading tab opens (pure logic).
//! - [`channel`]: `use_channel::<T>(name)`: signals for one event type on one channel;
//!   `use_channel_from` starts from a known cursor (a job's first event).
//! - [`sse`]: the `text/event-stream` parser.
//! - [`status`]: connecting / live / reconnecting (attempt n) / closed / refused (why).
//! - [`backoff`]: the reconnect delays.
//!
//! The server renders each page with its state plus a [`StreamInfo`](crate::StreamInfo) (the
//! stream URL and a cursor taken *before* that state was read); the client subscribes from that cursor, so an
//! event published between render and subscribe is replayed, never lost, and applied
//! idempotently, so never shown twice.

pub mod backoff;
pub mod channel;
pub mod connection;
pub mod share;
pub mod sse;
mod status;

pub use channel::{
    Channel, use_channel, use_channel_events, use_channel_events_from, use_channel_from,
};
pub use connection::{LiveConnection, provide_live_connection, use_live_connection};
pub use status::{Refusal, StreamStatus};
