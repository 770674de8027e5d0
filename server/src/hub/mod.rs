//! The stream hub: named channels, each with a bounded broadcast, monotonic event ids and the
//! latest event kept for page renders; plus the stats.
//!
//! The event path: a producer calls [`Hub::publish`] with a typed event from `app::events`; the
//! hub serialises it once, gives it the channel's next id and fans it out to every subscriber
//! of [`Hub::subscribe`]; `crate::sse` turns a subscription into an SSE response.

mod channel;
mod stats;

pub use channel::{CHANNEL_CAPACITY, Published};
pub use stats::{ConnectionGuard, Stats};

use std::{collections::HashMap, sync::Arc};

use app::events::{LiveEvent, channels};
use tokio::sync::broadcast;

use channel::Channel;

/// Why the hub refused a call.
#[derive(Debug)]
pub enum HubError {
    /// No channel of that name is registered.
    UnknownChannel(String),
    /// The event name would break SSE framing (empty, or with control characters).
    InvalidEventName(&'static str),
    /// The event could not be serialised to JSON.
    Serialize(serde_json::Error),
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownChannel(name) => write!(f, "unknown channel {name:?}"),
            Self::InvalidEventName(name) => write!(f, "invalid event name {name:?}"),
            Self::Serialize(err) => write!(f, "cannot serialise event: {err}"),
        }
    }
}

impl std::error::Error for HubError {}

/// All channels of this server. Channels are registered once, at construction; after that the
/// map is only read, so it needs no lock.
pub struct Hub {
    channels: HashMap<&'static str, Channel>,
    stats: Arc<Stats>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// A hub with every channel of `app::events::channels` registered.
    pub fn new() -> Self {
        let channels = [channels::PRICES]
            .into_iter()
            .map(|name| (name, Channel::new(CHANNEL_CAPACITY)))
            .collect();
        Self {
            channels,
            stats: Arc::new(Stats::default()),
        }
    }

    /// Serialises `event` once, assigns it the channel's next id and sends it to every current
    /// subscriber. Returns the id.
    pub fn publish<E: LiveEvent>(&self, channel: &str, event: &E) -> Result<u64, HubError> {
        let target = self.channel(channel)?;
        if !is_valid_event_name(E::NAME) {
            return Err(HubError::InvalidEventName(E::NAME));
        }
        let data = serde_json::to_string(event).map_err(HubError::Serialize)?;
        let id = target.publish(E::NAME, data.into());
        self.stats.published();
        Ok(id)
    }

    /// A receiver of every event published on `channel` from now on.
    pub fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<Published>, HubError> {
        Ok(self.channel(channel)?.subscribe())
    }

    /// The newest event on `channel`, decoded as `E`, for rendering a page.
    pub fn latest<E: LiveEvent>(&self, channel: &str) -> Option<E> {
        let latest = self.channel(channel).ok()?.latest()?;
        serde_json::from_str(&latest.data).ok()
    }

    /// Connection and event counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    fn channel(&self, name: &str) -> Result<&Channel, HubError> {
        self.channels
            .get(name)
            .ok_or_else(|| HubError::UnknownChannel(name.to_string()))
    }
}

/// An SSE event name must be one line (axum's setter panics on CR/LF/NUL); we also keep out
/// other control characters so it reads the same in every parser and log. Colons are fine
/// (`order:created`): a field's value is everything after the first one.
fn is_valid_event_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::events::PriceTick;

    fn tick(price: f64) -> PriceTick {
        PriceTick {
            symbol: "ACME".into(),
            price,
            change: 0.0,
            at_ms: 0,
        }
    }

    /// Ids grow by one per event and subscribers get the events in publish order.
    #[test]
    fn publish_assigns_monotonic_ids_in_order() {
        let hub = Hub::new();
        let mut rx = hub.subscribe(channels::PRICES).unwrap();
        let ids: Vec<u64> = (0..3)
            .map(|i| hub.publish(channels::PRICES, &tick(i as f64)).unwrap())
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        for want in ids {
            let got = rx.try_recv().unwrap();
            assert_eq!(got.id, want);
            assert_eq!(got.name, "price");
        }
        assert_eq!(hub.stats().snapshot().published, 3);
    }

    /// The latest event is kept, decoded, for page renders.
    #[test]
    fn latest_returns_the_newest_event() {
        let hub = Hub::new();
        assert_eq!(hub.latest::<PriceTick>(channels::PRICES), None);
        hub.publish(channels::PRICES, &tick(1.0)).unwrap();
        hub.publish(channels::PRICES, &tick(2.0)).unwrap();
        assert_eq!(hub.latest(channels::PRICES), Some(tick(2.0)));
    }

    /// Unknown channels are an error, not a panic.
    #[test]
    fn unknown_channel_is_an_error() {
        let hub = Hub::new();
        assert!(matches!(
            hub.publish("nope", &tick(1.0)),
            Err(HubError::UnknownChannel(_))
        ));
        assert!(matches!(
            hub.subscribe("nope"),
            Err(HubError::UnknownChannel(_))
        ));
    }

    /// Names that would break framing are refused before they reach axum.
    #[test]
    fn event_names_are_validated() {
        for bad in ["", "a\nb", "a\rb", "a\0b", "tab\there"] {
            assert!(!is_valid_event_name(bad), "{bad:?}");
        }
        for good in ["price", "order:created", "prix-€"] {
            assert!(is_valid_event_name(good), "{good:?}");
        }
    }
}
