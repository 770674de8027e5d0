//! Thin handlers that turn a hub subscription into an axum `Sse` response.
//!
//! Framing is axum's (`Sse`, `Event`, `KeepAlive`); nothing here formats SSE by hand.
//! Each response owns a [`ConnectionGuard`](crate::hub::ConnectionGuard), so the stats count
//! the connection for exactly as long as the body lives, and each is cut by the shutdown token.

use std::{convert::Infallible, time::Duration};

use app::events::channels;
use axum::{
    extract::State,
    http::{HeaderName, HeaderValue, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::StreamExt;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use crate::{
    AppState,
    hub::{HubError, Published},
};

/// Comment lines sent on an idle stream so proxies and load balancers keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Tells nginx (and proxies that copy it) not to buffer the stream.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// `GET /api/prices/stream`: every price tick from now on, as `event: price`.
pub async fn prices(State(state): State<AppState>) -> Response {
    channel_stream(&state, channels::PRICES).into_response()
}

/// Subscribes to `channel` and streams its events until the client leaves or shutdown fires.
fn channel_stream(state: &AppState, channel: &str) -> Result<Response, HubError> {
    let receiver = state.hub.subscribe(channel)?;
    let connection = state.hub.stats().connect();
    let events = BroadcastStream::new(receiver)
        .map(move |item| {
            // The closure owns the guard, so the connection is counted while the stream lives.
            let _connection = &connection;
            Ok::<_, Infallible>(to_event(item))
        })
        .take_until(state.shutdown.clone().cancelled_owned());

    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response();
    response
        .headers_mut()
        .insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    Ok(response)
}

/// One hub event (or a lag notice) as an SSE event.
fn to_event(item: Result<Published, BroadcastStreamRecvError>) -> Event {
    match item {
        Ok(event) => Event::default()
            .event(event.name)
            .id(event.id.to_string())
            .data(&*event.data),
        // The subscriber fell more than CHANNEL_CAPACITY events behind: say so instead of
        // leaving a silent gap; the client reloads its snapshot.
        Err(BroadcastStreamRecvError::Lagged(missed)) => Event::default()
            .event("resync")
            .data(format!(r#"{{"missed":{missed}}}"#)),
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = match self {
            HubError::UnknownChannel(_) => StatusCode::NOT_FOUND,
            HubError::InvalidEventName(_) | HubError::Serialize(_) => {
                tracing::error!(error = %self, "refusing to stream");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
            }
        };
        (status, format!("{self}\n")).into_response()
    }
}
