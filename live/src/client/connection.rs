//! One stream per browser: every channel the mounted components of every tab need, on the
//! multiplexed endpoint, shared through a Leptos context in each tab.
//!
//! Components register through [`crate::use_channel`]: the connection counts how many
//! want each channel; changes made in one tick are applied together, after it.
//!
//! The tabs of one browser share one stream (see [`super::share`]): the tab holding the Web
//! Lock reads it for all of them and relays it over a `BroadcastChannel`. Where either API is
//! missing, each tab reads its own stream. Whoever reads, reads with `fetch`, not
//! `EventSource`: only `fetch` shows the response's status, so a refusal (signed out,
//! forbidden, too many streams) becomes a clear state instead of endless retries, and the
//! reader decides when to reconnect and from which cursor (exponential backoff with jitter).
//!
//! Browser handles exist only in the `hydrate` build (see `client` below): nothing here
//! creates one during SSR.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::StreamStatus;
use crate::event::StreamInfo;

/// Handle to the tab's stream connection (cheap to copy).
#[derive(Clone, Copy)]
pub struct LiveConnection {
    /// Channel → number of mounted components that need it (`u64` like a cursor's positions:
    /// one map type less in the wasm).
    wanted: RwSignal<BTreeMap<String, u64>>,
    status: RwSignal<StreamStatus>,
    /// Set when a stream announces a build other than the one that rendered the page.
    new_build: RwSignal<Option<String>>,
    /// Bumped on every `resync` of this tab's channels and on a sign-in or sign-out in another
    /// tab: pages refetch their snapshot when it changes.
    resyncs: RwSignal<u64>,
    #[cfg(feature = "hydrate")]
    client: StoredValue<client::Client, LocalStorage>,
}

/// Creates the page's connection and provides it as context. Call once, in `App`: on the
/// server, where the whole page renders. In the browser only islands run, each hydrated on its
/// own, so they share the tab's connection through [`use_live_connection`] instead.
pub fn provide_live_connection() -> LiveConnection {
    let connection = new_connection();
    provide_context(connection);
    connection
}

fn new_connection() -> LiveConnection {
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
        client::start(connection);
        // Effects run only in the browser, after the tick that changed the set: components
        // mounting together (a page, the job view) make one change, not one each.
        Effect::new(move |_| {
            let channels: Vec<String> = connection.wanted.with(|w| w.keys().cloned().collect());
            client::ensure(connection, channels);
        });
    }
    connection
}

/// The page's connection: `App`'s on the server; in the browser, the tab's one connection,
/// created by the first island that asks, and kept for the life of the page.
pub fn use_live_connection() -> LiveConnection {
    #[cfg(feature = "hydrate")]
    {
        thread_local! {
            // A root owner of its own: no island's disposal takes the signals with it.
            static TAB: (Owner, LiveConnection) = {
                let owner = Owner::new_root(None);
                let connection = owner.with(new_connection);
                (owner, connection)
            };
        }
        TAB.with(|(_, connection)| *connection)
    }
    #[cfg(not(feature = "hydrate"))]
    expect_context::<LiveConnection>()
}

impl LiveConnection {
    /// Where to connect and from which positions: the page's snapshot says. Channels this tab
    /// has no position in yet start from the snapshot's (so nothing published between the
    /// render and the subscription is missed); positions it already holds stay. Call before
    /// the components that use channels mount.
    pub fn seed(&self, info: &StreamInfo) {
        #[cfg(feature = "hydrate")]
        client::seed(*self, info);
        #[cfg(not(feature = "hydrate"))]
        let _ = info;
    }

    /// Tells every tab that this browser signed in or out: they reload their snapshots, and a
    /// stream refused for want of a session is tried again.
    pub fn session_changed(&self) {
        #[cfg(feature = "hydrate")]
        client::session_changed(*self);
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

    /// How many times this tab's state went stale (tracked): pages refetch when it changes.
    pub fn resyncs(&self) -> u64 {
        self.resyncs.get()
    }

    /// Reopens now, from the last cursor, resetting the backoff (and a refusal).
    pub fn reconnect(&self) {
        #[cfg(feature = "hydrate")]
        client::reconnect(*self);
    }

    /// Counts one more user of `channel` until [`release`](Self::release). A non-empty
    /// `cursor` (a cursor text the server handed out, e.g. a job's) is where the tab starts
    /// when it has no position in `channel` yet.
    pub(crate) fn want(&self, channel: &str, cursor: &str) {
        #[cfg(feature = "hydrate")]
        client::start_at(*self, channel, cursor);
        #[cfg(not(feature = "hydrate"))]
        let _ = cursor;
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
        deliver: std::rc::Rc<dyn Fn(&str)>,
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
    //! The browser half: leadership, the relay, the fetch reader, listeners and timers.

    use std::rc::Rc;

    use js_sys::{Function, Promise, Reflect, Uint8Array};
    use leptos::{leptos_dom::helpers::TimeoutHandle, prelude::*};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure};
    use wasm_bindgen_futures::{JsFuture, spawn_local};
    use web_sys::{AbortController, BroadcastChannel, MessageEvent, RequestInit, Response};

    use super::LiveConnection;
    use crate::{
        client::{
            StreamStatus, backoff,
            share::{self, Note, Want},
            sse::{Message, Parser},
            status::Refusal,
        },
        cursor::Cursor,
        event::{Hello, LiveEvent, Resync, StreamInfo},
    };

    /// A tab re-announces its channels this often (a leader that lost it re-adds them).
    const HEARTBEAT_MS: u64 = 20_000;
    /// A tab silent this long is gone (background tabs' timers may fire only once a minute).
    const PEER_TIMEOUT_MS: f64 = 300_000.0;
    /// Retry after a 429 without `Retry-After`.
    const TOO_MANY_RETRY_MS: u64 = 30_000;

    /// Called with the `data` of every matching event.
    pub(super) type Deliver = Rc<dyn Fn(&str)>;

    pub(super) struct Listener {
        pub id: u64,
        channel: String,
        event: &'static str,
        deliver: Deliver,
    }

    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    enum Role {
        /// Waiting for the lock; the leader's relay feeds this tab.
        #[default]
        Follower,
        /// Holds the lock: reads the stream for every tab.
        Leader,
        /// No Web Locks or no BroadcastChannel: reads its own stream.
        Alone,
    }

    struct Peer {
        tab: u64,
        want: Want,
        seen_ms: f64,
    }

    /// The stream being read (leader or alone).
    struct Reading {
        controller: AbortController,
        channels: Vec<String>,
    }

    impl Drop for Reading {
        fn drop(&mut self) {
            self.controller.abort();
        }
    }

    #[derive(Default)]
    pub(super) struct Client {
        tab: u64,
        role: Role,
        url: String,
        page_build: String,
        /// This tab's channels and positions (`added` since the last plan).
        own: Want,
        /// Position of the last message read or relayed, in every channel the stream had.
        seen: Option<Cursor>,
        /// Other tabs' wishes (kept by every tab, so a new leader knows them). A few tabs: a
        /// list is enough, and smaller in the wasm than a map.
        peers: Vec<Peer>,
        pub listeners: Vec<Listener>,
        next_id: u64,
        bus: Option<BroadcastChannel>,
        reading: Option<Reading>,
        /// Bumped by every open and close: a reader whose number is stale stops quietly.
        generation: u64,
        attempt: u32,
        timer: Option<TimeoutHandle>,
        plan_queued: bool,
        /// The channel set a refusal applies to: not retried until the set or session changes.
        refused: Option<Vec<String>>,
        /// The stream's state as the leader last told the tabs (this tab may want nothing).
        stream_status: Option<StreamStatus>,
        /// Kept alive as long as the browser may call them.
        callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
    }

    impl Client {
        /// The stream that serves this tab and every known peer.
        fn plan(&self) -> share::Plan {
            let peers = self.peers.iter().map(|p| &p.want);
            share::plan(self.seen.as_ref(), std::iter::once(&self.own).chain(peers))
        }
    }

    /// Joins the tabs of this browser (or reads alone where that is not possible).
    pub(super) fn start(connection: LiveConnection) {
        let tab = (js_sys::Math::random() * 9e15) as u64;
        let locks = Reflect::get(&window().navigator(), &"locks".into())
            .ok()
            .filter(|l| !l.is_undefined() && !l.is_null());
        let bus = BroadcastChannel::new(share::BUS).ok();
        let (Some(locks), Some(bus)) = (locks, bus) else {
            connection.client.update_value(|c| {
                c.tab = tab;
                c.role = Role::Alone;
            });
            return;
        };
        let on_note = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let text = event
                .unchecked_into::<MessageEvent>()
                .data()
                .as_string()
                .unwrap_or_default();
            if let Ok(note) = serde_json::from_str::<Note>(&text) {
                on_note(connection, note);
            }
        });
        bus.set_onmessage(Some(on_note.as_ref().unchecked_ref()));
        let on_hide = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            post(connection, &Note::Bye { tab });
        });
        let _ =
            window().add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
        // Granted when no other tab leads; held (a promise that never settles) until this
        // tab closes, when the browser hands it to the next tab in line.
        let on_granted = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |_lock: JsValue| {
            connection.client.update_value(|c| c.role = Role::Leader);
            queue_plan(connection);
            JsValue::from(Promise::new(&mut |_, _| {}))
        });
        if let Ok(request) =
            Reflect::get(&locks, &"request".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = request.call2(
                &locks,
                &share::BUS.into(),
                on_granted.as_ref().unchecked_ref(),
            );
        }
        // Called at most once, for as long as the tab lives.
        on_granted.forget();
        connection.client.update_value(|c| {
            c.tab = tab;
            c.bus = Some(bus);
            c.callbacks.extend([on_note, on_hide]);
        });
        let _ = set_interval_with_handle(
            move || heartbeat(connection),
            std::time::Duration::from_millis(HEARTBEAT_MS),
        );
    }

    fn heartbeat(connection: LiveConnection) {
        announce(connection);
        let now = js_sys::Date::now();
        let dropped = connection.client.try_update_value(|c| {
            let before = c.peers.len();
            c.peers.retain(|p| now - p.seen_ms < PEER_TIMEOUT_MS);
            c.peers.len() != before
        });
        if dropped == Some(true) {
            queue_plan(connection);
        }
    }

    pub(super) fn seed(connection: LiveConnection, info: &StreamInfo) {
        let cursor = Cursor::parse(&info.cursor).ok().flatten();
        connection.client.update_value(|c| {
            c.url = info.url.clone();
            c.page_build = info.build.clone();
            if let Some(cursor) = cursor {
                match c.own.cursor.as_mut() {
                    Some(own) => own.adopt_missing(&cursor),
                    None => c.own.cursor = Some(cursor),
                }
            }
        });
    }

    pub(super) fn start_at(connection: LiveConnection, channel: &str, cursor: &str) {
        let Some(from) = Cursor::parse(cursor).ok().flatten() else {
            return;
        };
        let Some(id) = from.position(channel) else {
            return;
        };
        connection.client.update_value(|c| {
            let own = c
                .own
                .cursor
                .get_or_insert_with(|| Cursor::new(from.epoch.clone()));
            if own.epoch == from.epoch {
                own.positions.entry(channel.to_string()).or_insert(id);
            }
        });
    }

    pub(super) fn session_changed(connection: LiveConnection) {
        post(connection, &Note::Session);
        connection.client.update_value(|c| c.refused = None);
        queue_plan(connection);
    }

    pub(super) fn listen(
        connection: LiveConnection,
        channel: &str,
        event: &'static str,
        deliver: Deliver,
    ) -> u64 {
        // Messages are dispatched by name in Rust: a new name needs no reopen.
        connection
            .client
            .try_update_value(|c| {
                c.next_id += 1;
                c.listeners.push(Listener {
                    id: c.next_id,
                    channel: channel.to_string(),
                    event,
                    deliver,
                });
                c.next_id
            })
            .unwrap_or_default()
    }

    /// This tab now wants exactly `channels`.
    pub(super) fn ensure(connection: LiveConnection, channels: Vec<String>) {
        connection.client.update_value(|c| {
            let cursor = c.own.cursor.take().map(|mut own| {
                own.retain(&channels);
                own
            });
            c.own.update(channels, cursor);
        });
        announce(connection);
        queue_plan(connection);
    }

    pub(super) fn reconnect(connection: LiveConnection) {
        if role(connection) == Role::Follower {
            post(connection, &Note::Reconnect);
            return;
        }
        connection.client.update_value(|c| {
            c.attempt = 0;
            c.refused = None;
        });
        // At once, even while a retry is scheduled: a fresh first attempt.
        reopen_now(connection);
    }

    fn role(connection: LiveConnection) -> Role {
        connection.client.with_value(|c| c.role)
    }

    fn post(connection: LiveConnection, note: &Note) {
        let Ok(text) = serde_json::to_string(note) else {
            return;
        };
        connection.client.with_value(|c| {
            if let Some(bus) = &c.bus {
                let _ = bus.post_message(&text.into());
            }
        });
    }

    /// Tells the other tabs what this one wants.
    fn announce(connection: LiveConnection) {
        let note = connection.client.with_value(|c| Note::Want {
            tab: c.tab,
            channels: c.own.channels.clone(),
            cursor: c
                .own
                .cursor
                .as_ref()
                .map(Cursor::to_string)
                .unwrap_or_default(),
        });
        post(connection, &note);
    }

    fn on_note(connection: LiveConnection, note: Note) {
        match note {
            Note::Want {
                tab,
                channels,
                cursor,
            } => {
                let cursor = Cursor::parse(&cursor).ok().flatten();
                let now = js_sys::Date::now();
                connection.client.update_value(|c| {
                    let known = c.peers.iter().position(|p| p.tab == tab);
                    let index = known.unwrap_or_else(|| {
                        c.peers.push(Peer {
                            tab,
                            want: Want::default(),
                            seen_ms: now,
                        });
                        c.peers.len() - 1
                    });
                    let peer = &mut c.peers[index];
                    peer.want.update(channels, cursor);
                    peer.seen_ms = now;
                });
                queue_plan(connection);
            }
            Note::Bye { tab } => {
                connection.client.update_value(|c| {
                    c.peers.retain(|p| p.tab != tab);
                });
                queue_plan(connection);
            }
            Note::Frame { event, id, data } => {
                if role(connection) == Role::Follower {
                    receive(connection, Message { event, id, data });
                }
            }
            Note::State { status, channels } => {
                if role(connection) != Role::Follower {
                    return;
                }
                let (own, missing) = connection.client.with_value(|c| {
                    let missing = c.own.channels.iter().any(|ch| !channels.contains(ch));
                    (c.own.channels.is_empty(), missing)
                });
                if missing && status == StreamStatus::Live {
                    // The leader lost this tab's wish (a timeout, a new leader): say it again.
                    announce(connection);
                }
                connection
                    .status
                    .set(if own { StreamStatus::Closed } else { status });
            }
            Note::Session => {
                connection.resyncs.update(|n| *n += 1);
                connection.client.update_value(|c| c.refused = None);
                queue_plan(connection);
            }
            Note::Reconnect => {
                if role(connection) != Role::Follower {
                    reconnect(connection);
                }
            }
        }
    }

    /// Plans once after the current tick, however many wishes changed in it.
    fn queue_plan(connection: LiveConnection) {
        let queued = connection
            .client
            .try_update_value(|c| std::mem::replace(&mut c.plan_queued, true));
        if queued == Some(false) {
            spawn_local(async move {
                connection.client.update_value(|c| c.plan_queued = false);
                replan(connection);
            });
        }
    }

    /// Leader (or alone): opens, reopens or closes so that the stream serves every tab.
    fn replan(connection: LiveConnection) {
        if role(connection) == Role::Follower {
            let empty = connection.client.with_value(|c| c.own.channels.is_empty());
            if empty {
                connection.status.set(StreamStatus::Closed);
            }
            return;
        }
        let (plan, open, waiting, refused) = connection.client.with_value(|c| {
            let plan = c.plan();
            let open = c.reading.as_ref().map(|r| r.channels.clone());
            (plan, open, c.timer.is_some(), c.refused.clone())
        });
        connection.client.update_value(|c| {
            c.own.added.clear();
            for peer in &mut c.peers {
                peer.want.added.clear();
            }
        });
        if plan.channels.is_empty() {
            close(connection);
            set_status(connection, StreamStatus::Closed, Vec::new());
            return;
        }
        let unchanged = !plan.rewind
            && (open.as_ref() == Some(&plan.channels)
                || (open.is_none() && waiting && refused.is_none()));
        if unchanged || refused.as_ref() == Some(&plan.channels) {
            // A tab that just joined learns the state from this.
            let status = connection.client.with_value(|c| c.stream_status.clone());
            if let Some(status) = status {
                set_status(connection, status, open.unwrap_or(plan.channels));
            }
            return;
        }
        connection.client.update_value(|c| c.refused = None);
        open_stream(connection, plan.channels, plan.cursor);
    }

    fn close(connection: LiveConnection) {
        connection.client.update_value(|c| {
            if let Some(timer) = c.timer.take() {
                timer.clear();
            }
            c.reading = None;
            c.generation += 1;
        });
    }

    fn set_status(connection: LiveConnection, status: StreamStatus, channels: Vec<String>) {
        connection
            .client
            .update_value(|c| c.stream_status = Some(status.clone()));
        post(
            connection,
            &Note::State {
                status: status.clone(),
                channels,
            },
        );
        let own = connection.client.with_value(|c| c.own.channels.is_empty());
        connection
            .status
            .set(if own { StreamStatus::Closed } else { status });
    }

    fn stream_url(base: &str, channels: &[String], cursor: Option<&Cursor>) -> String {
        let base = if base.is_empty() { "/api/stream" } else { base };
        let mut url = format!(
            "{base}?channels={}",
            js_sys::encode_uri_component(&channels.join(","))
        );
        if let Some(cursor) = cursor.filter(|c| !c.positions.is_empty()) {
            url.push_str("&last_event_id=");
            url.push_str(&String::from(js_sys::encode_uri_component(
                &cursor.to_string(),
            )));
        }
        url
    }

    /// How a read ended.
    enum Ended {
        /// Replaced or closed by this tab: nothing to do.
        Stale,
        /// The server said no; `retry_ms` when trying later can help.
        Refused(Refusal, String, Option<u64>),
        /// The network failed, the server was unavailable, or the stream ended: back off.
        Dropped,
    }

    fn open_stream(connection: LiveConnection, channels: Vec<String>, cursor: Option<Cursor>) {
        close(connection);
        let controller = match AbortController::new() {
            Ok(controller) => controller,
            Err(_) => return,
        };
        let signal = controller.signal();
        let (generation, url) = connection
            .client
            .try_update_value(|c| {
                c.reading = Some(Reading {
                    controller,
                    channels: channels.clone(),
                });
                (c.generation, stream_url(&c.url, &channels, cursor.as_ref()))
            })
            .unwrap_or_default();
        if !matches!(
            connection.status.get_untracked(),
            StreamStatus::Reconnecting(_) | StreamStatus::Live
        ) {
            set_status(connection, StreamStatus::Connecting, channels.clone());
        }
        spawn_local(async move {
            let init = RequestInit::new();
            init.set_signal(Some(&signal));
            let ended = read(connection, generation, &url, &init).await;
            let current = connection.client.with_value(|c| c.generation == generation);
            if !current {
                return;
            }
            match ended {
                Ended::Stale => {}
                Ended::Refused(refusal, reason, retry) => {
                    connection.client.update_value(|c| {
                        c.reading = None;
                        if retry.is_none() {
                            c.refused = Some(channels.clone());
                        }
                    });
                    set_status(
                        connection,
                        StreamStatus::Refused(refusal, reason),
                        channels.clone(),
                    );
                    if let Some(ms) = retry {
                        retry_after(connection, ms);
                    }
                }
                Ended::Dropped => {
                    connection.client.update_value(|c| c.reading = None);
                    schedule_retry(connection, channels);
                }
            }
        });
    }

    async fn read(
        connection: LiveConnection,
        generation: u64,
        url: &str,
        init: &RequestInit,
    ) -> Ended {
        let stale = || connection.client.with_value(|c| c.generation != generation);
        let Ok(response) = JsFuture::from(window().fetch_with_str_and_init(url, init)).await else {
            return if stale() {
                Ended::Stale
            } else {
                Ended::Dropped
            };
        };
        let response: Response = response.unchecked_into();
        let status = response.status();
        if status != 200 {
            let Some(refusal) = Refusal::from_status(status) else {
                return Ended::Dropped;
            };
            let retry = (refusal == Refusal::TooMany).then(|| {
                response
                    .headers()
                    .get("retry-after")
                    .ok()
                    .flatten()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .map_or(TOO_MANY_RETRY_MS, |secs| secs.clamp(1, 300) * 1000)
            });
            let reason = match response.text().map(JsFuture::from) {
                Ok(text) => text
                    .await
                    .ok()
                    .and_then(|t| t.as_string())
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            return Ended::Refused(refusal, error_reason(&reason), retry);
        }
        let Some(body) = response.body() else {
            return Ended::Dropped;
        };
        let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let mut parser = Parser::default();
        loop {
            let Ok(chunk) = JsFuture::from(reader.read()).await else {
                return if stale() {
                    Ended::Stale
                } else {
                    Ended::Dropped
                };
            };
            if stale() {
                return Ended::Stale;
            }
            let done = Reflect::get(&chunk, &"done".into()).is_ok_and(|d| d.is_truthy());
            if done {
                return Ended::Dropped;
            }
            let Ok(value) = Reflect::get(&chunk, &"value".into()) else {
                continue;
            };
            let mut messages = Vec::new();
            parser.push(&value.unchecked_into::<Uint8Array>().to_vec(), |m| {
                messages.push(m)
            });
            for message in messages {
                if stale() {
                    return Ended::Stale;
                }
                if message.event == Hello::NAME {
                    let channels = connection
                        .client
                        .try_update_value(|c| {
                            c.attempt = 0;
                            c.reading
                                .as_ref()
                                .map(|r| r.channels.clone())
                                .unwrap_or_default()
                        })
                        .unwrap_or_default();
                    set_status(connection, StreamStatus::Live, channels);
                }
                post(
                    connection,
                    &Note::Frame {
                        event: message.event.clone(),
                        id: message.id.clone(),
                        data: message.data.clone(),
                    },
                );
                receive(connection, message);
            }
        }
    }

    /// The server's one-line reason from its `{"error": "…"}` body.
    fn error_reason(body: &str) -> String {
        #[derive(serde::Deserialize)]
        struct Body {
            error: String,
        }
        serde_json::from_str::<Body>(body)
            .map(|b| b.error)
            .unwrap_or_default()
    }

    fn retry_after(connection: LiveConnection, ms: u64) {
        let timer = set_timeout_with_handle(
            move || {
                connection.client.update_value(|c| {
                    c.timer = None;
                    c.reading = None;
                    c.refused = None;
                });
                reopen_now(connection);
            },
            std::time::Duration::from_millis(ms),
        )
        .ok();
        connection.client.update_value(|c| c.timer = timer);
    }

    fn schedule_retry(connection: LiveConnection, channels: Vec<String>) {
        let attempt = connection
            .client
            .try_update_value(|c| {
                c.attempt += 1;
                c.attempt
            })
            .unwrap_or(1);
        set_status(connection, StreamStatus::Reconnecting(attempt), channels);
        let delay = backoff::delay(attempt, js_sys::Math::random());
        let timer = set_timeout_with_handle(
            move || {
                connection.client.update_value(|c| c.timer = None);
                reopen_now(connection);
            },
            delay,
        )
        .ok();
        connection.client.update_value(|c| c.timer = timer);
    }

    /// Opens what the plan says now, even if it equals what was open.
    fn reopen_now(connection: LiveConnection) {
        if role(connection) == Role::Follower {
            return;
        }
        let plan = connection.client.with_value(Client::plan);
        if plan.channels.is_empty() {
            close(connection);
            set_status(connection, StreamStatus::Closed, Vec::new());
            return;
        }
        open_stream(connection, plan.channels, plan.cursor);
    }

    /// One message of the stream, read here or relayed by the leader.
    fn receive(connection: LiveConnection, message: Message) {
        let Message { event, id, data } = message;
        let frame = id
            .as_deref()
            .and_then(|id| Cursor::parse(id).ok().flatten());
        if let Some(frame) = &frame {
            connection.client.update_value(|c| match c.seen.as_mut() {
                Some(seen) => seen.advance_to(frame),
                None => c.seen = Some(frame.clone()),
            });
        }
        if event == Hello::NAME {
            if let Ok(hello) = serde_json::from_str::<Hello>(&data) {
                let page = connection.client.with_value(|c| c.page_build.clone());
                if !page.is_empty() && hello.build != page {
                    connection.new_build.set(Some(hello.build));
                }
            }
            return;
        }
        // The event's own JSON stays text here: each listener decodes it into its type.
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            channel: String,
            #[serde(borrow)]
            data: Option<&'a serde_json::value::RawValue>,
        }
        let envelope = serde_json::from_str::<Envelope>(&data);
        let envelope = match envelope {
            Ok(envelope) => envelope,
            Err(err) => {
                leptos::logging::warn!("skipping a {event} frame that is not an envelope: {err}");
                return;
            }
        };
        let show = connection.client.try_update_value(|c| {
            c.own.channels.contains(&envelope.channel)
                && frame
                    .as_ref()
                    .is_none_or(|f| share::fresh(&mut c.own.cursor, &envelope.channel, f))
        });
        if show != Some(true) {
            return;
        }
        if event == Resync::NAME {
            connection.resyncs.update(|n| *n += 1);
            return;
        }
        // Copy the matching handlers out first: delivering may mount or unmount components,
        // which register or drop listeners.
        let targets: Vec<Deliver> = connection.client.with_value(|c| {
            c.listeners
                .iter()
                .filter(|l| l.event == event && l.channel == envelope.channel)
                .map(|l| l.deliver.clone())
                .collect()
        });
        let data = envelope.data.map_or("null", |d| d.get());
        for deliver in targets {
            deliver(data);
        }
    }
}
