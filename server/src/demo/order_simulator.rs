//! An optional order simulator, so that a fresh dashboard has a moving order table: a "market"
//! user places an order every tick and now and then fills or cancels one of its open ones, through the
//! same [`OrderBook`] code as the REST endpoints. `ORDER_SIMULATOR_MS=0` turns it off.

use std::sync::Arc;

use app::demo::events::{OrderStatus, Side};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::{
    orders::{NewOrder, OrderBook, StatusChange},
    prices::SYMBOLS,
};
use crate::feeds::{Outage, Ticks};

/// The owner of simulated orders.
pub const MARKET_USER: &str = "market";

/// Open orders the simulator lets accumulate before it settles one per tick.
const MAX_OPEN: usize = 8;

/// Trades at each of `ticks`.
pub async fn run(book: Arc<OrderBook>, mut ticks: Ticks) {
    let mut rng = SmallRng::from_os_rng();
    let mut outage = Outage::new("order simulator");
    while ticks.next().await {
        // Only its own orders: users' orders stay under their control.
        let Some((recent, _)) = outage.record(book.recent(64).await) else {
            continue;
        };
        let open: Vec<u64> = recent
            .into_iter()
            .filter(|o| o.status == OrderStatus::Open && o.owner == MARKET_USER)
            .map(|o| o.id)
            .collect();
        let result = if open.len() >= MAX_OPEN || (!open.is_empty() && rng.random_bool(0.4)) {
            let id = open[rng.random_range(0..open.len())];
            let status = if rng.random_bool(0.75) {
                OrderStatus::Filled
            } else {
                OrderStatus::Cancelled
            };
            book.update(MARKET_USER, id, StatusChange { status }, None)
                .await
                .map(drop)
        } else {
            let (symbol, base) = SYMBOLS[rng.random_range(0..SYMBOLS.len())];
            let order = NewOrder {
                symbol: symbol.to_string(),
                side: if rng.random_bool(0.5) {
                    Side::Buy
                } else {
                    Side::Sell
                },
                quantity: rng.random_range(1..=50) * 10,
                price: base * rng.random_range(0.97..1.03),
            };
            book.create(MARKET_USER, order, None).await.map(drop)
        };
        outage.record(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::demo::events::channels;
    use futures_util::StreamExt;
    use leptos_live::hub::Frame;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    /// The simulator creates and settles orders through the book, announcing each change,
    /// and never lets more than MAX_OPEN orders pile up.
    #[tokio::test(start_paused = true)]
    async fn simulates_creates_and_updates() {
        let hub = Arc::new(crate::demo::test_hub());
        let book = Arc::new(OrderBook::new(hub.clone(), Default::default()));
        let subscription = hub
            .subscribe(
                leptos_live::hub::Client::user(Some("alice")),
                &[channels::ORDERS.to_string()],
                None,
            )
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(
            book.clone(),
            Ticks::new(Duration::from_secs(1), shutdown.clone()),
        ));
        let names: Vec<String> = subscription
            .frames
            .take(40)
            .map(|frame| match frame {
                Frame::Event { event, .. } => event.name.to_string(),
                other => panic!("{other:?}"),
            })
            .collect()
            .await;
        shutdown.cancel();
        task.await.unwrap();
        assert!(names.iter().any(|n| n == "order:created"));
        assert!(names.iter().any(|n| n == "order:updated"));
        let open = book
            .recent(100)
            .await
            .unwrap()
            .0
            .iter()
            .filter(|o| o.status == OrderStatus::Open)
            .count();
        assert!(open <= MAX_OPEN, "{open} open orders");
        assert!(
            book.recent(100)
                .await
                .unwrap()
                .0
                .iter()
                .all(|o| o.owner == MARKET_USER)
        );
    }
}
