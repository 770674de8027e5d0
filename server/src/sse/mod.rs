//! Thin handlers that turn a hub subscription into an event-stream response.
//!
//! Every stream starts with a `retry:` hint and a `hello` event, replays what the client missed
//! after its cursor (`Last-Event-ID`, else `?last_event_id=`), then goes live; heartbeat
//! comments keep quiet streams open through proxies; and the shutdown token ends it at once.
//! The bytes on the wire, and why they cost little per subscriber, are in [`wire`].

pub mod wire;

use std::time::Duration;

use app::events::{Hello, LiveEvent, channels};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, header},
    response::Response,
};
use serde::Deserialize;

use crate::{
    AppState,
    auth::{self, CurrentUser, SignedIn},
    client::ClientAddr,
    error::{ApiError, ApiQuery},
    hub::{self, Client, Cursor},
};
use wire::{Shape, push_field};

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

/// What every stream handler extracts.
type Request = (
    State<AppState>,
    CurrentUser,
    ClientAddr,
    ApiQuery<StreamQuery>,
    HeaderMap,
);

/// `GET /api/prices/stream`.
pub async fn prices(
    state: State<AppState>,
    user: CurrentUser,
    addr: ClientAddr,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = (state, user, addr, query, headers);
    single(request, channels::PRICES.to_string()).await
}

/// `GET /api/orders/stream` (signed-in users).
pub async fn orders(
    state: State<AppState>,
    user: CurrentUser,
    addr: ClientAddr,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = (state, user, addr, query, headers);
    single(request, channels::ORDERS.to_string()).await
}

/// `GET /api/notifications/stream`: the signed-in user's own notifications.
pub async fn notifications(
    state: State<AppState>,
    SignedIn(user): SignedIn,
    addr: ClientAddr,
    query: ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel = channels::notifications(&user);
    let request = (state, CurrentUser(Some(user)), addr, query, headers);
    single(request, channel).await
}

/// `GET /api/stream?channels=a,b,c`: several channels on one connection.
pub async fn multiplexed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ClientAddr(addr): ClientAddr,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Parsed against the limit: a list of thousands of names costs no more than limit + 1.
    let list = query.channels.as_deref().unwrap_or_default();
    let names = hub::channel_list(list, state.config.limits.channels_per_connection)?;
    let cursor = cursor(&headers, &query)?;
    let client = Client {
        user: user.as_deref(),
        addr,
    };
    open(&state, client, &names, cursor, Shape::Multiplexed).await
}

async fn single(request: Request, channel: String) -> Result<Response, ApiError> {
    let (State(state), CurrentUser(user), ClientAddr(addr), ApiQuery(query), headers) = request;
    if query.channels.is_some() {
        return Err(ApiError::bad_request(
            "channels= is for /api/stream; this endpoint has one channel",
        ));
    }
    let cursor = cursor(&headers, &query)?;
    let client = Client {
        user: user.as_deref(),
        addr,
    };
    open(&state, client, &[channel], cursor, Shape::Single).await
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
    client: Client<'_>,
    channels: &[String],
    cursor: Option<Cursor>,
    shape: Shape,
) -> Result<Response, ApiError> {
    if state.stopping.is_cancelled() {
        // Draining (see `crate::shutdown`): the client's retry goes to another instance.
        return Err(ApiError::unavailable(
            "this server is shutting down; reconnect in a moment",
        ));
    }
    let subscription = state.hub.subscribe(client, channels, cursor).await?;
    let hello = Hello {
        connection: auth::connection_token(
            &state.session_key,
            subscription.connection,
            client.user,
        ),
        build: state.config.build_id.clone(),
    };
    let mut first = format!("retry: {}\n", RETRY.as_millis()).into_bytes();
    push_field(&mut first, "event", Hello::NAME);
    let hello = serde_json::to_string(&hello).map_err(|e| ApiError::internal(&e))?;
    push_field(&mut first, "data", &hello);
    first.push(b'\n');

    let body = wire::Body::new(
        first.into(),
        subscription.frames,
        shape,
        &subscription.epoch,
        subscription.heartbeat,
        state.shutdown.clone().cancelled_owned(),
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header(X_ACCEL_BUFFERING, HeaderValue::from_static("no"))
        .body(Body::from_stream(body))
        .map_err(|e| ApiError::internal(&e))
}
