//! The demo order book: the domain code behind `POST /api/orders`, `PATCH /api/orders/{id}`
//! (and, later, the UI's server functions). Each change is published on the `orders` channel
//! as `order:created` / `order:updated`.
//!
//! The book is bounded: each user may have [`OrderLimits::open_per_user`] open orders, and
//! settled (filled or cancelled) orders age out past [`OrderLimits::settled_kept`], oldest
//! settlement first. Only an order's owner may fill or cancel it.
//!
//! The book lives in this process, or with `REDIS_URL` in Redis, where each change is one
//! Lua script (the checks that need the order's fields run here, and the write happens only
//! if the order is still what was read).

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Mutex,
};

pub use app::events::NewOrder;
use app::events::{Order, OrderCreated, OrderStatus, OrderUpdated, channels};
use serde::Deserialize;

mod scripts;

use scripts::{CREATE, RECENT, REMOVE, SETTLE, UNSETTLE};

use super::now_ms;
use crate::cluster::Shared;
use leptos_live::hub::{BackendError, ConnectionId, Hub, HubError};

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

/// Orders by id, bounded by [`OrderLimits`]: in this process, or in Redis when instances
/// share it (an order placed through one instance is settled through another and listed by
/// all). The local lock is never held across an await.
pub struct OrderBook {
    limits: OrderLimits,
    book: Mutex<Book>,
    store: Option<Shared>,
}

#[derive(Default)]
struct Book {
    last_id: u64,
    orders: BTreeMap<u64, Order>,
    /// Open orders per owner, for the per-user limit.
    open: HashMap<String, usize>,
    /// Settled orders, in the order they settled: the front ages out first.
    settled: VecDeque<u64>,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self::new(OrderLimits::default(), None)
    }
}

impl OrderBook {
    pub fn new(limits: OrderLimits, store: Option<Shared>) -> Self {
        Self {
            limits,
            book: Mutex::default(),
            store,
        }
    }

    /// Validates, stores and announces a new order placed by `owner`.
    pub async fn create(
        &self,
        hub: &Hub,
        owner: &str,
        new: NewOrder,
        except: Option<ConnectionId>,
    ) -> Result<Order, OrderError> {
        validate(&new)?;
        let order = |id| Order {
            id,
            symbol: new.symbol.clone(),
            side: new.side,
            quantity: new.quantity,
            price: (new.price * 100.0).round() / 100.0,
            status: OrderStatus::Open,
            owner: owner.to_string(),
            updated_at_ms: now_ms(),
        };
        let too_many = OrderError::TooManyOpen {
            limit: self.limits.open_per_user,
        };
        let order = match &self.store {
            None => {
                let mut book = self.lock();
                let open = book.open.get(owner).copied().unwrap_or(0);
                if open >= self.limits.open_per_user {
                    return Err(too_many);
                }
                book.last_id += 1;
                let order = order(book.last_id);
                book.orders.insert(order.id, order.clone());
                *book.open.entry(owner.to_string()).or_default() += 1;
                order
            }
            Some(store) => {
                let id: u64 = ::redis::cmd("INCR")
                    .arg(store.key("orders:last-id"))
                    .query_async(&mut store.con())
                    .await?;
                let order = order(id);
                let keys = store.order_keys();
                let created: i64 = CREATE
                    .key(keys.orders)
                    .key(keys.index)
                    .key(keys.open)
                    .arg(id)
                    .arg(json(&order))
                    .arg(owner)
                    .arg(self.limits.open_per_user)
                    .invoke_async(&mut store.con())
                    .await?;
                if created == 0 {
                    return Err(too_many);
                }
                order
            }
        };
        let published = hub
            .publish(channels::ORDERS, &OrderCreated(order.clone()))
            .except(except)
            .await;
        if let Err(err) = published {
            // Nothing half-applied: an order nobody heard of is taken back.
            self.take_back(&order).await;
            return Err(OrderError::Hub(err));
        }
        Ok(order)
    }

    /// Removes `order`, just created, whose announcement failed (best effort in Redis: the
    /// announcement failing usually means Redis is away).
    async fn take_back(&self, order: &Order) {
        match &self.store {
            None => {
                let mut book = self.lock();
                book.orders.remove(&order.id);
                book.close_one(&order.owner);
            }
            Some(store) => {
                let keys = store.order_keys();
                let removed: Result<i64, _> = REMOVE
                    .key(keys.orders)
                    .key(keys.index)
                    .key(keys.open)
                    .arg(order.id)
                    .arg(&order.owner)
                    .invoke_async(&mut store.con())
                    .await;
                if let Err(err) = removed {
                    tracing::warn!(order = order.id, error = %err, "an unannounced order stays");
                }
            }
        }
    }

    /// Moves `user`'s open order to `filled` or `cancelled` and announces it.
    pub async fn update(
        &self,
        hub: &Hub,
        user: &str,
        id: u64,
        change: StatusChange,
        except: Option<ConnectionId>,
    ) -> Result<Order, OrderError> {
        let (before, after) = match &self.store {
            None => {
                let mut book = self.lock();
                let order = book.orders.get_mut(&id).ok_or(OrderError::NotFound(id))?;
                let after = settled(order, user, change.status)?;
                let before = std::mem::replace(order, after.clone());
                book.close_one(user);
                (before, after)
            }
            Some(store) => self.settle_shared(store, user, id, change.status).await?,
        };
        let published = hub
            .publish(channels::ORDERS, &OrderUpdated(after.clone()))
            .except(except)
            .await;
        if let Err(err) = published {
            self.unsettle(&before, &after).await;
            return Err(OrderError::Hub(err));
        }
        if self.store.is_none() {
            // Aged out only once the change is announced, so a failed publish can put it back.
            let mut book = self.lock();
            book.settled.push_back(id);
            while book.settled.len() > self.limits.settled_kept {
                if let Some(old) = book.settled.pop_front() {
                    book.orders.remove(&old);
                }
            }
        }
        Ok(after)
    }

    /// Settles order `id` in Redis: read, checked here, then written only if nobody changed it
    /// in between (compare and set; retried a few times under contention).
    async fn settle_shared(
        &self,
        store: &Shared,
        user: &str,
        id: u64,
        status: OrderStatus,
    ) -> Result<(Order, Order), OrderError> {
        let keys = store.order_keys();
        for _ in 0..8 {
            let stored: Option<String> = ::redis::cmd("HGET")
                .arg(&keys.orders)
                .arg(id)
                .query_async(&mut store.con())
                .await?;
            let stored = stored.ok_or(OrderError::NotFound(id))?;
            let mut before: Order = serde_json::from_str(&stored)
                .map_err(|e| OrderError::Invalid(format!("order {id} is unreadable: {e}")))?;
            let after = settled(&mut before, user, status)?;
            let swapped: i64 = SETTLE
                .key(&keys.orders)
                .key(&keys.index)
                .key(&keys.open)
                .key(&keys.settled)
                .arg(id)
                .arg(&stored)
                .arg(json(&after))
                .arg(user)
                .arg(self.limits.settled_kept)
                .invoke_async(&mut store.con())
                .await?;
            if swapped == 1 {
                return Ok((before, after));
            }
        }
        Err(OrderError::Conflict(format!(
            "order {id} is changing; try again"
        )))
    }

    /// Puts `before` back after announcing `after` failed.
    async fn unsettle(&self, before: &Order, after: &Order) {
        match &self.store {
            None => {
                let mut book = self.lock();
                if let Some(order) = book.orders.get_mut(&before.id) {
                    *order = before.clone();
                    *book.open.entry(before.owner.clone()).or_default() += 1;
                }
            }
            Some(store) => {
                let keys = store.order_keys();
                let restored: Result<i64, _> = UNSETTLE
                    .key(keys.orders)
                    .key(keys.open)
                    .key(keys.settled)
                    .arg(before.id)
                    .arg(json(after))
                    .arg(json(before))
                    .arg(&before.owner)
                    .invoke_async(&mut store.con())
                    .await;
                if let Err(err) = restored {
                    tracing::warn!(order = before.id, error = %err, "an unannounced change stays");
                }
            }
        }
    }

    /// The newest `n` orders, newest first, and how many the book holds in all.
    pub async fn recent(&self, n: usize) -> Result<(Vec<Order>, usize), HubError> {
        let Some(store) = &self.store else {
            let book = self.lock();
            let newest = book.orders.values().rev().take(n).cloned().collect();
            return Ok((newest, book.orders.len()));
        };
        let keys = store.order_keys();
        let reply: Vec<String> = RECENT
            .key(keys.orders)
            .key(keys.index)
            .arg(n)
            .invoke_async(&mut store.con())
            .await
            .map_err(backend)?;
        let mut reply = reply.into_iter();
        let total = reply.next().and_then(|t| t.parse().ok()).unwrap_or(0);
        let orders = reply
            .filter_map(|j| serde_json::from_str(&j).ok())
            .collect();
        Ok((orders, total))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // Each change replaces whole entries, so a poisoned lock is still consistent.
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `order` as `user` moves it to `status`, if that is allowed.
fn settled(order: &mut Order, user: &str, status: OrderStatus) -> Result<Order, OrderError> {
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
        updated_at_ms: now_ms(),
        ..order.clone()
    })
}

fn json(order: &Order) -> String {
    serde_json::to_string(order).expect("an order serialises")
}

fn backend(err: ::redis::RedisError) -> HubError {
    HubError::Backend(BackendError(format!("redis orders: {err}")))
}

impl From<::redis::RedisError> for OrderError {
    fn from(err: ::redis::RedisError) -> Self {
        Self::Hub(backend(err))
    }
}

impl Book {
    /// One fewer open order for `owner`.
    fn close_one(&mut self, owner: &str) {
        if let Some(n) = self.open.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(owner);
            }
        }
    }
}

#[cfg(test)]
mod tests;
