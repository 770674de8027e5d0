//! The browser half of the connection: this tab's state (its role among the tabs, its wishes,
//! the stream it reads when it leads), leadership through the Web Lock, and planning.
//!
//! - `tabs`: what the tabs post on the `BroadcastChannel` and how each one reacts.
//! - `reader`: the leader's (or a lone tab's) stream: fetch, parse, refusals, backoff.
//! - `receive`: one message, read or relayed, to this tab's listeners, once.

mod reader;
mod receive;
mod tabs;

use reader::{open_stream, reopen_now};
use receive::receive;
pub(super) use tabs::session_changed;
use tabs::{announce, on_note, post, settle};

use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use leptos::{leptos_dom::helpers::TimeoutHandle, prelude::*};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::spawn_local;
use web_sys::{AbortController, BroadcastChannel, MessageEvent};

use super::LiveConnection;
use crate::{
    client::{
        StreamStatus,
        share::{self, Note, Want},
    },
    cursor::Cursor,
    event::StreamInfo,
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
    /// Channels this tab moved back in since it last told the others (see `Want::rebase`).
    back: Vec<String>,
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
    /// A session changed (here or in another tab): every tab's wishes are the old session's
    /// until its page has its new snapshot. The stream waits for this tab's (`seed`), or
    /// `tabs::SESSION_SETTLE_MS`, and forgets the others' until they say them again: opened
    /// earlier, it would ask for channels the new session may not have (401, 403).
    awaiting_seed: bool,
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
    let _ = window().add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
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
    connection.client.update_value(|c| {
        c.url = info.url.clone();
        c.page_build = info.build.clone();
    });
    if let Some(cursor) = Cursor::parse(&info.cursor).ok().flatten() {
        rebase(connection, &cursor);
    }
    settle(connection);
}

pub(super) fn start_at(connection: LiveConnection, channel: &str, cursor: &str) {
    let Some(mut from) = Cursor::parse(cursor).ok().flatten() else {
        return;
    };
    from.retain(&[channel.to_string()]);
    let foreign = connection.client.with_value(|c| {
        c.own
            .cursor
            .as_ref()
            .is_some_and(|own| own.epoch != from.epoch)
    });
    if !from.positions.is_empty() && !foreign {
        rebase(connection, &from);
    }
}

/// State rendered from `from` replaced what this tab showed: it moves back where it had gone
/// past `from`, and has the stream replay those channels (its own, or the leader's).
fn rebase(connection: LiveConnection, from: &Cursor) {
    let back = connection.client.try_update_value(|c| {
        let back = c.own.rebase(from);
        c.back.extend(back.iter().cloned());
        !back.is_empty()
    });
    if back == Some(true) {
        announce(connection);
        queue_plan(connection);
    }
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
    if connection.client.with_value(|c| c.awaiting_seed) {
        return;
    }
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
