//! One EventSource per tab: every channel the mounted components need, on the multiplexed
//! endpoint, shared through a Leptos context.
//!
//! Components register through [`crate::live::use_channel`]: the connection counts how many
//! want each channel and (re)opens with exactly that set; when the last one unmounts, it closes.
//!
//! Why not `use_event_source` here: after its own reconnect it builds a new EventSource on the
//! same URL, which sends no `Last-Event-ID`, so events published while it was down would be
//! lost; and its retry interval is fixed. This wrapper is as thin as that allows: it reopens
//! with the last cursor in the URL, after an exponential backoff with jitter.
//!
//! Browser handles exist only in the `hydrate` build (see `client` below): nothing here
//! creates one during SSR.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::{StreamInfo, StreamStatus};

/// Handle to the tab's stream connection (cheap to copy).
#[derive(Clone, Copy)]
pub struct LiveConnection {
    /// Channel → number of mounted components that need it.
    wanted: RwSignal<BTreeMap<String, usize>>,
    status: RwSignal<StreamStatus>,
    /// Set when a stream announces a build other than the one that rendered the page.
    new_build: RwSignal<Option<String>>,
    /// Bumped on every `resync`: pages refetch their snapshot when it changes.
    resyncs: RwSignal<u64>,
    #[cfg(feature = "hydrate")]
    client: StoredValue<client::Client, LocalStorage>,
}

/// Creates the tab's connection and provides it as context. Call once, in `App`.
pub fn provide_live_connection() -> LiveConnection {
    let connection = LiveConnection {
        wanted: RwSignal::new(BTreeMap::new()),
        status: RwSignal::new(StreamStatus::Connecting),
        new_build: RwSignal::new(None),
        resyncs: RwSignal::new(0),
        #[cfg(feature = "hydrate")]
        client: StoredValue::new_local(client::Client::default()),
    };
    #[cfg(feature = "hydrate")]
    {
        // Effects run only in the browser: (re)open whenever the set of channels changes.
        Effect::new(move |_| {
            let channels: Vec<String> = connection.wanted.with(|w| w.keys().cloned().collect());
            client::ensure(connection, channels);
        });
    }
    provide_context(connection);
    connection
}

/// The tab's connection (provided by `App`).
pub fn use_live_connection() -> LiveConnection {
    expect_context::<LiveConnection>()
}

impl LiveConnection {
    /// Where to connect and from which cursor: the page's snapshot says. Call before the
    /// components that use channels mount.
    pub fn seed(&self, info: &StreamInfo) {
        #[cfg(feature = "hydrate")]
        client::seed(*self, info);
        #[cfg(not(feature = "hydrate"))]
        let _ = info;
    }

    // The getters below read (and track) the connection's own signals, which live as long as
    // the app. Handing out `Signal`s converted from them instead would create values owned by
    // the caller, which are disposed when a page re-renders while effects may still read them.

    /// The connection's status (tracked).
    pub fn status(&self) -> StreamStatus {
        self.status.get()
    }

    /// The build a stream announced, when it differs from the page's (tracked).
    pub fn new_build(&self) -> Option<String> {
        self.new_build.get()
    }

    /// How many `resync` events arrived (tracked): pages refetch when it changes.
    pub fn resyncs(&self) -> u64 {
        self.resyncs.get()
    }

    /// Reopens now, from the last cursor, resetting the backoff.
    pub fn reconnect(&self) {
        #[cfg(feature = "hydrate")]
        client::reconnect(*self);
    }

    /// Counts one more user of `channel` until [`release`](Self::release).
    pub(crate) fn want(&self, channel: &str) {
        self.wanted
            .update(|w| *w.entry(channel.to_string()).or_default() += 1);
    }

    pub(crate) fn release(&self, channel: &str) {
        self.wanted.update(|w| {
            if let Some(n) = w.get_mut(channel) {
                *n -= 1;
                if *n == 0 {
                    w.remove(channel);
                }
            }
        });
    }

    /// Calls `deliver` with the JSON of every `event` on `channel`; returns an id for
    /// [`unlisten`](Self::unlisten). Browser only: the server never delivers events.
    #[cfg(feature = "hydrate")]
    pub(crate) fn listen(
        &self,
        channel: &str,
        event: &'static str,
        deliver: std::rc::Rc<dyn Fn(&serde_json::Value)>,
    ) -> u64 {
        client::listen(*self, channel, event, deliver)
    }

    #[cfg(feature = "hydrate")]
    pub(crate) fn unlisten(&self, id: u64) {
        self.client
            .update_value(|c| c.listeners.retain(|l| l.id != id));
    }
}

#[cfg(feature = "hydrate")]
mod client {
    //! The browser half: the EventSource, its handlers, listeners and the reconnect timer.

    use std::rc::Rc;

    use leptos::{leptos_dom::helpers::TimeoutHandle, prelude::*};
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{EventSource, MessageEvent};

    use super::LiveConnection;
    use crate::{
        events::{Envelope, Hello, LiveEvent, Resync},
        live::{StreamInfo, StreamStatus, backoff},
    };

    /// Called with the `data` of every matching event.
    pub(super) type Deliver = Rc<dyn Fn(&serde_json::Value)>;

    pub(super) struct Listener {
        pub id: u64,
        channel: String,
        event: &'static str,
        deliver: Deliver,
    }

    struct Socket {
        source: EventSource,
        /// Event names with a handler on `source`.
        names: Vec<String>,
        /// Kept alive as long as `source` may call them.
        _handlers: Vec<Closure<dyn FnMut(MessageEvent)>>,
        _on_open: Closure<dyn FnMut(web_sys::Event)>,
        _on_error: Closure<dyn FnMut(web_sys::Event)>,
    }

    impl Drop for Socket {
        fn drop(&mut self) {
            // Closed before its handlers are freed, so none of them can run afterwards.
            self.source.close();
        }
    }

    #[derive(Default)]
    pub(super) struct Client {
        url: String,
        cursor: String,
        page_build: String,
        channels: Vec<String>,
        pub listeners: Vec<Listener>,
        next_id: u64,
        socket: Option<Socket>,
        attempt: u32,
        timer: Option<TimeoutHandle>,
    }

    pub(super) fn seed(connection: LiveConnection, info: &StreamInfo) {
        connection.client.update_value(|c| {
            c.url = info.url.clone();
            c.page_build = info.build.clone();
            // A cursor we already advanced beyond (e.g. on a refetch) is not moved back.
            if c.cursor.is_empty() || c.socket.is_none() {
                c.cursor = info.cursor.clone();
            }
        });
    }

    pub(super) fn listen(
        connection: LiveConnection,
        channel: &str,
        event: &'static str,
        deliver: Deliver,
    ) -> u64 {
        let mut add_handler = false;
        let id = connection.client.try_update_value(|c| {
            c.next_id += 1;
            c.listeners.push(Listener {
                id: c.next_id,
                channel: channel.to_string(),
                event,
                deliver,
            });
            add_handler = c
                .socket
                .as_ref()
                .is_some_and(|s| !s.names.iter().any(|n| n == event));
            c.next_id
        });
        if add_handler {
            // A new event name on an open connection: the simplest correct thing is to reopen
            // (from the cursor) with a handler for it.
            reopen(connection);
        }
        id.unwrap_or_default()
    }

    /// Opens, reopens or closes so that the socket carries exactly `channels`.
    pub(super) fn ensure(connection: LiveConnection, channels: Vec<String>) {
        let unchanged = connection
            .client
            .with_value(|c| c.channels == channels && (c.socket.is_some() || c.timer.is_some()));
        if unchanged {
            return;
        }
        connection.client.update_value(|c| c.channels = channels);
        reopen(connection);
    }

    pub(super) fn reconnect(connection: LiveConnection) {
        connection.client.update_value(|c| c.attempt = 0);
        reopen(connection);
    }

    fn close(connection: LiveConnection) {
        connection.client.update_value(|c| {
            if let Some(timer) = c.timer.take() {
                timer.clear();
            }
            c.socket = None;
        });
    }

    fn reopen(connection: LiveConnection) {
        close(connection);
        let (url, names) = connection.client.with_value(|c| {
            let mut names: Vec<String> = c.listeners.iter().map(|l| l.event.to_string()).collect();
            names.extend([Hello::NAME.to_string(), Resync::NAME.to_string()]);
            names.sort();
            names.dedup();
            let url = (!c.channels.is_empty()).then(|| {
                let base = if c.url.is_empty() {
                    "/api/stream"
                } else {
                    &c.url
                };
                let mut url = format!(
                    "{base}?channels={}",
                    js_sys::encode_uri_component(&c.channels.join(","))
                );
                if !c.cursor.is_empty() {
                    url.push_str("&last_event_id=");
                    url.push_str(&String::from(js_sys::encode_uri_component(&c.cursor)));
                }
                url
            });
            (url, names)
        });
        let Some(url) = url else {
            connection.status.set(StreamStatus::Closed);
            return;
        };
        let Ok(source) = EventSource::new(&url) else {
            schedule_retry(connection);
            return;
        };
        if connection.status.get_untracked() != StreamStatus::Live {
            // Keep "reconnecting (n)" visible until the new connection opens.
            if !matches!(
                connection.status.get_untracked(),
                StreamStatus::Reconnecting(_)
            ) {
                connection.status.set(StreamStatus::Connecting);
            }
        }
        let handlers: Vec<Closure<dyn FnMut(MessageEvent)>> = names
            .iter()
            .map(|name| {
                let event_name = name.clone();
                let handler =
                    Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                        on_message(connection, &event_name, &event)
                    });
                let _ =
                    source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
                handler
            })
            .collect();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            connection.client.update_value(|c| c.attempt = 0);
            connection.status.set(StreamStatus::Live);
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            // Close at once (rather than let the browser retry on its own schedule, without
            // our cursor) and come back after a backoff.
            close(connection);
            schedule_retry(connection);
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        connection.client.update_value(|c| {
            c.socket = Some(Socket {
                source,
                names,
                _handlers: handlers,
                _on_open: on_open,
                _on_error: on_error,
            })
        });
    }

    fn schedule_retry(connection: LiveConnection) {
        let attempt = connection.client.try_update_value(|c| {
            c.attempt += 1;
            c.attempt
        });
        let attempt = attempt.unwrap_or(1);
        connection.status.set(StreamStatus::Reconnecting(attempt));
        let delay = backoff::delay(attempt, js_sys::Math::random());
        let timer = set_timeout_with_handle(
            move || {
                connection.client.update_value(|c| c.timer = None);
                reopen(connection);
            },
            delay,
        )
        .ok();
        connection.client.update_value(|c| c.timer = timer);
    }

    fn on_message(connection: LiveConnection, name: &str, event: &MessageEvent) {
        let id = event.last_event_id();
        if !id.is_empty() {
            connection.client.update_value(|c| c.cursor = id);
        }
        let Some(data) = event.data().as_string() else {
            return;
        };
        if name == Hello::NAME {
            if let Ok(hello) = serde_json::from_str::<Hello>(&data) {
                let page = connection.client.with_value(|c| c.page_build.clone());
                if !page.is_empty() && hello.build != page {
                    connection.new_build.set(Some(hello.build));
                }
            }
            return;
        }
        if name == Resync::NAME {
            connection.resyncs.update(|n| *n += 1);
            return;
        }
        let envelope = match serde_json::from_str::<Envelope<serde_json::Value>>(&data) {
            Ok(envelope) => envelope,
            Err(err) => {
                leptos::logging::warn!("skipping a {name} frame that is not an envelope: {err}");
                return;
            }
        };
        // Copy the matching handlers out first: delivering may mount or unmount components,
        // which register or drop listeners.
        let targets: Vec<Deliver> = connection.client.with_value(|c| {
            c.listeners
                .iter()
                .filter(|l| l.event == name && l.channel == envelope.channel)
                .map(|l| l.deliver.clone())
                .collect()
        });
        for deliver in targets {
            deliver(&envelope.data);
        }
    }
}
