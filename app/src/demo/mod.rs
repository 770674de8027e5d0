//! The demo: a trading dashboard (prices, an order book, notifications between users, a
//! background job) written only against the engine's public API (`leptos_live`) and the
//! starter's pieces (`crate::actions`, `crate::components`). The server's side of it is
//! `server/src/demo/`.
//!
//! To remove it: delete the demo's folders (`app/src/demo/`,
//! `server/src/demo/`, `server/tests/demo/`, `end2end/tests/demo/`) and the lines marked
//! `demo` (README, "Start your own"), or make the project with `demo = false`.
//!
//! - [`events`]: its channels, stream URLs and event types; the dashboard's `Snapshot`.
//! - [`actions`]: its server functions, and the `DemoHost` the server provides for them.
//! - [`dashboard`]: the page at `/`, one island fed by the snapshot and the stream.
//! - the dashboard's pieces: KPIs with their trends, price tiles, the price chart, the
//!   activity feed, the order table and form, notifications (bell, toasts, form), the job.

pub mod actions;
mod activity;
mod chart;
pub mod dashboard;
pub mod events;
mod fold;
mod jobs;
mod kpis;
mod notifications;
mod orders;
mod price_tile;
mod sparkline;

pub use dashboard::Dashboard;
pub use jobs::JobDemo;
pub use notifications::{NotificationBell, SendNotificationForm, Toasts};
pub use orders::{OrderForm, OrderTable};
pub use price_tile::PriceTile;
pub use sparkline::sparkline;
