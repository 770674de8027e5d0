//! The wire contract between the server and its clients: stream URLs and one serde type per
//! event. The server publishes these types and the browser decodes the very same types, so a
//! change here is a change on both sides.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Channel names: what the server's hub publishes on and clients subscribe to.
pub mod channels {
    /// Price ticks ([`PriceTick`](super::PriceTick)).
    pub const PRICES: &str = "prices";
}

/// The live price stream (`text/event-stream`, events named [`PriceTick::NAME`]).
pub const PRICES_STREAM: &str = "/api/prices/stream";

/// Live stream statistics as JSON ([`StreamStats`]).
pub const STATS_URL: &str = "/api/stats";

/// An event type that travels over a stream: its JSON is the SSE `data:` and `NAME` the `event:`.
pub trait LiveEvent:
    Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + 'static
{
    /// The SSE event name; plain ASCII without control characters.
    const NAME: &'static str;
}

/// One price update for one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceTick {
    pub symbol: String,
    /// Price in the quote currency, rounded to cents.
    pub price: f64,
    /// Difference to the previous tick of this symbol.
    pub change: f64,
    /// When the producer made this tick, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl LiveEvent for PriceTick {
    const NAME: &'static str = "price";
}

/// The body of `GET /api/stats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    /// Stream connections open right now, over every stream endpoint.
    pub connections: usize,
    /// Events published since the server started.
    pub published: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tick survives the JSON round trip the stream puts it through.
    #[test]
    fn price_tick_round_trips_through_json() {
        let tick = PriceTick {
            symbol: "ACME".into(),
            price: 101.25,
            change: -0.5,
            at_ms: 1_700_000_000_000,
        };
        let json = serde_json::to_string(&tick).unwrap();
        assert!(!json.contains('\n'), "one event must be one data line");
        assert_eq!(serde_json::from_str::<PriceTick>(&json).unwrap(), tick);
    }
}
