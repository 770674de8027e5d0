//! The demo order book: the domain code behind `POST /api/orders`, `PATCH /api/orders/{id}`
//! (and, later, the UI's server functions). Each change is published on the `orders` channel
//! as `order:created` / `order:updated`.
//!
//! The book is bounded: each user may have [`OrderLimits::open_per_user`] open orders, and
//! settled (filled or cancelled) orders age out past [`OrderLimits::settled_kept`], oldest
//! settlement first. Only an order's owner may fill or cancel it.
//!
//! The book lives in this process; with several instances behind a shared hub backend each
//! would need the book in a shared store too (left for the Redis backend).

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Mutex,
};

pub use app::events::NewOrder;
use app::events::{Order, OrderCreated, OrderStatus, OrderUpdated, channels};
use serde::Deserialize;

use super::now_ms;
use crate::hub::{ConnectionId, Hub, HubError};

/// Body of `PATCH /api/orders/{id}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: OrderStatus,
}

/// Why an order change was refused.
#[derive(Debug)]
pub enum OrderError {
    /// Input that parses but makes no sense (422).
    Invalid(String),
    /// No order with that id (404).
    NotFound(u64),
    /// Someone else's order (403).
    NotYours(u64),
    /// The user has as many open orders as allowed (429).
    TooManyOpen { limit: usize },
    /// The status change is not allowed from the current status (409).
    Conflict(String),
    /// Publishing failed; nothing was changed.
    Hub(HubError),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(reason) | Self::Conflict(reason) => f.write_str(reason),
            Self::NotFound(id) => write!(f, "no order {id}"),
            Self::NotYours(id) => write!(f, "order {id} is not yours to change"),
            Self::TooManyOpen { limit } => write!(
                f,
                "you have {limit} open orders, the most allowed; fill or cancel one first"
            ),
            Self::Hub(err) => write!(f, "{err}"),
        }
    }
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

/// Orders by id, bounded by [`OrderLimits`]. The lock is never held across an await.
pub struct OrderBook {
    limits: OrderLimits,
    book: Mutex<Book>,
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
        Self::new(OrderLimits::default())
    }
}

impl OrderBook {
    pub fn new(limits: OrderLimits) -> Self {
        Self {
            limits,
            book: Mutex::default(),
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
        let order = {
            let mut book = self.lock();
            let open = book.open.get(owner).copied().unwrap_or(0);
            if open >= self.limits.open_per_user {
                return Err(OrderError::TooManyOpen {
                    limit: self.limits.open_per_user,
                });
            }
            book.last_id += 1;
            let order = Order {
                id: book.last_id,
                symbol: new.symbol,
                side: new.side,
                quantity: new.quantity,
                price: (new.price * 100.0).round() / 100.0,
                status: OrderStatus::Open,
                owner: owner.to_string(),
                updated_at_ms: now_ms(),
            };
            book.orders.insert(order.id, order.clone());
            *book.open.entry(owner.to_string()).or_default() += 1;
            order
        };
        let published = hub
            .publish(channels::ORDERS, &OrderCreated(order.clone()))
            .except(except)
            .await;
        if let Err(err) = published {
            // Nothing half-applied: an order nobody heard of is taken back.
            let mut book = self.lock();
            book.orders.remove(&order.id);
            book.close_one(owner);
            return Err(OrderError::Hub(err));
        }
        Ok(order)
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
        let (before, after) = {
            let mut book = self.lock();
            let order = book.orders.get_mut(&id).ok_or(OrderError::NotFound(id))?;
            if order.owner != user {
                return Err(OrderError::NotYours(id));
            }
            if order.status != OrderStatus::Open || change.status == OrderStatus::Open {
                return Err(OrderError::Conflict(
                    format!(
                        "order {id} is {:?}; only open orders can be filled or cancelled",
                        order.status
                    )
                    .to_lowercase(),
                ));
            }
            let before = order.clone();
            order.status = change.status;
            order.updated_at_ms = now_ms();
            let after = order.clone();
            book.close_one(user);
            (before, after)
        };
        let published = hub
            .publish(channels::ORDERS, &OrderUpdated(after.clone()))
            .except(except)
            .await;
        let mut book = self.lock();
        if let Err(err) = published {
            if let Some(order) = book.orders.get_mut(&id) {
                *order = before;
                *book.open.entry(user.to_string()).or_default() += 1;
            }
            return Err(OrderError::Hub(err));
        }
        // Aged out only once the change is announced, so a failed publish can put it back.
        book.settled.push_back(id);
        while book.settled.len() > self.limits.settled_kept {
            if let Some(old) = book.settled.pop_front() {
                book.orders.remove(&old);
            }
        }
        Ok(after)
    }

    /// The newest `n` orders, newest first, and how many the book holds in all.
    pub fn recent(&self, n: usize) -> (Vec<Order>, usize) {
        let book = self.lock();
        let newest = book.orders.values().rev().take(n).cloned().collect();
        (newest, book.orders.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // Each change replaces whole entries, so a poisoned lock is still consistent.
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
mod tests {
    use super::*;
    use app::events::Side;

    fn order(symbol: &str, quantity: u32, price: f64) -> NewOrder {
        NewOrder {
            symbol: symbol.into(),
            side: Side::Buy,
            quantity,
            price,
        }
    }

    /// Bad symbols, quantities and prices are refused with a reason naming the field.
    #[test]
    fn validation_names_the_field() {
        for (bad, field) in [
            (order("acme", 1, 1.0), "symbol"),
            (order("", 1, 1.0), "symbol"),
            (order("TOOLONGSYM", 1, 1.0), "symbol"),
            (order("ACME", 0, 1.0), "quantity"),
            (order("ACME", 2_000_000, 1.0), "quantity"),
            (order("ACME", 1, 0.0), "price"),
            (order("ACME", 1, f64::NAN), "price"),
            (order("ACME", 1, -3.0), "price"),
        ] {
            let err = validate(&bad).unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
        assert!(validate(&order("ACME", 10, 101.5)).is_ok());
    }

    fn hub() -> Hub {
        crate::feeds::test_hub()
    }

    fn settle(status: OrderStatus) -> StatusChange {
        StatusChange { status }
    }

    /// Open orders per user are capped; settled orders age out oldest first, open ones never.
    #[tokio::test]
    async fn the_book_is_bounded() {
        let hub = hub();
        let book = OrderBook::new(OrderLimits {
            open_per_user: 3,
            settled_kept: 2,
        });
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(
                book.create(&hub, "alice", order("ACME", 1, 1.0), None)
                    .await
                    .unwrap()
                    .id,
            );
        }
        assert!(matches!(
            book.create(&hub, "alice", order("ACME", 1, 1.0), None)
                .await,
            Err(OrderError::TooManyOpen { limit: 3 })
        ));
        book.create(&hub, "bob", order("ACME", 1, 1.0), None)
            .await
            .unwrap();
        for &id in &ids {
            book.update(&hub, "alice", id, settle(OrderStatus::Filled), None)
                .await
                .unwrap();
        }
        let (shown, total) = book.recent(100);
        assert_eq!(total, 3, "bob's open order and the two newest settled ones");
        assert!(
            !shown.iter().any(|o| o.id == ids[0]),
            "the oldest settled aged out"
        );
        // Settling freed alice's slots.
        for _ in 0..3 {
            book.create(&hub, "alice", order("ACME", 1, 1.0), None)
                .await
                .unwrap();
        }
    }

    /// Only the owner may fill or cancel an order; a refusal changes nothing.
    #[tokio::test]
    async fn only_the_owner_changes_an_order() {
        let hub = hub();
        let book = OrderBook::default();
        let id = book
            .create(&hub, "alice", order("ACME", 1, 1.0), None)
            .await
            .unwrap()
            .id;
        assert!(matches!(
            book.update(&hub, "bob", id, settle(OrderStatus::Cancelled), None)
                .await,
            Err(OrderError::NotYours(_))
        ));
        assert_eq!(book.recent(1).0[0].status, OrderStatus::Open);
        book.update(&hub, "alice", id, settle(OrderStatus::Cancelled), None)
            .await
            .unwrap();
    }
}
