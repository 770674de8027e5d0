//! The activity feed: what happened lately, in words, newest first, with how long ago. Order
//! events come from the order book the page keeps current (a placement and, once settled, a
//! settlement per order), so the feed is right after a resync or a refetch too; the user's own
//! jobs add theirs. Times are the server's, measured against its newest price tick, so a
//! browser whose clock is off still reads "12 s ago" right.

use leptos::prelude::*;

use super::events::{Order, OrderStatus, PriceSeries, Side, newest_ms};
use crate::components::{ago, fixed};

/// Entries shown.
pub const SHOWN: usize = 12;

/// One line of the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub at_ms: u64,
    pub text: String,
    /// Orders events of the same millisecond: an order's settlement after its placement.
    pub rank: u64,
}

/// Puts `entry` among `feed` (newest first). Inserting in place rather than sorting: the
/// feed is a few dozen entries, and a sort is kilobytes of wasm per element type.
fn insert(feed: &mut Vec<Activity>, entry: Activity) {
    let key = (entry.at_ms, entry.rank);
    let at = feed.partition_point(|a| (a.at_ms, a.rank) > key);
    feed.insert(at, entry);
}

/// The placements and settlements of `orders`, newest first, at most [`SHOWN`], with `jobs`
/// (the user's job events) among them.
pub fn feed(orders: &[Order], jobs: &[Activity]) -> Vec<Activity> {
    let mut all: Vec<Activity> = Vec::new();
    for job in jobs {
        insert(&mut all, job.clone());
    }
    for order in orders {
        let side = match order.side {
            Side::Buy => "bought",
            Side::Sell => "sold",
        };
        insert(
            &mut all,
            Activity {
                at_ms: order.placed_at_ms,
                text: format!(
                    "{} {side} {} {} at {} (order #{})",
                    order.owner,
                    order.quantity,
                    order.symbol,
                    fixed(order.price, 2, false),
                    order.id
                ),
                rank: order.id * 2,
            },
        );
        if order.status != OrderStatus::Open {
            insert(
                &mut all,
                Activity {
                    at_ms: order.updated_at_ms,
                    text: format!("order #{} {}", order.id, order.status.as_str()),
                    rank: order.id * 2 + 1,
                },
            );
        }
    }
    all.truncate(SHOWN);
    all
}

/// How long before `now_ms` something at `at_ms` was: `just now` for the last five seconds,
/// then as [`ago`] says (a clock ahead is not the future).
pub fn when(now_ms: u64, at_ms: u64) -> String {
    match now_ms.saturating_sub(at_ms) {
        ..5_000 => "just now".into(),
        ms => ago(ms),
    }
}

#[component]
pub fn ActivityFeed(
    orders: RwSignal<Vec<Order>>,
    jobs: RwSignal<Vec<Activity>>,
    /// The prices: their newest tick is the server's time now, as far as the page knows.
    series: RwSignal<Vec<PriceSeries>>,
) -> impl IntoView {
    let entries = move || orders.with(|o| jobs.with(|j| feed(o, j)));
    view! {
        <section class="card activity" data-testid="activity">
            <h2>"Activity"</h2>
            <p class="muted empty" hidden=move || orders.with(|o| jobs.with(|j| !o.is_empty() || !j.is_empty()))>
                "Nothing has happened yet."
            </p>
            <ol>
                {move || {
                    entries()
                        .into_iter()
                        .map(|entry| {
                            let at = entry.at_ms;
                            view! {
                                <li data-testid="activity-item">
                                    <span>{entry.text}</span>
                                    <time class="muted small">{move || when(series.with(|s| newest_ms(s)), at)}</time>
                                </li>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </ol>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64, status: OrderStatus, placed: u64, settled: u64) -> Order {
        Order {
            id,
            symbol: "ACME".into(),
            side: Side::Sell,
            quantity: 3,
            price: 10.5,
            status,
            owner: "bob".into(),
            placed_at_ms: placed,
            updated_at_ms: settled,
        }
    }

    /// Placements and settlements, in words, newest first; jobs among them; bounded.
    #[test]
    fn the_feed_reads_newest_first() {
        let orders = [
            order(2, OrderStatus::Open, 3_000, 3_000),
            order(1, OrderStatus::Filled, 1_000, 5_000),
        ];
        let job = Activity {
            at_ms: 4_000,
            text: "your job j1 finished".into(),
            rank: 0,
        };
        let texts: Vec<String> = feed(&orders, &[job]).into_iter().map(|a| a.text).collect();
        assert_eq!(
            texts,
            [
                "order #1 filled",
                "your job j1 finished",
                "bob sold 3 ACME at 10.50 (order #2)",
                "bob sold 3 ACME at 10.50 (order #1)",
            ]
        );
        let many: Vec<Order> = (0..20).map(|i| order(i, OrderStatus::Open, i, i)).collect();
        assert_eq!(feed(&many, &[]).len(), SHOWN);
    }

    #[test]
    fn times_read_as_ago() {
        assert_eq!(when(10_000, 9_000), "just now");
        assert_eq!(
            when(10_000, 12_000),
            "just now",
            "a clock ahead is not the future"
        );
        assert_eq!(when(70_000, 10_000), "1 min ago");
        assert_eq!(when(20_000, 8_000), "12 s ago");
        assert_eq!(when(8_000_000, 0), "2 h ago");
    }
}
