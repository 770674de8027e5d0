//! The dashboard's pieces. Each takes signals; the page owns the state and folds the live
//! events into it (see `pages::dashboard`).

mod connection_badge;
mod failure;
mod fixed;
mod jobs;
mod notifications;
mod orders;
mod price_tile;
mod session;
mod sparkline;
mod status_badge;
mod version_banner;

pub use connection_badge::ConnectionBadge;
pub use failure::Failure;
pub use fixed::fixed;
pub use jobs::JobDemo;
pub use notifications::{NotificationBell, SendNotificationForm, Toasts};
pub use orders::{OrderForm, OrderTable};
pub use price_tile::PriceTile;
pub use session::SessionPanel;
pub use sparkline::Sparkline;
pub use status_badge::StatusBadge;
pub use version_banner::VersionBanner;
