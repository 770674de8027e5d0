//! One message of the stream, read by this tab or relayed by the leader, delivered to this
//! tab's listeners of its channel and event, exactly once and in order (see `share::shows`).

use leptos::prelude::*;

use super::{Deliver, LiveConnection};
use crate::{
    client::{share, sse::Message},
    cursor::Cursor,
    event::{Hello, LiveEvent, Resync},
};

/// One message of the stream, read here or relayed by the leader.
pub(super) fn receive(connection: LiveConnection, message: Message) {
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
            if !page.is_empty() && share::newer(&hello.build, &page) {
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
            && share::shows(&mut c.own.cursor, &event, &envelope.channel, frame.as_ref())
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
