//! `use_channel::<T>(name)`: the newest event of one type on one channel, as a signal.
//!
//! The payload type is the very type the server publishes (the app's event types), decoded with serde;
//! a frame that does not decode is logged and skipped. The subscription lives as long as the
//! calling component: on unmount it is dropped (`on_cleanup`), and with it the channel when no
//! other component needs it.

use leptos::prelude::*;

use super::{LiveConnection, StreamStatus, use_live_connection};
use crate::event::LiveEvent;

/// The newest event of one type on one channel. (For a history, fold the events into state of
/// your own with [`use_channel_events`], as the Streams page does with its two samples.)
pub struct Channel<T: Send + Sync + 'static> {
    /// The newest event, if any arrived since mounting.
    pub latest: ReadSignal<Option<T>>,
    connection: LiveConnection,
}

impl<T: Send + Sync + 'static> Channel<T> {
    /// The tab's connection status (tracked).
    pub fn status(&self) -> StreamStatus {
        self.connection.status()
    }
}

impl<T: Send + Sync + 'static> Clone for Channel<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Channel<T> {}

/// Subscribes the calling component to events of type `T` on `channel`, from now on (or from
/// the page snapshot's position, when the page seeded one).
pub fn use_channel<T: LiveEvent>(channel: impl Into<String>) -> Channel<T> {
    use_channel_from(channel, "")
}

/// Like [`use_channel`], from `cursor` (a cursor text the server handed out, such as
/// a job's start): every event after it is delivered, even
/// those published before the component mounted.
pub fn use_channel_from<T: LiveEvent>(channel: impl Into<String>, cursor: &str) -> Channel<T> {
    let (latest, set_latest) = signal(None::<T>);
    subscribe::<T>(channel.into(), cursor, move |event: T| {
        set_latest.set(Some(event))
    });
    Channel {
        latest,
        connection: use_live_connection(),
    }
}

/// Calls `on_event` with every event of type `T` on `channel`, for components that fold events
/// into their own state (upserting orders, say).
pub fn use_channel_events<T: LiveEvent>(
    channel: impl Into<String>,
    on_event: impl Fn(T) + 'static,
) {
    use_channel_events_from(channel, "", on_event);
}

/// Like [`use_channel_events`], from `cursor` (taken before the state the component starts
/// from was read, e.g. a [`Listing`](crate::collection::Listing)'s).
pub fn use_channel_events_from<T: LiveEvent>(
    channel: impl Into<String>,
    cursor: &str,
    on_event: impl Fn(T) + 'static,
) {
    subscribe(channel.into(), cursor, on_event);
}

/// The part that depends on `T`: decoding its data and handing it on. Everything else is
/// [`subscribe_text`], compiled once for every event type (the wasm holds one copy of it, not
/// one per type).
fn subscribe<T: LiveEvent>(channel: String, cursor: &str, on_event: impl Fn(T) + 'static) {
    let deliver = move |data: &str| match serde_json::from_str::<T>(data) {
        Ok(event) => on_event(event),
        Err(err) => skip(T::NAME, &err),
    };
    subscribe_text(channel, cursor, T::NAME, std::rc::Rc::new(deliver));
}

fn skip(name: &str, err: &serde_json::Error) {
    leptos::logging::warn!("skipping a {name} that does not decode: {err}");
}

/// Wants `channel` from `cursor` and has every `event` on it delivered as text (to `deliver`,
/// in the browser), until the calling component unmounts.
fn subscribe_text(
    channel: String,
    cursor: &str,
    event: &'static str,
    deliver: std::rc::Rc<dyn Fn(&str)>,
) {
    let connection = use_live_connection();
    connection.want(&channel, cursor);
    #[cfg(feature = "hydrate")]
    let listener = connection.listen(&channel, event, deliver);
    #[cfg(not(feature = "hydrate"))]
    let _ = (event, deliver);
    on_cleanup(move || {
        #[cfg(feature = "hydrate")]
        connection.unlisten(listener);
        connection.release(&channel);
    });
}
