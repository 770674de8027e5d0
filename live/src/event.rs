//! What every stream carries, whatever the app: the [`LiveEvent`] trait an app's event types
//! implement, and the engine's own events ([`Hello`], [`Resync`], [`StreamStats`]).
//!
//! ```
//! use leptos_live::LiveEvent;
//! use serde::{Deserialize, Serialize};
//!
//! /// One type for both sides: the server publishes it, the browser decodes it.
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! pub struct ServerTime {
//!     pub at_ms: u64,
//! }
//!
//! impl LiveEvent for ServerTime {
//!     const NAME: &'static str = "time";
//! }
//!
//! assert_eq!(serde_json::to_string(&ServerTime { at_ms: 7 }).unwrap(), r#"{"at_ms":7}"#);
//! ```

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The multiplexed stream endpoint (`?channels=a,b,c`) the browser client opens.
pub const STREAM_PATH: &str = "/api/stream";

/// An event type that travels over a stream: its JSON is the SSE `data:` and `NAME` the `event:`.
pub trait LiveEvent:
    Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + 'static
{
    /// The SSE event name; plain ASCII without control characters.
    const NAME: &'static str;
}

/// The first event of every stream (no `id`, so it does not move the client's cursor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// This connection, to send back as `X-Connection-Id` so that the server can skip it
    /// when it publishes the effects of this client's own requests.
    pub connection: String,
    /// The server's build; a client showing an older build reloads.
    pub build: String,
}

impl LiveEvent for Hello {
    const NAME: &'static str = "hello";
}

/// Sent instead of a silent gap when events of `channel` were lost for this client: reload
/// that channel's snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resync {
    pub channel: String,
}

impl LiveEvent for Resync {
    const NAME: &'static str = "resync";
}

/// The `data` of a multiplexed stream's frames: the channel and the event's own JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub channel: String,
    pub data: T,
}

/// Where a page's stream resumes: the server renders it into the page with the page's state
/// (see [`crate::hub::Hub::cursor`]), and the browser seeds its connection with it
/// ([`crate::LiveConnection::seed`]).
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

/// What the hub counts (`Hub::stats`): an app serves it as JSON and may publish it on a
/// channel of its own (`event: stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    /// When these numbers were read, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub at_ms: u64,
    /// Stream connections open right now, over every stream endpoint.
    pub connections: usize,
    /// Channels with at least one subscriber.
    pub channels: usize,
    /// Subscribers per channel *pattern* (`users/:id/notifications`, never a user's own
    /// channel name, which would tell who is online); patterns without any are left out.
    /// (`u64` like a cursor's positions: one map type less in the wasm.)
    pub subscribers: std::collections::BTreeMap<String, u64>,
    /// Events published since the server started.
    pub published: u64,
    /// Events sent from history to reconnecting clients.
    pub replayed: u64,
    /// `resync` events sent (a client's cursor was older than the history, or it lagged).
    pub resynced: u64,
    /// Streams refused by a limit (per user, per address, or in all) since the server started.
    #[serde(default)]
    pub refused: u64,
    /// Server instances these numbers add up (several behind a load balancer share one hub
    /// through Redis; an app's `stats` channel may carry their sum, `Hub::stats` is one
    /// instance's).
    #[serde(default)]
    pub instances: usize,
}

impl LiveEvent for StreamStats {
    const NAME: &'static str = "stats";
}
