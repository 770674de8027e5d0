//! The UI's actions as Leptos server functions (sign in and out here; the demo's in
//! `demo::actions`, the example collection's in `tasks`), how islands call them ([`call`],
//! [`action`]) and how their bodies reach the server ([`server`]: the signed-in user, live
//! collections, refusals with their status). The server provides a [`host::Host`] as context
//! (`app` never imports `server`).

use leptos::{
    prelude::*,
    server_fn::{
        Bytes, ContentType, Decodes, Encodes, Format, FormatType,
        codec::Post,
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

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

    /// An answer of the server's domain code, later.
    pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ActionError>> + Send>>;

    /// What the server tells the UI's actions about a request: who is signed in, and how to
    /// sign someone in or out. Errors carry the status and the one-line reason the REST
    /// endpoints would answer with.
    pub trait Host: Send + Sync + 'static {
        /// The signed-in user of a request.
        fn user(&self, request: &http::request::Parts) -> Option<String>;
        /// Ends the request's session and, for `Some(user)`, opens a new one for them: the
        /// `Set-Cookie` values that tell the browser.
        fn switch_session(
            &self,
            request: &http::request::Parts,
            user: Option<String>,
        ) -> Pending<Vec<http::HeaderValue>>;
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
    let user = use_context::<http::request::Parts>().and_then(|parts| host.user(&parts));
    Ok((host, user))
}

#[cfg(feature = "ssr")]
fn signed_in() -> Result<(host::SharedHost, String), ActionError> {
    let (host, user) = host()?;
    let user = user.ok_or_else(|| refused(ActionError::new(401, "sign in first")))?;
    Ok((host, user))
}

/// Answers the action with `err`'s status (the framework would say 500 for every error); a
/// 429 or 503 also says when to come back (`Retry-After`), as every refusal of the REST
/// boundary does.
#[cfg(feature = "ssr")]
pub fn refused(err: ActionError) -> ActionError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        answer_with(&response, &err);
    }
    err
}

/// `err`'s status (and `Retry-After` where it applies) on the action's response.
#[cfg(feature = "ssr")]
fn answer_with(response: &leptos_axum::ResponseOptions, err: &ActionError) {
    let Ok(status) = http::StatusCode::from_u16(err.status) else {
        return;
    };
    response.set_status(status);
    if matches!(status.as_u16(), 429 | 503) {
        response.insert_header(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
}

/// What a 429 or 503 of an action tells the client to wait, in seconds (as the REST
/// boundary's `Retry-After`).
#[cfg(feature = "ssr")]
const RETRY_AFTER_SECS: &str = "5";

impl From<std::convert::Infallible> for ActionError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

#[cfg(feature = "ssr")]
pub mod server {
    //! For the bodies of server functions: who is asking, the server's live collections, and
    //! refusals answered with their own status.

    use std::sync::Arc;

    use leptos::prelude::use_context;
    use leptos_live::{
        collection::{Collection, CollectionError, Item, Rules},
        hub::{Hub, HubError},
    };

    use super::ActionError;
    pub use super::refused;

    /// The signed-in user of the request, if any.
    pub fn user() -> Result<Option<String>, ActionError> {
        super::host().map(|(_, user)| user)
    }

    /// The signed-in user of the request, or a 401 refusal.
    pub fn signed_in() -> Result<String, ActionError> {
        super::signed_in().map(|(_, user)| user)
    }

    /// The live collection of `T` on `channel` of the server's hub (provided as context).
    pub fn collection<T: Item>(channel: &str, rules: Rules) -> Result<Collection<T>, ActionError> {
        let hub = use_context::<Arc<Hub>>().ok_or_else(|| {
            refused(ActionError::new(
                500,
                "server misconfigured: no hub in context",
            ))
        })?;
        Ok(Collection::new(hub, channel, rules))
    }

    /// A collection's refusal, answered with its status: the rule's own, 404 for a missing
    /// item, 429 over the owner's limit, 409 while it keeps changing, 503 when the store is
    /// away (the cause stays in the server's log).
    pub fn refusal<E: Into<ActionError>>(err: CollectionError<E>) -> ActionError {
        refused(match err {
            CollectionError::Refused(err) => err.into(),
            CollectionError::NotFound(id) => ActionError::new(404, format!("no item {id}")),
            CollectionError::OverLimit { limit } => ActionError::new(
                429,
                format!("you have {limit} open, the most allowed; finish one first"),
            ),
            CollectionError::Busy(id) => {
                ActionError::new(409, format!("item {id} is changing; try again"))
            }
            CollectionError::Moved(_) => ActionError::new(500, super::SERVER_FAILED),
            CollectionError::KeyUsed(id) => ActionError::new(
                409,
                format!("this key made item {id}, which is not there (yet); try again"),
            ),
            CollectionError::Hub(err) => return hub_refusal(err),
        })
    }

    /// The hub's failure as a refusal: 503 when its backend is away, 500 otherwise.
    pub fn hub_refusal(err: HubError) -> ActionError {
        leptos::logging::warn!("live collection: {err}");
        let status = if matches!(err, HubError::Backend(_)) {
            503
        } else {
            500
        };
        refused(ActionError::new(
            status,
            "the server cannot store this right now; try again",
        ))
    }
}

#[cfg(feature = "ssr")]
async fn switch_session(user: Option<String>) -> Result<(), ActionError> {
    let (host, _) = host()?;
    let (Some(request), Some(response)) = (
        use_context::<http::request::Parts>(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return Err(refused(ActionError::new(
            500,
            "server misconfigured: no request in context",
        )));
    };
    // The context is read before the wait: after it, only what was taken along is at hand.
    let cookies = host
        .switch_session(&request, user)
        .await
        .inspect_err(|err| answer_with(&response, err))?;
    for cookie in cookies {
        response.append_header(http::header::SET_COOKIE, cookie);
    }
    Ok(())
}

/// Signs in as a demo user.
#[server(output = JsonResult)]
pub async fn sign_in(user: String) -> Result<(), ActionError> {
    switch_session(Some(user)).await
}

/// Signs out.
#[server(output = JsonResult)]
pub async fn sign_out() -> Result<(), ActionError> {
    switch_session(None).await
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
        let text = post(S::PATH, encode(&input)?).await?;
        decode(&text)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        input.run_body().await
    }
}

/// A server function the UI runs on a click (see [`call`]): dispatch it, and read whether it is
/// running and how its last run went. Under every one is the same reactive action over the
/// encoded request and the answer's text, whatever the function's types: its answer is decoded
/// when read. (An `Action` per server function made the framework's action and future
/// machinery once per type: ~1 KB of brotli wasm each.)
pub struct UiAction<S> {
    runs: Action<Encoded, Result<String, ActionError>>,
    function: std::marker::PhantomData<fn() -> S>,
}

impl<S> Clone for UiAction<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for UiAction<S> {}

/// A server function's path and its arguments, encoded as its request's body.
#[derive(Clone)]
struct Encoded {
    path: &'static str,
    body: Result<String, ActionError>,
}

/// An action that runs server function `S` (see [`call`]) when dispatched.
pub fn action<S>() -> UiAction<S>
where
    S: leptos::server_fn::ServerFn<Error = ActionError> + Serialize,
    S::Output: DeserializeOwned,
{
    UiAction {
        runs: runs(),
        function: std::marker::PhantomData,
    }
}

/// The one action type under every [`UiAction`].
fn runs() -> Action<Encoded, Result<String, ActionError>> {
    Action::new_local(|request: &Encoded| {
        let Encoded { path, body } = request.clone();
        async move { post(path, body?).await }
    })
}

impl<S> UiAction<S>
where
    S: leptos::server_fn::ServerFn<Error = ActionError> + Serialize,
    S::Output: DeserializeOwned,
{
    /// Runs the function with `input`.
    pub fn dispatch(&self, input: S) {
        let body = encode(&input);
        self.runs.dispatch(Encoded {
            path: S::PATH,
            body,
        });
    }

    /// How the last run went, once it is over (tracked).
    pub fn value(&self) -> Option<Result<S::Output, ActionError>> {
        self.runs
            .value()
            .get()
            .map(|answer| answer.and_then(|text| decode(&text)))
    }

    /// Whether a run is under way (tracked).
    pub fn pending(&self) -> Memo<bool> {
        self.runs.pending()
    }

    /// Why the last run failed, if it did (tracked).
    pub fn failure(&self) -> Option<String> {
        refusal_of(self.runs)
    }
}

fn refusal_of(runs: Action<Encoded, Result<String, ActionError>>) -> Option<String> {
    runs.value().with(|v| {
        v.as_ref()
            .and_then(|r| r.as_ref().err())
            .map(|e| e.reason.clone())
    })
}

/// Why the action's last run failed, if it did (tracked).
pub fn failure<S>(action: UiAction<S>) -> Option<String>
where
    S: leptos::server_fn::ServerFn<Error = ActionError> + Serialize,
    S::Output: DeserializeOwned,
{
    action.failure()
}

/// A server function's arguments as its request body (URL-encoded, as the framework sends
/// them).
fn encode<I: Serialize>(input: &I) -> Result<String, ActionError> {
    #[cfg(feature = "hydrate")]
    return serde_qs::to_string(input).map_err(|_| ActionError::new(400, UNREADABLE));
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = input;
        Err(ActionError::new(500, SERVER_FAILED))
    }
}

/// A success's answer, read as the function's output (one that does not read is the
/// server's fault).
fn decode<O: DeserializeOwned>(text: &str) -> Result<O, ActionError> {
    serde_json::from_str(text).map_err(|_| ActionError::new(500, SERVER_FAILED))
}

/// Sends one server function's request: in the browser, the text of its success or its
/// refusal. On the server, actions are never dispatched (islands run in the browser only).
async fn post(path: &str, body: String) -> Result<String, ActionError> {
    #[cfg(feature = "hydrate")]
    {
        browser::post(path, body).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, body);
        Err(ActionError::new(500, SERVER_FAILED))
    }
}

const UNREACHABLE: &str = "could not reach the server; check the connection and try again";
const UNREADABLE: &str = "the form could not be read; reload the page and try again";
const SERVER_FAILED: &str = "something went wrong on the server; try again";

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Headers, RequestInit, Response};

    use super::{ActionError, SERVER_FAILED, UNREACHABLE};

    /// The answer's body when it is a success; its refusal otherwise.
    pub async fn post(path: &str, body: String) -> Result<String, ActionError> {
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
            return Ok(text);
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
