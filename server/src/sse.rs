//! Thin handlers that turn a hub subscription into an axum `Sse` response.
//!
//! Framing is axum's (`Sse`, `Event`, `KeepAlive`); nothing here formats SSE by hand. Every
//! stream starts with a `retry:` hint and a `hello` event, replays what the client missed after
//! its cursor (`Last-Event-ID`, else `?last_event_id=`), then goes live; heartbeat comments keep
//! idle streams open through proxies; and the shutdown token ends it at once.

use std::{convert::Infallible, time::Duration};

use app::events::{Hello, LiveEvent, Resync, channels};
use axum::{
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{StreamExt, stream};
use serde::Deserialize;

use crate::{
    AppState,
    auth::{CurrentUser, SignedIn},
    error::{ApiError, ApiQuery},
    hub::{Cursor, Frame},
};

/// How long browsers wait before reconnecting a dropped stream (the `retry:` hint).
pub const RETRY: Duration = Duration::from_millis(1_000);

/// Tells nginx (and proxies that copy it) not to buffer the stream.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Query parameters every stream endpoint accepts.
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    /// Multiplexed endpoint only: `a,b,c`.
    pub channels: Option<String>,
    /// Resume position on first connect (reconnects send the `Last-Event-ID` header instead).
    pub last_event_id: Option<String>,
}

/// Whether frames carry the bare event or name their channel too.
#[derive(Clone, Copy)]
enum Shape {
    /// One channel: `data` is the event's JSON.
    Single,
    /// Several channels: `data` is `{"channel": …, "data": <event>}`.
    Multiplexed,
}

/// `GET /api/prices/stream`.
pub async fn prices(
    state: State<AppState>,
    user: CurrentUser,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    single(state, user, query, headers, channels::PRICES.to_string()).await
}

/// `GET /api/orders/stream` (signed-in users).
pub async fn orders(
    state: State<AppState>,
    user: CurrentUser,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    single(state, user, query, headers, channels::ORDERS.to_string()).await
}

/// `GET /api/notifications/stream`: the signed-in user's own notifications.
pub async fn notifications(
    state: State<AppState>,
    SignedIn(user): SignedIn,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel = channels::notifications(&user);
    single(state, CurrentUser(Some(user)), query, headers, channel).await
}

/// `GET /api/stream?channels=a,b,c`: several channels on one connection.
pub async fn multiplexed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let names: Vec<String> = query
        .channels
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    let cursor = cursor(&headers, &query)?;
    open(&state, user.as_deref(), &names, cursor, Shape::Multiplexed).await
}

async fn single(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
    channel: String,
) -> Result<Response, ApiError> {
    if query.channels.is_some() {
        return Err(ApiError::bad_request(
            "channels= is for /api/stream; this endpoint has one channel",
        ));
    }
    let cursor = cursor(&headers, &query)?;
    open(&state, user.as_deref(), &[channel], cursor, Shape::Single).await
}

/// The client's resume position: the `Last-Event-ID` header (sent by browsers on reconnect)
/// wins over the `last_event_id` query parameter (set once, on first connect).
fn cursor(headers: &HeaderMap, query: &StreamQuery) -> Result<Option<Cursor>, ApiError> {
    let text = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .map_err(|_| ApiError::bad_request("malformed cursor: Last-Event-ID is not text"))?,
        None => query.last_event_id.as_deref().unwrap_or_default(),
    };
    Cursor::parse(text).map_err(|err| ApiError::bad_request(err.to_string()))
}

async fn open(
    state: &AppState,
    user: Option<&str>,
    channels: &[String],
    cursor: Option<Cursor>,
    shape: Shape,
) -> Result<Response, ApiError> {
    let subscription = state.hub.subscribe(user, channels, cursor).await?;
    let hello = Hello {
        connection: subscription.connection.to_string(),
        build: state.config.build_id.clone(),
    };
    let first = Event::default()
        .retry(RETRY)
        .event(Hello::NAME)
        .data(serde_json::to_string(&hello).map_err(|e| ApiError::internal(&e))?);
    let events = stream::once(async { first })
        .chain(subscription.frames.map(move |frame| to_event(frame, shape)))
        .map(Ok::<_, Infallible>)
        .take_until(state.shutdown.clone().cancelled_owned());

    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(subscription.heartbeat))
        .into_response();
    response
        .headers_mut()
        .insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    Ok(response)
}

/// One frame as an SSE event. Names were validated at publish, cursors are built from tokens,
/// and data is JSON (no raw CR or LF), so none of axum's setters can panic here.
fn to_event(frame: Frame, shape: Shape) -> Event {
    match frame {
        Frame::Event { event, cursor } => {
            let data = match shape {
                Shape::Single => &event.data,
                Shape::Multiplexed => event.wrapped(),
            };
            Event::default()
                .event(&*event.name)
                .id(cursor)
                .data(&**data)
        }
        Frame::Resync { channel, cursor } => {
            let resync = Resync {
                channel: channel.to_string(),
            };
            Event::default()
                .event(Resync::NAME)
                .id(cursor)
                .data(serde_json::to_string(&resync).unwrap_or_default())
        }
    }
}
