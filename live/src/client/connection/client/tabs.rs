//! What the tabs of one browser tell each other on the `BroadcastChannel` (see
//! [`share::Note`]), and what each tab does with a note.

use leptos::prelude::*;

use super::{LiveConnection, Peer, Role, await_snapshot, queue_plan, receive, reconnect, role};
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
