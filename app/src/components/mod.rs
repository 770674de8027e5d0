//! Reusable pieces of the dashboard.

mod live_price;
mod status_badge;

pub use live_price::LivePrice;
pub use status_badge::StatusBadge;
