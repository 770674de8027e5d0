//! The UI's actions as Leptos server functions: sign in/out, the dashboard snapshot, orders,
//! notifications, jobs. Their bodies run on the server and call the same domain code as the
//! REST endpoints, through the [`host::Host`] the server provides as context (`app` never
//! imports `server`).

use leptos::{
    prelude::*,
    server_fn::{
        Bytes, ContentType, Decodes, Encodes, Format, FormatType,
        codec::Post,
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::events::Snapshot;
use crate::events::{JobStarted, Notification, Order, OrderStatus, Side};

/// Why a UI action failed: the HTTP status it was answered with and a one-line reason that
/// says what to do, the same as the REST boundary's `{"error": …}` (causes stay in the
/// server's log). It travels as that same JSON, so a refusal from a middleware (413 for an
/// oversized body, 403 cross-site) reads the same as one from the action itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{reason}")]
pub struct ActionError {
    /// The HTTP status (0: the server could not be reached).
    #[serde(default)]
    pub status: u16,
    #[serde(rename = "error")]
    pub reason: String,
}

impl ActionError {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

impl FromServerFnError for ActionError {
    type Encoder = TextJson;

    /// Failures of the framework rather than of the action: say which side it was (on the
    /// server, with that status rather than the framework's 500 for everything).
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let err = match value {
            ServerFnErrorErr::Request(_) => Self::new(0, UNREACHABLE),
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::new(400, UNREADABLE)
            }
            _ => Self::new(500, SERVER_FAILED),
        };
        #[cfg(feature = "ssr")]
        let err = refused(err);
        err
    }
}

/// JSON like the framework's `Json` encoding, but decoded from text (`serde_json::from_str`):
/// the bundle already needs that reader for hydration and the stream, and a second, byte-slice
/// reader per result type costs ~9 KB of brotli wasm.
pub struct TextJson;

/// Results of the server functions: a `POST` answered with [`TextJson`].
pub type JsonResult = Post<TextJson>;

impl ContentType for TextJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for TextJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for TextJson {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for TextJson {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(feature = "ssr")]
pub mod host {
    //! What the server provides to the server functions.

    use std::{future::Future, pin::Pin, sync::Arc};

    use super::ActionError;
    use crate::events::Snapshot;
    use crate::events::{JobStarted, NewOrder, Notification, Order, OrderStatus};

    pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ActionError>> + Send>>;

    /// The server's domain code, as the UI's actions need it. Errors carry the status and the
    /// one-line reason the REST endpoints would answer with.
    pub trait Host: Send + Sync + 'static {
        /// The signed-in user of a request.
        fn user(&self, headers: &http::HeaderMap) -> Option<String>;
        /// `Set-Cookie` values that sign `user` in, or out for `None`.
        fn session_cookies(
            &self,
            user: Option<&str>,
        ) -> Result<Vec<http::HeaderValue>, ActionError>;
        fn snapshot(&self, user: Option<String>) -> Pending<Snapshot>;
        fn place_order(&self, user: String, order: NewOrder) -> Pending<Order>;
        fn set_order_status(&self, user: String, id: u64, status: OrderStatus) -> Pending<Order>;
        fn notify(
            &self,
            from: String,
            to: String,
            title: String,
            body: String,
        ) -> Pending<Notification>;
        fn start_job(&self, user: String) -> Pending<JobStarted>;
    }

    pub type SharedHost = Arc<dyn Host>;
}

#[cfg(feature = "ssr")]
fn host() -> Result<(host::SharedHost, Option<String>), ActionError> {
    let host = use_context::<host::SharedHost>().ok_or_else(|| {
        // A wiring mistake in the server, not the user's: logged there, generic here.
        refused(ActionError::new(
            500,
            "server misconfigured: no host in context",
        ))
    })?;
    let user = use_context::<http::request::Parts>().and_then(|parts| host.user(&parts.headers));
    Ok((host, user))
}

#[cfg(feature = "ssr")]
fn signed_in() -> Result<(host::SharedHost, String), ActionError> {
    let (host, user) = host()?;
    let user = user.ok_or_else(|| refused(ActionError::new(401, "sign in first")))?;
    Ok((host, user))
}

/// Answers the action with `err`'s status (the framework would say 500 for every error).
#[cfg(feature = "ssr")]
fn refused(err: ActionError) -> ActionError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(err.status)
    {
        response.set_status(status);
    }
    err
}

#[cfg(feature = "ssr")]
fn set_cookies(user: Option<&str>) -> Result<(), ActionError> {
    let (host, _) = host()?;
    let cookies = host.session_cookies(user).map_err(refused)?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        for cookie in cookies {
            response.append_header(http::header::SET_COOKIE, cookie);
        }
    }
    Ok(())
}

/// The dashboard's state for the current user, with the stream URL and resume cursor.
#[server(output = JsonResult)]
pub async fn live_snapshot() -> Result<Snapshot, ActionError> {
    let (host, user) = host()?;
    host.snapshot(user).await.map_err(refused)
}

/// Signs in as a demo user.
#[server(output = JsonResult)]
pub async fn sign_in(user: String) -> Result<(), ActionError> {
    set_cookies(Some(&user))
}

/// Signs out.
#[server(output = JsonResult)]
pub async fn sign_out() -> Result<(), ActionError> {
    set_cookies(None)
}

/// Places an order as the signed-in user. Quantity and price arrive as typed: what is not a
/// number fails the same check as any other bad value (422 with the field's rule), and the
/// browser needs no float parsing or formatting for them.
#[server(output = JsonResult)]
pub async fn place_order(
    symbol: String,
    side: Side,
    quantity: String,
    price: String,
) -> Result<Order, ActionError> {
    let (host, user) = signed_in()?;
    let order = crate::events::NewOrder {
        symbol,
        side,
        quantity: quantity.trim().parse().unwrap_or(0),
        price: price.trim().parse().unwrap_or(f64::NAN),
    };
    host.place_order(user, order).await.map_err(refused)
}

/// Fills or cancels one of the signed-in user's open orders.
#[server(output = JsonResult)]
pub async fn set_order_status(id: u64, status: OrderStatus) -> Result<Order, ActionError> {
    let (host, user) = signed_in()?;
    host.set_order_status(user, id, status)
        .await
        .map_err(refused)
}

/// Sends a notification to `to`.
#[server(output = JsonResult)]
pub async fn send_notification(
    to: String,
    title: String,
    body: String,
) -> Result<Notification, ActionError> {
    let (host, from) = signed_in()?;
    host.notify(from, to, title, body).await.map_err(refused)
}

/// Starts a demo job for the signed-in user.
#[server(output = JsonResult)]
pub async fn start_job() -> Result<JobStarted, ActionError> {
    let (host, user) = signed_in()?;
    host.start_job(user).await.map_err(refused)
}

/// Runs server function `S` for the UI. In the browser: one `POST` to its path with its
/// arguments URL-encoded, its answer (or refusal) read as JSON text; the request the
/// framework's client makes, without its machinery for codecs, streams and redirects this app
/// does not use (~8 KB of brotli wasm). On the server: the function's body.
pub async fn call<S>(input: S) -> Result<S::Output, ActionError>
where
    S: leptos::server_fn::ServerFn<Error = ActionError> + Serialize,
    S::Output: DeserializeOwned,
{
    #[cfg(feature = "hydrate")]
    {
        browser::call(S::PATH, &input).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        input.run_body().await
    }
}

/// An action that runs server function `S` (see [`call`]) when dispatched.
pub fn action<S>() -> Action<S, Result<S::Output, ActionError>>
where
    S: leptos::server_fn::ServerFn<Error = ActionError> + Serialize + Clone + Send + Sync + 'static,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    Action::new_local(|input: &S| call(input.clone()))
}

/// Why the action's last run failed, if it did (tracked).
pub fn failure<I, O>(action: Action<I, Result<O, ActionError>>) -> Option<String>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    action.value().get().and_then(|r| r.err()).map(|e| e.reason)
}

const UNREACHABLE: &str = "could not reach the server; check the connection and try again";
const UNREADABLE: &str = "the form could not be read; reload the page and try again";
const SERVER_FAILED: &str = "something went wrong on the server; try again";

#[cfg(feature = "hydrate")]
mod browser {
    use serde::{Serialize, de::DeserializeOwned};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Headers, RequestInit, Response};

    use super::{ActionError, SERVER_FAILED, UNREACHABLE, UNREADABLE};

    /// Only this part depends on the types: encoding the arguments, decoding the answer.
    pub async fn call<I: Serialize, O: DeserializeOwned>(
        path: &str,
        input: &I,
    ) -> Result<O, ActionError> {
        let body = serde_qs::to_string(input).map_err(|_| ActionError::new(400, UNREADABLE))?;
        let (status, text) = post(path, body).await?;
        serde_json::from_str(&text).map_err(|_| ActionError::new(status, SERVER_FAILED))
    }

    /// The answer's status and body when it is a success; its refusal otherwise.
    async fn post(path: &str, body: String) -> Result<(u16, String), ActionError> {
        let unreachable = |_| ActionError::new(0, UNREACHABLE);
        let headers = Headers::new().map_err(unreachable)?;
        let _ = headers.set("content-type", "application/x-www-form-urlencoded");
        let _ = headers.set("accept", "application/json");
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&body.into());
        let response: Response =
            JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(path, &init))
                .await
                .map_err(unreachable)?
                .unchecked_into();
        let status = response.status();
        let text = match response.text() {
            Ok(text) => JsFuture::from(text).await.map_err(unreachable)?,
            Err(err) => return Err(unreachable(err)),
        };
        let text = text.as_string().unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok((status, text));
        }
        // `{"status": …, "error": …}` from the action, or `{"error": …}` from a middleware.
        let mut refusal = serde_json::from_str::<ActionError>(&text)
            .unwrap_or_else(|_| ActionError::new(status, SERVER_FAILED));
        if refusal.status == 0 {
            refusal.status = status;
        }
        Err(refusal)
    }
}
