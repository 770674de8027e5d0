//! The app's stream endpoints: each finds the user and the client's address, asks the hub
//! for a subscription and hands it to the engine ([`leptos_live::sse`]), which frames it.

use axum::{extract::State, http::HeaderMap, response::Response};
use leptos_live::{
    Hello,
    hub::{self, Client, Refusal},
    sse::{self, Shape},
};
use serde::Deserialize;

use crate::{
    AppState,
    auth::{self, CurrentUser},
    client::ClientAddr,
    error::{ApiError, ApiQuery},
};

/// Query parameters every stream endpoint accepts.
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    /// Multiplexed endpoint only: `a,b,c`.
    pub channels: Option<String>,
    /// Resume position on first connect (reconnects send the `Last-Event-ID` header instead).
    pub last_event_id: Option<String>,
}

/// What every stream handler extracts.
pub type Request = (
    State<AppState>,
    CurrentUser,
    ClientAddr,
    ApiQuery<StreamQuery>,
    HeaderMap,
);

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
    let names = hub::channel_list(list, state.config.limits.channels_per_connection)
        .map_err(|err| refused(&state, Refusal::BadRequest, err.into()))?;
    let cursor =
        cursor(&headers, &query).map_err(|err| refused(&state, Refusal::BadRequest, err))?;
    let client = Client {
        user: user.as_deref(),
        addr,
    };
    open(&state, client, &names, cursor, Shape::Multiplexed).await
}

/// A stream of one channel: what an app's own endpoint (like the demo's `/api/prices/stream`)
/// hands its request and channel to.
pub async fn single(request: Request, channel: String) -> Result<Response, ApiError> {
    let (State(state), CurrentUser(user), ClientAddr(addr), ApiQuery(query), headers) = request;
    if query.channels.is_some() {
        let err =
            ApiError::bad_request("channels= is for /api/stream; this endpoint has one channel");
        return Err(refused(&state, Refusal::BadRequest, err));
    }
    let cursor =
        cursor(&headers, &query).map_err(|err| refused(&state, Refusal::BadRequest, err))?;
    let client = Client {
        user: user.as_deref(),
        addr,
    };
    open(&state, client, &[channel], cursor, Shape::Single).await
}

/// A stream refused before the hub saw it (which counts its own refusals): counted too.
fn refused(state: &AppState, why: Refusal, err: ApiError) -> ApiError {
    state.hub.stats().refuse(why);
    err
}

/// The client's resume position (`Last-Event-ID` wins over `?last_event_id=`).
fn cursor(headers: &HeaderMap, query: &StreamQuery) -> Result<Option<hub::Cursor>, ApiError> {
    sse::resume_cursor(headers, query.last_event_id.as_deref())
        .map_err(|err| ApiError::bad_request(err.to_string()))
}

async fn open(
    state: &AppState,
    client: Client<'_>,
    channels: &[String],
    cursor: Option<hub::Cursor>,
    shape: Shape,
) -> Result<Response, ApiError> {
    if state.stopping.is_cancelled() {
        // Draining (see `crate::shutdown`): the client's retry goes to another instance.
        let err = ApiError::unavailable("this server is shutting down; reconnect in a moment");
        return Err(refused(state, Refusal::Unavailable, err));
    }
    let subscription = state.hub.subscribe(client, channels, cursor).await?;
    let span = tracing::Span::current();
    span.record(
        "connection",
        tracing::field::display(subscription.connection),
    );
    if let Some(user) = client.user {
        span.record("user", user);
    }
    tracing::debug!(channels = channels.len(), "stream opened");
    let hello = Hello {
        connection: auth::connection_token(
            &state.session_key,
            subscription.connection,
            client.user,
        ),
        build: state.config.build_id.clone(),
    };
    Ok(sse::response(
        subscription,
        &hello,
        shape,
        state.shutdown.clone(),
    ))
}
