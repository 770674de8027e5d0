//! A hub [`Subscription`] as a `text/event-stream` response.
//!
//! Every stream starts with a `retry:` hint and a `hello` event, replays what the client missed
//! after its cursor (`Last-Event-ID`, else `?last_event_id=`: see [`resume_cursor`]), then goes
//! live; heartbeat comments keep quiet streams open through proxies; and the shutdown token
//! ends it at once. The bytes on the wire, and why they cost little per subscriber, are in
//! [`wire`].
//!
//! An app's handler authorizes nothing itself: [`Hub::subscribe`](crate::hub::Hub::subscribe)
//! does, per channel, for the user the app found. The handler only turns the result into a
//! response:
//!
//! ```no_run
//! # async fn handler(hub: &leptos_live::hub::Hub, shutdown: tokio_util::sync::CancellationToken)
//! # -> Result<axum::response::Response, leptos_live::hub::HubError> {
//! use leptos_live::{Hello, hub::Client, sse};
//!
//! let channels = ["clock".to_string()];
//! let subscription = hub.subscribe(Client::default(), &channels, None).await?;
//! let hello = Hello { connection: subscription.connection.to_string(), build: "dev".into() };
//! Ok(sse::response(subscription, &hello, sse::Shape::Single, shutdown))
//! # }
//! ```

pub mod wire;

use std::time::Duration;

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, header},
    response::Response,
};
use tokio_util::sync::CancellationToken;

pub use wire::{HEARTBEAT, Shape, push_field};

use crate::{
    cursor::{Cursor, MalformedCursor},
    event::{Hello, LiveEvent},
    hub::Subscription,
};

/// How long browsers wait before reconnecting a dropped stream (the `retry:` hint).
pub const RETRY: Duration = Duration::from_millis(1_000);

/// Tells nginx (and proxies that copy it) not to buffer the stream.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// The client's resume position: the `Last-Event-ID` header (sent by browsers on reconnect)
/// wins over the `last_event_id` query parameter (`query`, set once, on first connect).
pub fn resume_cursor(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<Cursor>, MalformedCursor> {
    let text = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .map_err(|_| MalformedCursor("Last-Event-ID is not text"))?,
        None => query.unwrap_or_default(),
    };
    Cursor::parse(text)
}

/// The response streaming `subscription`: the retry hint and `hello` first, then its frames in
/// `shape`, with heartbeats, until the frames end or `shutdown` fires.
pub fn response(
    subscription: Subscription,
    hello: &Hello,
    shape: Shape,
    shutdown: CancellationToken,
) -> Response {
    let mut first = format!("retry: {}\n", RETRY.as_millis()).into_bytes();
    push_field(&mut first, "event", Hello::NAME);
    // Two strings: serialising them cannot fail.
    let hello = serde_json::to_string(hello).unwrap_or_default();
    push_field(&mut first, "data", &hello);
    first.push(b'\n');

    let body = wire::Body::new(
        first.into(),
        subscription.frames,
        shape,
        &subscription.epoch,
        subscription.heartbeat,
        shutdown.cancelled_owned(),
    );
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    response
}
