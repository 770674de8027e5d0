//! [`Hub::publish`]: an event serialised once, then given its id, stored and fanned out by the
//! backend when the pending [`Publish`] is awaited; [`Hub::publish_batch`]: many at once.

use std::future::IntoFuture;

use futures_util::{FutureExt, future::BoxFuture};

use super::{
    ConnectionId, Hub, HubError,
    backend::{BackendError, NewEvent},
};
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
            Err(HubError::InvalidEventName(name.to_string()))
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
            let event = NewEvent {
                name: self.name.into(),
                data: self.encoded?.into(),
                except: self.except.into_boxed_slice(),
            };
            self.hub.publish_event(self.channel, event).await
        }
        .boxed()
    }
}

/// One event of [`Hub::publish_batch`]: its channel, its name and its data (one JSON value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchEvent {
    pub channel: String,
    pub name: String,
    pub json: String,
}

impl BatchEvent {
    pub fn new(
        channel: impl Into<String>,
        name: impl Into<String>,
        json: impl Into<String>,
    ) -> Self {
        Self {
            channel: channel.into(),
            name: name.into(),
            json: json.into(),
        }
    }
}

impl Hub {
    /// Publishes `events`, on any channels, in one go; each is checked as by
    /// [`Hub::publish_json`] and has its own result, in the order given. The ones that pass go
    /// to the backend together, in order (a channel's ids follow it): with Redis one script
    /// for the whole batch, one round trip.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use leptos_live::hub::{BatchEvent, Hub, HubError, Limits, Registry, Settings};
    /// # use leptos_live::hub::{memory::Memory, registry::public};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut registry = Registry::default();
    /// registry.register("news/:topic", Settings::default(), public()).unwrap();
    /// let hub = Hub::new(registry, Arc::new(Memory::new()), Limits::default());
    /// let results = hub
    ///     .publish_batch(vec![
    ///         BatchEvent::new("news/rust", "story", r#"{"title":"0.8"}"#),
    ///         BatchEvent::new("news/rust", "story", r#"{"title":"0.9"}"#),
    ///         BatchEvent::new("weather", "story", "{}"),
    ///     ])
    ///     .await;
    /// assert_eq!(results[1].as_ref().unwrap() - results[0].as_ref().unwrap(), 1);
    /// assert!(matches!(results[2], Err(HubError::UnknownChannel(_))));
    /// # });
    /// ```
    pub async fn publish_batch(&self, events: Vec<BatchEvent>) -> Vec<Result<u64, HubError>> {
        let mut results: Vec<Option<Result<u64, HubError>>> = Vec::with_capacity(events.len());
        let mut valid = Vec::with_capacity(events.len());
        for (n, event) in events.iter().enumerate() {
            let Some(channel) = self.registry.resolve(&event.channel) else {
                results.push(Some(Err(HubError::UnknownChannel(event.channel.clone()))));
                continue;
            };
            if !is_valid_event_name(&event.name) {
                results.push(Some(Err(HubError::InvalidEventName(event.name.clone()))));
                continue;
            }
            results.push(None);
            let new = NewEvent {
                name: event.name.as_str().into(),
                data: event.json.as_str().into(),
                except: Box::new([]),
            };
            valid.push((n, (event.channel.as_str(), channel.settings.history, new)));
        }
        let (places, valid): (Vec<usize>, Vec<_>) = valid.into_iter().unzip();
        let started = std::time::Instant::now();
        let stored = self.backend.publish_many(valid).await;
        let seconds = started.elapsed().as_secs_f64();
        for (n, stored) in places.into_iter().zip(stored) {
            results[n] = Some(match stored {
                Ok(stored) => {
                    self.publish_seconds.record(seconds);
                    self.stats.published();
                    Ok(stored.id)
                }
                Err(err) => Err(HubError::Backend(err)),
            });
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(HubError::Backend(BackendError("no result".into()))))
            })
            .collect()
    }

    /// Stores and fans out `event` on `channel`, timed and counted.
    async fn publish_event(&self, channel: &str, event: NewEvent) -> Result<u64, HubError> {
        let settings = self
            .registry
            .resolve(channel)
            .ok_or_else(|| HubError::UnknownChannel(channel.to_string()))?
            .settings;
        let started = std::time::Instant::now();
        let stored = self
            .backend
            .publish(channel, settings.history, event)
            .await?;
        self.publish_seconds.record(started.elapsed().as_secs_f64());
        self.stats.published();
        Ok(stored.id)
    }
}

/// An SSE event name must be one line (a CR or LF would end its `event:` field early); we also keep out NUL and
/// other control characters so it reads the same in every parser and log. Colons are fine
/// (`order:created`): a field's value is everything after the first one.
pub fn is_valid_event_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_control)
}
