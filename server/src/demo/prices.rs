//! The price simulator: one task, a random walk per symbol, one publish per symbol and tick,
//! fanned out to every subscriber by the hub (not one timer per client).

use std::sync::Arc;

use app::demo::events::{PriceTick, channels};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::{
    clock::now_ms,
    feeds::{Outage, Ticks},
};
use leptos_live::hub::Hub;

/// The simulated instruments and where their walks start.
pub const SYMBOLS: [(&str, f64); 3] = [("ACME", 100.0), ("GLOBEX", 42.0), ("INITECH", 250.0)];

/// Largest relative move per tick (±0.4 %).
const MAX_STEP: f64 = 0.004;

/// A random walk in cents that never reaches zero.
pub struct RandomWalk<R> {
    rng: R,
    price: f64,
}

impl<R: Rng> RandomWalk<R> {
    pub fn new(rng: R, start: f64) -> Self {
        Self { rng, price: start }
    }

    /// Moves the price by at most ±[`MAX_STEP`], rounded to cents; returns (price, change).
    pub fn step(&mut self) -> (f64, f64) {
        let factor = 1.0 + self.rng.random_range(-MAX_STEP..=MAX_STEP);
        let next = ((self.price * factor) * 100.0).round().max(1.0) / 100.0;
        let change = ((next - self.price) * 100.0).round() / 100.0;
        self.price = next;
        (next, change)
    }
}

/// Publishes one tick per symbol at each of `ticks` (the first at once).
pub async fn run(hub: Arc<Hub>, mut ticks: Ticks) {
    let mut walks: Vec<_> = SYMBOLS
        .iter()
        .map(|&(symbol, start)| (symbol, RandomWalk::new(SmallRng::from_os_rng(), start)))
        .collect();
    let mut outage = Outage::new("prices");
    while ticks.next().await {
        if ticks.took_over() {
            // Another instance may have walked the prices meanwhile: go on from where it was.
            let last = hub
                .recent::<PriceTick>(channels::PRICES, 4 * SYMBOLS.len())
                .await
                .unwrap_or_default();
            for (symbol, walk) in &mut walks {
                if let Some(tick) = last.iter().rev().find(|t| t.symbol == *symbol) {
                    walk.price = tick.price;
                }
            }
        }
        for (symbol, walk) in &mut walks {
            let (price, change) = walk.step();
            let tick = PriceTick {
                symbol: symbol.to_string(),
                price,
                change,
                at_ms: now_ms(),
            };
            outage.record(hub.publish(channels::PRICES, &tick).await);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    const START_PRICE: f64 = 100.0;

    /// Every step stays within the bound, in whole cents, above zero, with a matching change.
    #[test]
    fn walk_stays_bounded_and_in_cents() {
        let mut walk = RandomWalk::new(SmallRng::seed_from_u64(7), START_PRICE);
        let mut previous = START_PRICE;
        for _ in 0..10_000 {
            let (price, change) = walk.step();
            assert!(price >= 0.01);
            assert!(
                (price * 100.0 - (price * 100.0).round()).abs() < 1e-6,
                "{price}"
            );
            assert!((price - previous).abs() <= previous * MAX_STEP + 0.006);
            assert!((previous + change - price).abs() < 1e-6);
            previous = price;
        }
    }

    /// The producer ticks every symbol right away and keeps going, then stops on shutdown.
    #[tokio::test(start_paused = true)]
    async fn run_publishes_every_symbol_until_shutdown() {
        use futures_util::StreamExt;
        use leptos_live::hub::Frame;

        let hub = Arc::new(crate::demo::test_hub());
        let subscription = hub
            .subscribe(
                leptos_live::hub::Client::default(),
                &[channels::PRICES.to_string()],
                None,
            )
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(
            hub.clone(),
            Ticks::new(Duration::from_millis(500), shutdown.clone()),
        ));
        let frames: Vec<Frame> = subscription.frames.take(2 * SYMBOLS.len()).collect().await;
        let symbols: Vec<String> = frames
            .iter()
            .map(|frame| match frame {
                Frame::Event { event, .. } => {
                    serde_json::from_str::<PriceTick>(&event.data)
                        .unwrap()
                        .symbol
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let expected: Vec<String> = SYMBOLS.iter().map(|(s, _)| s.to_string()).collect();
        assert_eq!(symbols[..SYMBOLS.len()], expected[..]);
        assert_eq!(symbols[SYMBOLS.len()..], expected[..]);
        shutdown.cancel();
        task.await.unwrap();
        assert!(
            hub.latest::<PriceTick>(channels::PRICES)
                .await
                .unwrap()
                .is_some()
        );
    }

    /// A producer that takes over (here: starts) goes on from the last published price, not
    /// from its own starting point: prices do not jump when another instance takes the lease.
    #[tokio::test(start_paused = true)]
    async fn a_new_leader_goes_on_from_the_last_price() {
        let hub = Arc::new(crate::demo::test_hub());
        let before = PriceTick {
            symbol: "ACME".into(),
            price: 500.0,
            change: 0.0,
            at_ms: 0,
        };
        hub.publish(channels::PRICES, &before).await.unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(
            hub.clone(),
            Ticks::new(Duration::from_millis(500), shutdown.clone()),
        ));
        tokio::time::sleep(Duration::from_millis(10)).await;
        shutdown.cancel();
        task.await.unwrap();
        let ticks = hub.recent::<PriceTick>(channels::PRICES, 8).await.unwrap();
        let acme = ticks.iter().rev().find(|t| t.symbol == "ACME").unwrap();
        assert!(
            (acme.price - 500.0).abs() <= 500.0 * MAX_STEP + 0.01,
            "went on from {}",
            acme.price
        );
    }
}
