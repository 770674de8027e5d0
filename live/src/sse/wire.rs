//! SSE on the wire: frames as bytes, and the response body that streams them.
//!
//! The fan-out path is built so that one event costs the same whatever the number of
//! subscribers: its frame is encoded once (cached on the [`Stored`] event) and every
//! subscriber's body hands the server a reference to the same bytes; frames that queue up for
//! a slow connection go out together in one write (the server polls the body until it has
//! nothing ready: hyper in a vectored write, the starter's direct path, `server/src/direct.rs`,
//! copied into one buffer); heartbeats are a static comment, sent only on streams that were quiet for
//! a whole interval, from a timer that is never reset.
//!
//! Only connections with several channels need bytes of their own per event: their cursor
//! (the `id:` line) names the position in every channel, so it is appended to the shared
//! `event:`/`data:` lines.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt, stream::BoxStream};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::{
    event::{LiveEvent, Resync},
    hub::{Frame, Stored},
};

/// What the `data:` of a frame carries.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// One channel: `data` is the event's JSON.
    Single,
    /// Several channels: `data` is `{"channel": …, "data": <event>}`.
    Multiplexed,
}

/// Sent on a stream that had nothing else to send for a whole heartbeat interval.
pub const HEARTBEAT: Bytes = Bytes::from_static(b":\n\n");

/// Slots of [`Stored::frames`].
const SINGLE: usize = 0;
const MULTIPLEXED: usize = 1;
const MULTIPLEXED_WITHOUT_ID: usize = 2;

/// Appends `field: value` lines; a value with line breaks becomes one line per part (the
/// client joins them with `\n`), so no value can end a frame early or forge a field.
pub fn push_field(out: &mut Vec<u8>, field: &str, value: &str) {
    let mut rest = value.as_bytes();
    loop {
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&rest[..end]);
        out.push(b'\n');
        if end == rest.len() {
            return;
        }
        let skip = if rest[end..].starts_with(b"\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
    }
}

/// `event:` and `data:` lines of `event` in `shape` (no `id:`, no blank line).
fn push_event(out: &mut Vec<u8>, event: &Stored, shape: Shape) {
    push_field(out, "event", &event.name);
    let data = match shape {
        Shape::Single => &event.data,
        Shape::Multiplexed => event.wrapped(),
    };
    push_field(out, "data", data);
}

/// The whole frame of `frame` for a subscriber of `shape`, on a hub of `epoch`.
pub fn encode(frame: Frame, shape: Shape, epoch: &str) -> Bytes {
    match frame {
        Frame::Event {
            event,
            cursor: None,
        } => {
            let slot = match shape {
                Shape::Single => SINGLE,
                Shape::Multiplexed => MULTIPLEXED,
            };
            event.frames[slot]
                .get_or_init(|| {
                    let mut out = Vec::with_capacity(64 + event.data.len());
                    push_event(&mut out, &event, shape);
                    let cursor = format!("{epoch}:{}={}", event.channel, event.id);
                    push_field(&mut out, "id", &cursor);
                    out.push(b'\n');
                    out.into()
                })
                .clone()
        }
        Frame::Event {
            event,
            cursor: Some(cursor),
        } => {
            let shared = event.frames[MULTIPLEXED_WITHOUT_ID].get_or_init(|| {
                let mut out = Vec::with_capacity(64 + event.data.len());
                push_event(&mut out, &event, Shape::Multiplexed);
                out.into()
            });
            let mut out = Vec::with_capacity(shared.len() + cursor.len() + 6);
            out.extend_from_slice(shared);
            push_field(&mut out, "id", &cursor);
            out.push(b'\n');
            out.into()
        }
        Frame::Resync { channel, cursor } => {
            let resync = Resync {
                channel: channel.to_string(),
            };
            let mut out = Vec::new();
            push_field(&mut out, "event", Resync::NAME);
            push_field(
                &mut out,
                "data",
                &serde_json::to_string(&resync).unwrap_or_default(),
            );
            push_field(&mut out, "id", &cursor);
            out.push(b'\n');
            out.into()
        }
    }
}

/// One connection's response body: `first` (retry hint and hello), then its frames, with
/// heartbeats on quiet streams, until the frames end or `shutdown` fires.
pub struct Body {
    first: Option<Bytes>,
    frames: BoxStream<'static, Frame>,
    shape: Shape,
    epoch: Box<str>,
    heartbeat: Interval,
    /// Nothing was sent since the last heartbeat tick.
    quiet: bool,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Body {
    pub fn new(
        first: Bytes,
        frames: BoxStream<'static, Frame>,
        shape: Shape,
        epoch: &str,
        heartbeat: Duration,
        shutdown: WaitForCancellationFutureOwned,
    ) -> Self {
        let mut heartbeat = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            first: Some(first),
            frames,
            shape,
            epoch: epoch.into(),
            heartbeat,
            quiet: true,
            shutdown: Box::pin(shutdown),
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.shutdown.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        match this.frames.poll_next_unpin(cx) {
            Poll::Ready(Some(frame)) => {
                this.quiet = false;
                return Poll::Ready(Some(Ok(encode(frame, this.shape, &this.epoch))));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        // A tick on a stream that sent something since the last one only re-arms the timer.
        while this.heartbeat.poll_tick(cx).is_ready() {
            if std::mem::replace(&mut this.quiet, true) {
                return Poll::Ready(Some(Ok(HEARTBEAT)));
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn line_breaks_become_separate_data_lines() {
        let mut out = Vec::new();
        push_field(&mut out, "data", "{\n\"a\":1,\r\n\"b\":\r2}");
        assert_eq!(
            text(&out),
            "data: {\ndata: \"a\":1,\ndata: \"b\":\ndata: 2}\n"
        );
        out.clear();
        push_field(&mut out, "data", "");
        assert_eq!(text(&out), "data: \n");
    }

    fn stored(id: u64) -> std::sync::Arc<Stored> {
        std::sync::Arc::new(Stored::new(
            id,
            "prices".into(),
            "price".into(),
            r#"{"p":1}"#.into(),
            Box::new([]),
        ))
    }

    #[test]
    fn one_channel_frames_are_built_once_and_shared() {
        let event = stored(7);
        let frame = |shape| {
            encode(
                Frame::Event {
                    event: event.clone(),
                    cursor: None,
                },
                shape,
                "ep",
            )
        };
        let (a, b) = (frame(Shape::Single), frame(Shape::Single));
        assert_eq!(
            text(&a),
            "event: price\ndata: {\"p\":1}\nid: ep:prices=7\n\n"
        );
        assert_eq!(a.as_ptr(), b.as_ptr(), "the same bytes, not a copy");
        assert_eq!(
            text(&frame(Shape::Multiplexed)),
            "event: price\ndata: {\"channel\":\"prices\",\"data\":{\"p\":1}}\nid: ep:prices=7\n\n"
        );
    }

    #[test]
    fn several_channels_append_their_own_cursor() {
        let frame = encode(
            Frame::Event {
                event: stored(3),
                cursor: Some("ep:orders=2,prices=3".into()),
            },
            Shape::Multiplexed,
            "ep",
        );
        assert_eq!(
            text(&frame),
            "event: price\ndata: {\"channel\":\"prices\",\"data\":{\"p\":1}}\nid: ep:orders=2,prices=3\n\n"
        );
    }

    /// Heartbeats go only to quiet streams: 20 frames 50 ms apart with a 200 ms heartbeat
    /// bring none; once the frames stop, one comes within two intervals. (Paused time.)
    #[tokio::test(start_paused = true)]
    async fn heartbeats_only_on_quiet_streams() {
        use futures_util::stream;
        let frames = stream::unfold(1u64, |id| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let frame = Frame::Event {
                event: stored(id),
                cursor: None,
            };
            Some((frame, id + 1))
        })
        .take(20)
        .chain(stream::pending())
        .boxed();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let mut body = Body::new(
            Bytes::from_static(b"retry: 1000\n\n"),
            frames,
            Shape::Single,
            "ep",
            Duration::from_millis(200),
            shutdown.clone().cancelled_owned(),
        );
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(text(&first), "retry: 1000\n\n");
        for _ in 0..20 {
            let item = body.next().await.unwrap().unwrap();
            assert_ne!(item, HEARTBEAT, "a heartbeat on a busy stream");
        }
        let started = Instant::now();
        let quiet = body.next().await.unwrap().unwrap();
        assert_eq!(quiet, HEARTBEAT);
        assert!(started.elapsed() <= Duration::from_millis(400));
        shutdown.cancel();
        assert!(body.next().await.is_none(), "shutdown ends the body");
    }
}
