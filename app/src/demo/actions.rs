//! The demo's actions as server functions: the dashboard's snapshot, orders, notifications,
//! jobs. Their bodies call the server's demo code through the [`host::DemoHost`] it provides as
//! context, the same code the REST endpoints use.

use leptos::prelude::*;

use super::events::{JobStarted, Notification, Order, OrderStatus, Side, Snapshot};
#[cfg(feature = "ssr")]
use crate::actions::server;
use crate::actions::{ActionError, JsonResult};

#[cfg(feature = "ssr")]
pub mod host {
    //! What the server provides to the demo's server functions.

    use std::sync::Arc;

    use crate::actions::host::Pending;
    use crate::demo::events::{JobStarted, NewOrder, Notification, Order, OrderStatus, Snapshot};

    /// The server's demo code, as the demo's actions need it. Errors carry the status and the
    /// one-line reason the REST endpoints would answer with.
    pub trait DemoHost: Send + Sync + 'static {
        fn snapshot(&self, user: Option<String>) -> Pending<Snapshot>;
        /// `key`: the client's idempotency key for this order, if it sent one.
        fn place_order(&self, user: String, order: NewOrder, key: Option<String>)
        -> Pending<Order>;
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

    pub type SharedDemoHost = Arc<dyn DemoHost>;
}

/// The demo's host and the request's user, if signed in.
#[cfg(feature = "ssr")]
fn demo_host() -> Result<(host::SharedDemoHost, Option<String>), ActionError> {
    let host = use_context::<host::SharedDemoHost>().ok_or_else(|| {
        server::refused(ActionError::new(
            500,
            "server misconfigured: no demo host in context",
        ))
    })?;
    Ok((host, server::user()?))
}

/// The demo's host and the signed-in user, or a 401 refusal.
#[cfg(feature = "ssr")]
fn signed_in() -> Result<(host::SharedDemoHost, String), ActionError> {
    let (host, _) = demo_host()?;
    Ok((host, server::signed_in()?))
}

/// The dashboard's state for the current user, with the stream URL and resume cursor.
#[server(output = JsonResult)]
pub async fn live_snapshot() -> Result<Snapshot, ActionError> {
    let (host, user) = demo_host()?;
    host.snapshot(user).await.map_err(server::refused)
}

/// Places an order as the signed-in user. Quantity and price arrive as typed: what is not a
/// number fails the same check as any other bad value (422 with the field's rule), and the
/// browser needs no float parsing or formatting for them. `key` (the form's, new for each
/// order) makes a retry of the same order place it once.
#[server(output = JsonResult)]
pub async fn place_order(
    symbol: String,
    side: Side,
    quantity: String,
    price: String,
    #[server(default)] key: Option<String>,
) -> Result<Order, ActionError> {
    let (host, user) = signed_in()?;
    let order = super::events::NewOrder {
        symbol,
        side,
        quantity: quantity.trim().parse().unwrap_or(0),
        price: price.trim().parse().unwrap_or(f64::NAN),
    };
    let key = key.filter(|key| !key.is_empty());
    host.place_order(user, order, key)
        .await
        .map_err(server::refused)
}

/// Fills or cancels one of the signed-in user's open orders.
#[server(output = JsonResult)]
pub async fn set_order_status(id: u64, status: OrderStatus) -> Result<Order, ActionError> {
    let (host, user) = signed_in()?;
    host.set_order_status(user, id, status)
        .await
        .map_err(server::refused)
}

/// Sends a notification to `to`.
#[server(output = JsonResult)]
pub async fn send_notification(
    to: String,
    title: String,
    body: String,
) -> Result<Notification, ActionError> {
    let (host, from) = signed_in()?;
    host.notify(from, to, title, body)
        .await
        .map_err(server::refused)
}

/// Starts a demo job for the signed-in user.
#[server(output = JsonResult)]
pub async fn start_job() -> Result<JobStarted, ActionError> {
    let (host, user) = signed_in()?;
    host.start_job(user).await.map_err(server::refused)
}
