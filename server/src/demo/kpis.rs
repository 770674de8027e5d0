//! The dashboard's KPIs: computed from the order book (shared by every instance) by the
//! instance that leads, every [`INTERVAL`], and published on `kpis`, whose history is the
//! trend each KPI draws ([`KEPT`] of them: three minutes).

use std::{sync::Arc, time::Duration};

use app::demo::events::{Kpis, Order, OrderStatus, channels};
use leptos_live::hub::Hub;

use super::orders::OrderBook;
use crate::{
    clock::now_ms,
    feeds::{Outage, Ticks},
};

/// How often the KPIs are published.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// KPIs the channel keeps: the trend a page draws.
pub const KEPT: usize = 90;
/// Orders read to compute them: more than the book holds with the demo's limits.
const READ: usize = 5_000;

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;

/// The KPIs of `orders` at `now_ms`: orders placed in the last minute, the volume and fill
/// rate of the last hour's settlements, and the open orders.
pub fn compute(orders: &[Order], now_ms: u64) -> Kpis {
    let since = |ms: u64| now_ms.saturating_sub(ms);
    let settled_lately = |o: &&Order| o.updated_at_ms >= since(HOUR_MS);
    let filled: Vec<&Order> = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Filled)
        .filter(settled_lately)
        .collect();
    let cancelled = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Cancelled)
        .filter(settled_lately)
        .count();
    let settled = filled.len() + cancelled;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Kpis {
        at_ms: now_ms,
        orders_per_min: count(
            orders
                .iter()
                .filter(|o| o.placed_at_ms >= since(MINUTE_MS))
                .count(),
        ),
        volume: (filled
            .iter()
            .map(|o| f64::from(o.quantity) * o.price)
            .sum::<f64>()
            * 100.0)
            .round()
            / 100.0
            // An empty sum is -0.0; say 0.
            + 0.0,
        fill_rate: (settled > 0).then(|| count(filled.len() * 100 / settled)),
        open: count(
            orders
                .iter()
                .filter(|o| o.status == OrderStatus::Open)
                .count(),
        ),
    }
}

/// Publishes the book's KPIs at each of `ticks`.
pub async fn run(hub: Arc<Hub>, orders: Arc<OrderBook>, mut ticks: Ticks) {
    let mut outage = Outage::new("kpis");
    while ticks.next().await {
        let Some((book, _)) = outage.record(orders.recent(READ).await) else {
            continue;
        };
        let kpis = compute(&book, now_ms());
        outage.record(hub.publish(channels::KPIS, &kpis).await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::demo::events::Side;

    fn order(id: u64, status: OrderStatus, placed: u64, settled: u64) -> Order {
        Order {
            id,
            symbol: "ACME".into(),
            side: Side::Buy,
            quantity: 10,
            price: 2.5,
            status,
            owner: "alice".into(),
            placed_at_ms: placed,
            updated_at_ms: settled,
        }
    }

    /// Each KPI counts what its window holds and nothing older.
    #[test]
    fn kpis_count_their_windows() {
        let now = 10 * HOUR_MS;
        let orders = [
            order(1, OrderStatus::Open, now - 1_000, now - 1_000),
            order(
                2,
                OrderStatus::Open,
                now - 2 * MINUTE_MS,
                now - 2 * MINUTE_MS,
            ),
            order(3, OrderStatus::Filled, now - 30_000, now - 10_000),
            order(
                4,
                OrderStatus::Filled,
                now - 2 * HOUR_MS,
                now - 30 * MINUTE_MS,
            ),
            order(
                5,
                OrderStatus::Cancelled,
                now - 3 * HOUR_MS,
                now - 5 * MINUTE_MS,
            ),
            // Settled two hours ago: outside every window.
            order(6, OrderStatus::Filled, now - 3 * HOUR_MS, now - 2 * HOUR_MS),
        ];
        let kpis = compute(&orders, now);
        assert_eq!(kpis.orders_per_min, 2);
        assert_eq!(kpis.open, 2);
        assert_eq!(kpis.volume, 50.0);
        assert_eq!(kpis.fill_rate, Some(66));
        assert_eq!(compute(&[], now).fill_rate, None);
        let none = compute(&[], now).volume;
        assert!(none == 0.0 && none.is_sign_positive(), "{none:?}");
    }
}
