//! The demo's wire contract: its channels, stream URLs and one serde type per event (prices,
//! orders, notifications, jobs), and the dashboard's [`Snapshot`].

use leptos_live::{Item, LiveEvent};
use serde::{Deserialize, Serialize};

/// The demo's channel names.
pub mod channels {
    /// Price ticks ([`PriceTick`](super::PriceTick)); anyone may listen.
    pub const PRICES: &str = "prices";
    /// The live collection of [`Order`](super::Order)s (`order:created`, `order:updated`);
    /// signed-in users.
    pub const ORDERS: &str = "orders";
    /// Pattern of each user's [`Notification`](super::Notification)s; only that user.
    pub const NOTIFICATIONS: &str = "users/:id/notifications";
    /// A sample of every symbol's price every 5 s ([`PriceTick`](super::PriceTick)), kept
    /// for the chart's longest window; anyone may listen.
    pub const PRICE_HISTORY: &str = "prices/history";
    /// The business at a glance ([`Kpis`](super::Kpis)), every two seconds; anyone may
    /// listen.
    pub const KPIS: &str = "kpis";
    /// Pattern of a user's background job ([`Progress`](super::Progress),
    /// [`JobComplete`](super::JobComplete)); only that user.
    pub const JOBS: &str = "users/:id/jobs/:job";

    /// The notification channel of `user`.
    pub fn notifications(user: &str) -> String {
        format!("users/{user}/notifications")
    }

    /// The channel of `user`'s job `job`.
    pub fn job(user: &str, job: &str) -> String {
        format!("users/{user}/jobs/{job}")
    }
}

/// The live price stream (`text/event-stream`, events named [`PriceTick::NAME`]).
pub const PRICES_STREAM: &str = "/api/prices/stream";
/// The order stream (signed-in users).
pub const ORDERS_STREAM: &str = "/api/orders/stream";
/// The signed-in user's notification stream.
pub const NOTIFICATIONS_STREAM: &str = "/api/notifications/stream";

/// The state of the feeds when the server rendered the dashboard (or answered a refetch),
/// with the position its stream resumes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub user: Option<String>,
    pub stream: leptos_live::StreamInfo,
    /// Each symbol's prices over the chart's longest window, from the channel's history.
    pub prices: Vec<PriceSeries>,
    /// The newest orders, newest first.
    pub orders: Vec<Order>,
    /// The user's recent notifications, oldest first.
    pub notifications: Vec<Notification>,
    /// Recent KPIs, oldest first: the last is now, the others draw its trend.
    pub kpis: Vec<Kpis>,
    /// Who is watching the dashboard (with names for a signed-in user).
    pub watching: crate::events::Watching,
}

/// One point of a price chart, `[at_ms, price]` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PricePoint(pub u64, pub f64);

/// A symbol's prices, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceSeries {
    pub symbol: String,
    pub points: Vec<PricePoint>,
}

/// The newest tick's time among `series`: the server's time as a page knows it (no browser
/// clock involved); 0 before any tick.
pub fn newest_ms(series: &[PriceSeries]) -> u64 {
    series
        .iter()
        .filter_map(|s| s.points.last())
        .map(|p| p.0)
        .max()
        .unwrap_or(0)
}

/// The business at a glance, over every instance (computed from the order book by the
/// instance that leads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub at_ms: u64,
    /// Orders placed in the last minute.
    pub orders_per_min: u32,
    /// Quantity × price of the orders filled in the last hour.
    pub volume: f64,
    /// Filled out of filled and cancelled in the last hour, in percent (none settled: `None`).
    pub fill_rate: Option<u32>,
    /// Open orders now.
    pub open: u32,
}

impl LiveEvent for Kpis {
    const NAME: &'static str = "kpis";
}

/// One price update for one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceTick {
    pub symbol: String,
    /// Price in the quote currency, rounded to cents.
    pub price: f64,
    /// Difference to the previous tick of this symbol.
    pub change: f64,
    /// When the producer made this tick, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl LiveEvent for PriceTick {
    const NAME: &'static str = "price";
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The wire name (`buy`, `sell`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Open,
    Filled,
    Cancelled,
}

impl OrderStatus {
    /// The wire name (`open`, `filled`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Filled => "filled",
            Self::Cancelled => "cancelled",
        }
    }
}

/// An order in the demo order book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub symbol: String,
    pub side: Side,
    pub quantity: u32,
    pub price: f64,
    pub status: OrderStatus,
    /// The user who placed it.
    pub owner: String,
    /// When it was placed (the placing instance's clock: for display and KPIs, never order).
    #[serde(default)]
    pub placed_at_ms: u64,
    pub updated_at_ms: u64,
}

/// Orders are a live collection: `order:created` / `order:updated` on [`channels::ORDERS`]
/// (as `leptos_live::collection::{Created, Updated}<Order>`), open orders counting against
/// their owner's limit.
impl Item for Order {
    const CREATED: &'static str = "order:created";
    const UPDATED: &'static str = "order:updated";

    fn id(&self) -> u64 {
        self.id
    }

    /// The time of its last change: an order changes once (open → filled or cancelled).
    fn version(&self) -> u64 {
        self.updated_at_ms
    }

    fn owner(&self) -> &str {
        &self.owner
    }

    fn is_active(&self) -> bool {
        self.status == OrderStatus::Open
    }
}

/// What a client sends to place an order (`POST /api/orders`, or the `place_order` action).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub quantity: u32,
    pub price: f64,
}

/// A message to one user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: u64,
    pub from: String,
    pub to: String,
    pub title: String,
    pub body: String,
    pub at_ms: u64,
}

impl LiveEvent for Notification {
    const NAME: &'static str = "notification";
}

/// How far a background job has come.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub job: String,
    /// 0 to 100.
    pub percent: u8,
}

impl LiveEvent for Progress {
    const NAME: &'static str = "progress";
}

/// A background job finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobComplete {
    pub job: String,
}

impl LiveEvent for JobComplete {
    const NAME: &'static str = "complete";
}

/// What starting a job answers (`POST /api/jobs`, or the `start_job` action).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobStarted {
    pub job: String,
    pub channel: String,
    /// Subscribe with this cursor to receive the job's events from its very first one.
    pub cursor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the UI shows are the wire names.
    #[test]
    fn enum_names_match_the_wire() {
        for (side, name) in [(Side::Buy, "buy"), (Side::Sell, "sell")] {
            let wire = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&side).unwrap(), wire);
            assert_eq!(serde_json::from_str::<Side>(&wire).unwrap(), side);
            assert_eq!(side.as_str(), name);
        }
        for (status, name) in [
            (OrderStatus::Open, "open"),
            (OrderStatus::Filled, "filled"),
            (OrderStatus::Cancelled, "cancelled"),
        ] {
            let wire = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&status).unwrap(), wire);
            assert_eq!(serde_json::from_str::<OrderStatus>(&wire).unwrap(), status);
            assert_eq!(status.as_str(), name);
        }
        for bad in [r#""Buy""#, r#""hold""#, "1", "null"] {
            assert!(serde_json::from_str::<Side>(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<OrderStatus>(bad).is_err(), "{bad}");
        }
    }

    /// A tick survives the JSON round trip the stream puts it through.
    #[test]
    fn price_tick_round_trips_through_json() {
        let tick = PriceTick {
            symbol: "ACME".into(),
            price: 101.25,
            change: -0.5,
            at_ms: 1_700_000_000_000,
        };
        let json = serde_json::to_string(&tick).unwrap();
        assert!(!json.contains('\n'), "one event must be one data line");
        assert_eq!(serde_json::from_str::<PriceTick>(&json).unwrap(), tick);
    }
}
