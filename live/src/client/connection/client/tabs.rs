//! What the tabs of one browser tell each other on the `BroadcastChannel` (see
//! [`share::Note`]), what each tab does with a note, and the wait after a session change.

use leptos::prelude::*;

use super::{LiveConnection, Peer, Role, queue_plan, receive, reconnect, role};
use crate::{
    client::{
        StreamStatus,
        share::{Note, Want},
        sse::Message,
    },
    cursor::Cursor,
};

pub(super) fn post(connection: LiveConnection, note: &Note) {
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
pub(super) fn announce(connection: LiveConnection) {
    let note = connection.client.try_update_value(|c| Note::Want {
        tab: c.tab,
        channels: c.own.channels.clone(),
        cursor: c
            .own
            .cursor
            .as_ref()
            .map(Cursor::to_string)
            .unwrap_or_default(),
        back: std::mem::take(&mut c.back),
    });
    if let Some(note) = note {
        post(connection, &note);
    }
}

pub(super) fn on_note(connection: LiveConnection, note: Note) {
    match note {
        Note::Want {
            tab,
            channels,
            cursor,
            back,
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
                peer.want.mark_added(&back);
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
            await_snapshot(connection);
        }
        Note::Reconnect => {
            if role(connection) != Role::Follower {
                reconnect(connection);
            }
        }
    }
}

/// This tab signed in or out: the other tabs hear it, and every tab waits for its new snapshot.
pub(in crate::client::connection) fn session_changed(connection: LiveConnection) {
    post(connection, &Note::Session);
    await_snapshot(connection);
}

/// The longest a stream waits after a session change for the page's new snapshot (a page
/// without one never seeds).
const SESSION_SETTLE_MS: u64 = 2_000;

/// A session changed: plan again once this tab has its new snapshot (see `awaiting_seed`).
fn await_snapshot(connection: LiveConnection) {
    connection.client.update_value(|c| {
        c.refused = None;
        c.awaiting_seed = true;
        c.peers.clear();
    });
    set_timeout(
        move || settle(connection),
        std::time::Duration::from_millis(SESSION_SETTLE_MS),
    );
}

/// Plans again if it was waiting for a snapshot.
pub(super) fn settle(connection: LiveConnection) {
    let waited = connection
        .client
        .try_update_value(|c| std::mem::replace(&mut c.awaiting_seed, false));
    if waited == Some(true) {
        queue_plan(connection);
    }
}
