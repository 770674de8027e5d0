//! The app's wire contract with its clients: stream URLs, channel names and one serde type per
//! event. The server publishes these types and the browser decodes the very same types, so a
//! change here is a change on both sides. (The demo's are in `crate::demo::events`.)

use leptos_live::LiveEvent;
use serde::{Deserialize, Serialize};

/// Channel names: what the server's hub publishes on and clients subscribe to.
pub mod channels {
    /// The example channel of the README's "Add your own stream":
    /// [`ServerTime`](super::ServerTime) every second; anyone may listen.
    pub const CLOCK: &str = "clock";
    /// [`StreamStats`](leptos_live::StreamStats) every second; anyone may listen.
    pub const STATS: &str = "stats";
}

/// The multiplexed stream: `?channels=a,b,c` (the engine's endpoint).
pub const MULTI_STREAM: &str = leptos_live::STREAM_PATH;

/// Live stream statistics as JSON ([`StreamStats`](leptos_live::StreamStats)).
pub const STATS_URL: &str = "/api/stats";

/// The server's clock (the README's "Add your own stream" example).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerTime {
    pub at_ms: u64,
}

impl LiveEvent for ServerTime {
    const NAME: &'static str = "time";
}
