//! Pieces every page may use: the stream's status badge, the session panel, one-line
//! failures, the new-build banner, who else is watching, decimal formatting. (The demo's own are in `crate::demo`.)

mod connection_badge;
mod failure;
mod fixed;
mod session;
mod status_badge;
mod version_banner;
mod watching;

pub use connection_badge::ConnectionBadge;
pub use failure::Failure;
pub use fixed::{ago, escape, fixed};
pub use session::SessionPanel;
pub use status_badge::StatusBadge;
pub use version_banner::VersionBanner;
pub use watching::{WatchingNow, who};
