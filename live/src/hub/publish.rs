//! [`Hub::publish`]: an event serialised once, then given its id, stored and fanned out by the
//! backend when the pending [`Publish`] is awaited.

use std::future::IntoFuture;

use futures_util::{FutureExt, future::BoxFuture};

use super::{ConnectionId, Hub, HubError, backend::NewEvent};
use crate::event::LiveEvent;

impl Hub {
    /// Publishes `event` on `channel`; `.await` it (optionally after `.except(…)`) to get the
    /// event's id. The event is serialised here, once, whatever the number of subscribers.
    pub fn publish<'a, E: LiveEvent>(&'a self, channel: &'a str, event: &E) -> Publish<'a> {
        self.publish_encoded(channel, E::NAME, || {
            serde_json::to_string(event).map_err(HubError::Serialize)
        })
    }

    /// Publishes `json`, which must be one JSON value, as an event named `name`: for relaying
    /// events that arrive already serialised (the benchmark's publish route). Prefer
    /// [`Hub::publish`], which cannot get the JSON wrong.
    pub fn publish_json<'a>(
        &'a self,
        channel: &'a str,
        name: &'static str,
        json: String,
    ) -> Publish<'a> {
        self.publish_encoded(channel, name, || Ok(json))
    }

    /// The pending publish of an event named `name` whose JSON `encode` gives, if the name is
    /// valid.
    fn publish_encoded<'a>(
        &'a self,
        channel: &'a str,
        name: &'static str,
        encode: impl FnOnce() -> Result<String, HubError>,
    ) -> Publish<'a> {
        let encoded = if is_valid_event_name(name) {
            encode()
        } else {
            Err(HubError::InvalidEventName(name))
        };
        Publish {
            hub: self,
            channel,
            name,
            encoded,
            except: Vec::new(),
        }
    }
}

/// A pending publish; see [`Hub::publish`].
#[must_use = "a publish does nothing until it is awaited"]
pub struct Publish<'a> {
    hub: &'a Hub,
    channel: &'a str,
    name: &'static str,
    encoded: Result<String, HubError>,
    except: Vec<ConnectionId>,
}

impl Publish<'_> {
    /// Skips these connections (e.g. the sender's own tab, which already shows the change).
    pub fn except(mut self, connections: impl IntoIterator<Item = ConnectionId>) -> Self {
        self.except.extend(connections);
        self
    }
}

impl<'a> IntoFuture for Publish<'a> {
    type Output = Result<u64, HubError>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        async move {
            let data = self.encoded?;
            let settings = self
                .hub
                .registry
                .resolve(self.channel)
                .ok_or_else(|| HubError::UnknownChannel(self.channel.to_string()))?
                .settings;
            let event = NewEvent {
                name: self.name.into(),
                data: data.into(),
                except: self.except.into_boxed_slice(),
            };
            let started = std::time::Instant::now();
            let stored = self
                .hub
                .backend
                .publish(self.channel, settings.history, event)
                .await?;
            self.hub
                .publish_seconds
                .record(started.elapsed().as_secs_f64());
            self.hub.stats.published();
            Ok(stored.id)
        }
        .boxed()
    }
}

/// An SSE event name must be one line (a CR or LF would end its `event:` field early); we also keep out NUL and
/// other control characters so it reads the same in every parser and log. Colons are fine
/// (`order:created`): a field's value is everything after the first one.
pub fn is_valid_event_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_control)
}
