//! The price simulator: one task, one random walk, one publish per tick fanned out to every
//! subscriber by the hub (not one timer per client).

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use app::events::{PriceTick, channels};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// The simulated instrument.
pub const SYMBOL: &str = "ACME";
/// Where the walk starts.
const START_PRICE: f64 = 100.0;
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

/// Publishes one tick now and then one every `every`, until `shutdown`.
pub async fn run(hub: Arc<Hub>, every: Duration, shutdown: CancellationToken) {
    let mut walk = RandomWalk::new(SmallRng::from_os_rng(), START_PRICE);
    let mut ticker = tokio::time::interval(every);
    // After a stall, carry on at the normal pace rather than bursting to catch up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let (price, change) = walk.step();
        let tick = PriceTick {
            symbol: SYMBOL.to_string(),
            price,
            change,
            at_ms: now_ms(),
        };
        if let Err(err) = hub.publish(channels::PRICES, &tick) {
            tracing::error!(error = %err, "price feed stopped");
            return;
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The producer publishes right away and keeps going, then stops on shutdown.
    #[tokio::test(start_paused = true)]
    async fn run_publishes_until_shutdown() {
        let hub = Arc::new(Hub::new());
        let mut rx = hub.subscribe(channels::PRICES).unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(
            hub.clone(),
            Duration::from_millis(500),
            shutdown.clone(),
        ));
        for want in 1..=3 {
            assert_eq!(rx.recv().await.unwrap().id, want);
        }
        shutdown.cancel();
        task.await.unwrap();
        assert!(hub.latest::<PriceTick>(channels::PRICES).is_some());
    }
}
