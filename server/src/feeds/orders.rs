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
    sync::{LazyLock, Mutex},
};

pub use app::events::NewOrder;
use app::events::{Order, OrderCreated, OrderStatus, OrderUpdated, channels};
use serde::Deserialize;

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

/// The order book's keys in Redis.
struct OrderKeys {
    /// Hash: id → order JSON.
    orders: String,
    /// Sorted set of ids, for "newest first".
    index: String,
    /// Hash: owner → open orders.
    open: String,
    /// List of settled ids, oldest settlement first.
    settled: String,
}

impl Shared {
    fn order_keys(&self) -> OrderKeys {
        OrderKeys {
            orders: self.key("orders"),
            index: self.key("orders:index"),
            open: self.key("orders:open"),
            settled: self.key("orders:settled"),
        }
    }
}

/// KEYS: orders, index, open. ARGV: id, JSON, owner, open limit. 0: over the limit.
static CREATE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0') >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 1
",
    )
});

/// KEYS: orders, index, open. ARGV: id, owner.
static REMOVE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[3], ARGV[2], -1)
end
return 1
",
    )
});

/// KEYS: orders, index, open, settled. ARGV: id, JSON before, JSON after, owner, settled
/// kept. 0: the order changed since it was read.
static SETTLE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if redis.call('HINCRBY', KEYS[3], ARGV[4], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[4]) end
redis.call('RPUSH', KEYS[4], ARGV[1])
while redis.call('LLEN', KEYS[4]) > tonumber(ARGV[5]) do
  local old = redis.call('LPOP', KEYS[4])
  redis.call('HDEL', KEYS[1], old)
  redis.call('ZREM', KEYS[2], old)
end
return 1
",
    )
});

/// KEYS: orders, open, settled. ARGV: id, JSON after, JSON before, owner.
static UNSETTLE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
redis.call('LREM', KEYS[3], -1, ARGV[1])
return 1
",
    )
});

/// KEYS: orders, index. ARGV: n. Returns {total, newest n JSONs…}.
static RECENT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local out = {tostring(redis.call('HLEN', KEYS[1]))}
local n = tonumber(ARGV[1])
if n < 1 then return out end
local ids = redis.call('ZREVRANGE', KEYS[2], 0, n - 1)
if #ids == 0 then return out end
for _, order in ipairs(redis.call('HMGET', KEYS[1], unpack(ids))) do
  if order then out[#out + 1] = order end
end
return out
",
    )
});

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
        let book = OrderBook::new(
            OrderLimits {
                open_per_user: 3,
                settled_kept: 2,
            },
            None,
        );
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
        let (shown, total) = book.recent(100).await.unwrap();
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
        assert_eq!(book.recent(1).await.unwrap().0[0].status, OrderStatus::Open);
        book.update(&hub, "alice", id, settle(OrderStatus::Cancelled), None)
            .await
            .unwrap();
    }
}
