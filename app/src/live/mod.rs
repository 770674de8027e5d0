//! The client side of streams.
//!
//! - [`connection`]: one stream per browser, carrying every channel the mounted components of
//!   all its tabs need; one tab reads it (fetch) and relays it to the others; reconnects with
//!   backoff and resumes from the last id seen; refusals become clear states.
//! - [`share`]: what the tabs tell each other and what the leading tab opens (pure logic).
//! - [`channel`]: `use_channel::<T>(name)`: signals for one event type on one channel;
//!   `use_channel_from` starts from a known cursor (a job's first event).
//! - [`cursor`]: the resume cursor `EPOCH:CHANNEL=ID,…` (shared with the server).
//! - [`sse`]: the `text/event-stream` parser.
//! - [`status`]: connecting / live / reconnecting (attempt n) / closed / refused (why).
//! - [`backoff`]: the reconnect delays.
//!
//! The server renders each page with a [`Snapshot`] (the current state plus the stream URL and
//! a cursor taken *before* that state was read); the client subscribes from that cursor, so an
//! event published between render and subscribe is replayed, never lost, and applied
//! idempotently, so never shown twice.

pub mod backoff;
pub mod channel;
pub mod connection;
pub mod cursor;
pub mod share;
pub mod sse;
mod status;

pub use channel::{Channel, use_channel, use_channel_events, use_channel_from};
pub use connection::{LiveConnection, provide_live_connection, use_live_connection};
pub use status::{Refusal, StreamStatus};

use crate::events::{Notification, Order, PriceTick};
use serde::{Deserialize, Serialize};

/// Where and from which point the page's stream resumes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    /// The multiplexed endpoint.
    pub url: String,
    /// Channels the snapshot covers.
    pub channels: Vec<String>,
    /// Resume position taken before the snapshot's state was read.
    pub cursor: String,
    /// The server's build; a stream announcing another one means a redeploy.
    pub build: String,
}

/// The state of the feeds when the server rendered the page (or answered a refetch).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub user: Option<String>,
    pub stream: StreamInfo,
    /// Recent ticks per symbol, oldest first (for the sparklines).
    pub prices: Vec<PriceTick>,
    /// The newest orders, newest first.
    pub orders: Vec<Order>,
    /// The user's recent notifications, oldest first.
    pub notifications: Vec<Notification>,
}
