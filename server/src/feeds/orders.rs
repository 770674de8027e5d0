//! The demo order book: the domain code behind `POST /api/orders`, `PATCH /api/orders/{id}`
//! (and, later, the UI's server functions). Each change is published on the `orders` channel
//! as `order:created` / `order:updated`.
//!
//! The book lives in this process; with several instances behind a shared hub backend each
//! would need the book in a shared store too (left for the Redis backend).

use std::{collections::BTreeMap, sync::Mutex};

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

/// Orders by id. The lock is never held across an await.
#[derive(Default)]
pub struct OrderBook {
    orders: Mutex<BTreeMap<u64, Order>>,
}

impl OrderBook {
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
            let mut orders = self.lock();
            let id = orders.keys().next_back().map_or(1, |last| last + 1);
            let order = Order {
                id,
                symbol: new.symbol,
                side: new.side,
                quantity: new.quantity,
                price: (new.price * 100.0).round() / 100.0,
                status: OrderStatus::Open,
                owner: owner.to_string(),
                updated_at_ms: now_ms(),
            };
            orders.insert(id, order.clone());
            order
        };
        let published = hub
            .publish(channels::ORDERS, &OrderCreated(order.clone()))
            .except(except)
            .await;
        if let Err(err) = published {
            // Nothing half-applied: an order nobody heard of is taken back.
            self.lock().remove(&order.id);
            return Err(OrderError::Hub(err));
        }
        Ok(order)
    }

    /// Moves an open order to `filled` or `cancelled` and announces it.
    pub async fn update(
        &self,
        hub: &Hub,
        id: u64,
        change: StatusChange,
        except: Option<ConnectionId>,
    ) -> Result<Order, OrderError> {
        let (before, after) = {
            let mut orders = self.lock();
            let order = orders.get_mut(&id).ok_or(OrderError::NotFound(id))?;
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
            (before, order.clone())
        };
        let published = hub
            .publish(channels::ORDERS, &OrderUpdated(after.clone()))
            .except(except)
            .await;
        if let Err(err) = published {
            self.lock().insert(id, before);
            return Err(OrderError::Hub(err));
        }
        Ok(after)
    }

    /// The newest `n` orders, newest first.
    pub fn recent(&self, n: usize) -> Vec<Order> {
        self.lock().values().rev().take(n).cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Order>> {
        // Each change replaces a whole entry, so a poisoned lock is still consistent.
        self.orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
}
