//! The UI's actions as Leptos server functions: sign in/out, the dashboard snapshot, orders,
//! notifications, jobs. Their bodies run on the server and call the same domain code as the
//! REST endpoints, through the [`host::Host`] the server provides as context (`app` never
//! imports `server`).

use leptos::prelude::*;

use crate::events::{JobStarted, Notification, Order, OrderStatus, Side};
use crate::live::Snapshot;

#[cfg(feature = "ssr")]
pub mod host {
    //! What the server provides to the server functions.

    use std::{future::Future, pin::Pin, sync::Arc};

    use crate::events::{JobStarted, NewOrder, Notification, Order, OrderStatus};
    use crate::live::Snapshot;

    pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send>>;

    /// The server's domain code, as the UI's actions need it. Errors are one-line reasons fit
    /// to show to the user.
    pub trait Host: Send + Sync + 'static {
        /// The signed-in user of a request.
        fn user(&self, headers: &http::HeaderMap) -> Option<String>;
        /// `Set-Cookie` values that sign `user` in, or out for `None`.
        fn session_cookies(&self, user: Option<&str>) -> Result<Vec<http::HeaderValue>, String>;
        fn snapshot(&self, user: Option<String>) -> Pending<Snapshot>;
        fn place_order(&self, user: String, order: NewOrder) -> Pending<Order>;
        fn set_order_status(&self, id: u64, status: OrderStatus) -> Pending<Order>;
        fn notify(
            &self,
            from: String,
            to: String,
            title: String,
            body: String,
        ) -> Pending<Notification>;
        fn start_job(&self, user: String) -> JobStarted;
    }

    pub type SharedHost = Arc<dyn Host>;
}

#[cfg(feature = "ssr")]
fn host() -> Result<(host::SharedHost, Option<String>), ServerFnError> {
    let host = use_context::<host::SharedHost>()
        .ok_or_else(|| ServerFnError::new("server misconfigured: no host in context"))?;
    let user = use_context::<http::request::Parts>().and_then(|parts| host.user(&parts.headers));
    Ok((host, user))
}

#[cfg(feature = "ssr")]
fn signed_in() -> Result<(host::SharedHost, String), ServerFnError> {
    let (host, user) = host()?;
    let user = user.ok_or_else(|| refused("sign in first".into()))?;
    Ok((host, user))
}

/// A refusal the user can act on (bad input, wrong state): 422 with the one-line reason, as
/// the REST endpoints answer; only real failures are 500.
#[cfg(feature = "ssr")]
fn refused(reason: String) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
    }
    ServerFnError::new(reason)
}

#[cfg(feature = "ssr")]
fn set_cookies(user: Option<&str>) -> Result<(), ServerFnError> {
    let (host, _) = host()?;
    let cookies = host.session_cookies(user).map_err(refused)?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    for cookie in cookies {
        response.append_header(http::header::SET_COOKIE, cookie);
    }
    Ok(())
}

/// The dashboard's state for the current user, with the stream URL and resume cursor.
#[server]
pub async fn live_snapshot() -> Result<Snapshot, ServerFnError> {
    let (host, user) = host()?;
    host.snapshot(user).await.map_err(ServerFnError::new)
}

/// Signs in as a demo user.
#[server]
pub async fn sign_in(user: String) -> Result<(), ServerFnError> {
    set_cookies(Some(&user))
}

/// Signs out.
#[server]
pub async fn sign_out() -> Result<(), ServerFnError> {
    set_cookies(None)
}

/// Places an order as the signed-in user.
#[server]
pub async fn place_order(
    symbol: String,
    side: Side,
    quantity: u32,
    price: f64,
) -> Result<Order, ServerFnError> {
    let (host, user) = signed_in()?;
    let order = crate::events::NewOrder {
        symbol,
        side,
        quantity,
        price,
    };
    host.place_order(user, order).await.map_err(refused)
}

/// Fills or cancels an open order.
#[server]
pub async fn set_order_status(id: u64, status: OrderStatus) -> Result<Order, ServerFnError> {
    let (host, _) = signed_in()?;
    host.set_order_status(id, status).await.map_err(refused)
}

/// Sends a notification to `to`.
#[server]
pub async fn send_notification(
    to: String,
    title: String,
    body: String,
) -> Result<Notification, ServerFnError> {
    let (host, from) = signed_in()?;
    host.notify(from, to, title, body).await.map_err(refused)
}

/// Starts a demo job for the signed-in user.
#[server]
pub async fn start_job() -> Result<JobStarted, ServerFnError> {
    let (host, user) = signed_in()?;
    Ok(host.start_job(user))
}

/// Why the action's last run failed, if it did (tracked), without the framework's prefix.
pub fn failure<S>(action: ServerAction<S>) -> Option<String>
where
    S: leptos::server_fn::ServerFn<Error = ServerFnError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    action
        .value()
        .get()
        .and_then(|r| r.err())
        .map(|e| error_text(&e))
}

/// The message of a failed action, without the framework's prefix.
pub fn error_text(err: &ServerFnError) -> String {
    let text = err.to_string();
    text.split_once(": ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(text)
}
