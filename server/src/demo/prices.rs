//! The price simulator: one task, a random walk per symbol, one publish per symbol and tick,
//! fanned out to every subscriber by the hub (not one timer per client). Every
//! [`SAMPLE`] it also publishes each symbol's price on `prices/history`, whose history holds
//! the chart's longest window ([`CHART_WINDOW`]); `prices` keeps the last minute at full rate.
//! A page's chart starts from both ([`series`]).

use std::{sync::Arc, time::Duration};

use app::demo::events::{PricePoint, PriceSeries, PriceTick, channels};
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

/// The longest window the dashboard's chart shows.
pub const CHART_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How far apart the samples on `prices/history` are.
pub const SAMPLE: Duration = Duration::from_secs(5);
/// How much of `prices` a chart shows at full rate.
pub const RECENT: Duration = Duration::from_secs(60);

/// Events `prices` keeps: the last [`RECENT`] of every symbol at `interval` (at least 64, at
/// most 20,000 for a fast test clock).
pub fn recent_history(interval: Duration) -> usize {
    let ticks = RECENT.as_millis() / interval.as_millis().max(1);
    (usize::try_from(ticks).unwrap_or(usize::MAX) * SYMBOLS.len()).clamp(64, 20_000)
}

/// Events `prices/history` keeps: the chart's longest window of samples, every symbol.
pub const SAMPLES_KEPT: usize =
    (CHART_WINDOW.as_secs() / SAMPLE.as_secs()) as usize * SYMBOLS.len();

/// Each symbol's chart series from the samples and the recent ticks (each oldest first): the
/// samples up to where the ticks begin, then every tick. Symbols in [`SYMBOLS`]'s order.
pub fn series(samples: &[PriceTick], ticks: &[PriceTick]) -> Vec<PriceSeries> {
    SYMBOLS
        .iter()
        .map(|&(symbol, _)| {
            let recent: Vec<&PriceTick> = ticks.iter().filter(|t| t.symbol == symbol).collect();
            let from = recent.first().map_or(u64::MAX, |t| t.at_ms);
            let points = samples
                .iter()
                .filter(|t| t.symbol == symbol && t.at_ms < from)
                .chain(recent)
                .map(|t| PricePoint(t.at_ms, t.price))
                .collect();
            PriceSeries {
                symbol: symbol.to_string(),
                points,
            }
        })
        .collect()
}

/// Publishes one tick per symbol at each of `ticks` (the first at once), which come every
/// `interval`, and a sample of each on `prices/history` every [`SAMPLE`].
pub async fn run(hub: Arc<Hub>, interval: Duration, mut ticks: Ticks) {
    let every = (SAMPLE.as_millis() / interval.as_millis().max(1)).max(1);
    let mut count: u128 = 0;
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
            if count.is_multiple_of(every) {
                outage.record(hub.publish(channels::PRICE_HISTORY, &tick).await);
            }
            outage.record(hub.publish(channels::PRICES, &tick).await);
        }
        count += 1;
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
            Duration::from_millis(500),
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
            Duration::from_millis(500),
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

    /// A chart series is the samples up to the first recent tick, then every recent tick,
    /// per symbol; the history sizes cover the chart's window.
    #[test]
    fn series_join_samples_and_recent_ticks() {
        let tick = |symbol: &str, at_ms: u64| PriceTick {
            symbol: symbol.into(),
            price: at_ms as f64,
            change: 0.0,
            at_ms,
        };
        let samples = [
            tick("ACME", 0),
            tick("GLOBEX", 0),
            tick("ACME", 5_000),
            tick("ACME", 10_000),
        ];
        let recent = [
            tick("ACME", 9_000),
            tick("ACME", 9_500),
            tick("ACME", 10_000),
        ];
        let series = series(&samples, &recent);
        assert_eq!(series.len(), SYMBOLS.len());
        let acme: Vec<u64> = series[0].points.iter().map(|p| p.0).collect();
        assert_eq!(acme, [0, 5_000, 9_000, 9_500, 10_000]);
        assert_eq!(series[1].points.len(), 1);
        assert!(series[2].points.is_empty());
        assert_eq!(SAMPLES_KEPT, 540);
        assert_eq!(recent_history(Duration::from_millis(500)), 360);
        assert_eq!(recent_history(Duration::from_millis(1)), 20_000);
    }

    /// Every symbol is sampled on `prices/history` on the first tick and every 5 s after.
    #[tokio::test(start_paused = true)]
    async fn samples_go_to_the_history_channel_every_five_seconds() {
        let hub = Arc::new(crate::demo::test_hub());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(
            hub.clone(),
            Duration::from_millis(500),
            Ticks::new(Duration::from_millis(500), shutdown.clone()),
        ));
        // Ticks at 0, 0.5, …, 10 s: samples at 0, 5 and 10 s.
        tokio::time::sleep(Duration::from_millis(10_100)).await;
        shutdown.cancel();
        task.await.unwrap();
        let samples = hub
            .recent::<PriceTick>(channels::PRICE_HISTORY, 100)
            .await
            .unwrap();
        assert_eq!(samples.len(), 3 * SYMBOLS.len());
        let ticks = hub
            .recent::<PriceTick>(channels::PRICES, 100)
            .await
            .unwrap();
        assert_eq!(ticks.len(), 21 * SYMBOLS.len());
    }
}
