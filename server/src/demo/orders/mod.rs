//! The demo order book: the domain code behind `POST /api/orders`, `PATCH /api/orders/{id}`
//! (and, later, the UI's server functions). Each change is published on the `orders` channel
//! as `order:created` / `order:updated`.
//!
//! The book is bounded: each user may have [`OrderLimits::open_per_user`] open orders, and
//! settled (filled or cancelled) orders age out past [`OrderLimits::settled_kept`], oldest
//! settlement first. Only an order's owner may fill or cancel it.
//!
//! The book is a live collection of the engine's (`leptos_live::collection`): it keeps the
//! orders where the hub keeps its channels (in this process, or with `REDIS_URL` in Redis),
//! and the rules here run on each order as stored, written only if nobody changed it since.

use std::sync::Arc;

pub use app::demo::events::NewOrder;
use app::demo::events::{Order, OrderStatus, channels};
use serde::Deserialize;

use crate::clock::now_ms;
use leptos_live::{
    collection::{Collection, CollectionError, Rules},
    hub::{ConnectionId, Hub, HubError},
};

/// Body of `PATCH /api/orders/{id}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: OrderStatus,
}

/// Why an order change was refused.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Input that parses but makes no sense (422).
    #[error("{0}")]
    Invalid(String),
    /// No order with that id (404).
    #[error("no order {0}")]
    NotFound(u64),
    /// Someone else's order (403).
    #[error("order {0} is not yours to change")]
    NotYours(u64),
    /// The user has as many open orders as allowed (429).
    #[error("you have {limit} open orders, the most allowed; fill or cancel one first")]
    TooManyOpen { limit: usize },
    /// The status change is not allowed from the current status (409).
    #[error("{0}")]
    Conflict(String),
    /// Publishing failed; nothing was changed.
    #[error(transparent)]
    Hub(HubError),
}

/// Checks an order's fields; the reason names the field.
fn validate(new: &NewOrder) -> Result<(), OrderError> {
    let symbol_ok =
        (1..=8).contains(&new.symbol.len()) && new.symbol.bytes().all(|b| b.is_ascii_uppercase());
    if !symbol_ok {
        return Err(OrderError::Invalid(
            "symbol: 1 to 8 capital letters, e.g. ACME".into(),
        ));
    }
    if !(1..=1_000_000).contains(&new.quantity) {
        return Err(OrderError::Invalid(
            "quantity: a whole number from 1 to 1000000".into(),
        ));
    }
    if !(new.price.is_finite() && new.price > 0.0 && new.price <= 1e9) {
        return Err(OrderError::Invalid(
            "price: a positive number up to 1e9".into(),
        ));
    }
    Ok(())
}

/// The longest `Idempotency-Key`.
pub const MAX_KEY_LEN: usize = 128;

/// How big the book may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderLimits {
    /// Open orders one user may have at once (`MAX_OPEN_ORDERS_PER_USER`).
    pub open_per_user: usize,
    /// Filled and cancelled orders kept, newest settlements first (`SETTLED_ORDERS_KEPT`).
    pub settled_kept: usize,
}

impl Default for OrderLimits {
    fn default() -> Self {
        Self {
            open_per_user: 100,
            settled_kept: 200,
        }
    }
}

/// Orders by id, bounded by [`OrderLimits`]: a live collection (`leptos_live::collection`),
/// so in this process or, with the Redis hub, in Redis, where an order placed through one
/// instance is settled through another and listed by all.
pub struct OrderBook {
    orders: Collection<Order>,
}

impl OrderBook {
    /// The book announced on `orders` of `hub`.
    pub fn new(hub: Arc<Hub>, limits: OrderLimits) -> Self {
        let rules = Rules {
            active_per_owner: limits.open_per_user,
            retired_kept: limits.settled_kept,
        };
        Self {
            orders: Collection::new(hub, channels::ORDERS, rules),
        }
    }

    /// Validates, stores and announces a new order placed by `owner`.
    pub async fn create(
        &self,
        owner: &str,
        new: NewOrder,
        except: Option<ConnectionId>,
    ) -> Result<Order, OrderError> {
        validate(&new)?;
        let order = placed(owner, &new);
        self.orders.create(order, except).await.map_err(refusal)
    }

    /// Like [`create`](Self::create), once per `key` of `owner` (an `Idempotency-Key`): the
    /// same key again answers with the order it placed first, whatever the body says.
    pub async fn create_once(
        &self,
        owner: &str,
        key: &str,
        new: NewOrder,
        except: Option<ConnectionId>,
    ) -> Result<Order, OrderError> {
        if !(1..=MAX_KEY_LEN).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OrderError::Invalid(format!(
                "Idempotency-Key: 1 to {MAX_KEY_LEN} visible ASCII characters"
            )));
        }
        validate(&new)?;
        let order = placed(owner, &new);
        self.orders
            .create_once(&format!("{owner}:{key}"), order, except)
            .await
            .map_err(refusal)
    }

    /// Moves `user`'s open order to `filled` or `cancelled` and announces it.
    pub async fn update(
        &self,
        user: &str,
        id: u64,
        change: StatusChange,
        except: Option<ConnectionId>,
    ) -> Result<Order, OrderError> {
        self.orders
            .update(id, except, |order| settled(order, user, change.status))
            .await
            .map_err(refusal)
    }

    /// The newest `n` orders, newest first, and how many the book holds in all.
    pub async fn recent(&self, n: usize) -> Result<(Vec<Order>, usize), HubError> {
        self.orders.recent(n).await
    }
}

/// The collection's refusals in the book's words.
fn refusal<E: Into<OrderError>>(err: CollectionError<E>) -> OrderError {
    match err {
        CollectionError::Refused(err) => err.into(),
        CollectionError::NotFound(id) => OrderError::NotFound(id),
        CollectionError::OverLimit { limit } => OrderError::TooManyOpen { limit },
        CollectionError::Busy(id) => {
            OrderError::Conflict(format!("order {id} is changing; try again"))
        }
        CollectionError::Moved(id) => OrderError::Invalid(format!("order {id} cannot move")),
        CollectionError::KeyUsed(id) => OrderError::Conflict(format!(
            "this Idempotency-Key placed order {id}, which is not there (yet); use a new key for a new order"
        )),
        CollectionError::Hub(err) => OrderError::Hub(err),
    }
}

/// The open order `new` of `owner`, given its id.
fn placed<'a>(owner: &'a str, new: &'a NewOrder) -> impl FnOnce(u64) -> Order + 'a {
    move |id| Order {
        id,
        symbol: new.symbol.clone(),
        side: new.side,
        quantity: new.quantity,
        price: (new.price * 100.0).round() / 100.0,
        status: OrderStatus::Open,
        owner: owner.to_string(),
        placed_at_ms: now_ms(),
        updated_at_ms: now_ms(),
    }
}

/// `order` as `user` moves it to `status`, if that is allowed.
fn settled(order: &Order, user: &str, status: OrderStatus) -> Result<Order, OrderError> {
    let id = order.id;
    if order.owner != user {
        return Err(OrderError::NotYours(id));
    }
    if order.status != OrderStatus::Open || status == OrderStatus::Open {
        return Err(OrderError::Conflict(
            format!(
                "order {id} is {:?}; only open orders can be filled or cancelled",
                order.status
            )
            .to_lowercase(),
        ));
    }
    Ok(Order {
        status,
        // The version: later than the open order's, even within its millisecond.
        updated_at_ms: now_ms().max(order.updated_at_ms + 1),
        ..order.clone()
    })
}

impl From<std::convert::Infallible> for OrderError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

#[cfg(test)]
mod tests;
