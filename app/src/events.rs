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
    /// Pattern: who is watching channel `:channel` ([`Watching`](super::Watching), counts
    /// only); anyone may listen. Published for the channels the server watches.
    pub const PRESENCE: &str = "presence/:channel";
    /// Pattern: the same with the signed-in watchers' names; signed-in users only.
    pub const PRESENCE_PEOPLE: &str = "presence/:channel/people";

    /// Who watches `channel`, as counts.
    pub fn presence(channel: &str) -> String {
        format!("presence/{channel}")
    }

    /// Who watches `channel`, with names (signed-in users only).
    pub fn presence_people(channel: &str) -> String {
        format!("presence/{channel}/people")
    }
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

/// Who is watching a channel, over every instance: its streams (a browser shares one stream
/// between its tabs, so about one per person), the signed-in people among them and the guests.
/// On `presence/{channel}` the names are left out; only signed-in users get them
/// (`presence/{channel}/people`), at most a few, the rest counted in `more`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watching {
    pub streams: u32,
    /// Streams of clients not signed in.
    pub guests: u32,
    /// Signed-in watchers by name, sorted (empty on the public channel).
    #[serde(default)]
    pub people: Vec<String>,
    /// Signed-in watchers not named.
    #[serde(default)]
    pub more: u32,
}

impl LiveEvent for Watching {
    const NAME: &'static str = "presence";
}
