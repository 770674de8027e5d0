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
    /// Where to connect and from which positions: the page's snapshot says. Call it with every
    /// snapshot the components start from, the first and each refetched one, before they
    /// mount. The tab then stands no later than the snapshot in its channels: nothing
    /// published between the snapshot's read and the subscription is missed, and where the
    /// tab had gone past it (events folded into the state the snapshot replaces) the stream
    /// replays those events. Folding must be idempotent: some of them are in the snapshot.
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

    /// The build a stream announced, when it is newer than the page's (tracked; see
    /// `share::newer`).
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
mod client;
