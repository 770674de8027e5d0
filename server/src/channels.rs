//! The app's channels: which exist, who may subscribe, how much history each keeps.
//! Add a channel here (and its name and event type in `app::events`).

use std::time::Duration;

use app::events::channels::{JOBS, NOTIFICATIONS, ORDERS, PRICES, STATS};

use crate::hub::{
    Registry, Settings,
    registry::{owner, public, signed_in},
};

/// Every channel of the app, with `heartbeat` as each one's heartbeat interval.
pub fn registry(heartbeat: Duration) -> Registry {
    let settings = |history| Settings { history, heartbeat };
    let mut registry = Registry::default();
    let entries = [
        // A few seconds of ticks: enough to cover a reconnect.
        (PRICES, settings(64), public()),
        (ORDERS, settings(512), signed_in()),
        // Only the newest matters; a little history covers a reconnect.
        (STATS, settings(8), public()),
        (NOTIFICATIONS, settings(128), owner("id")),
        // A whole job: 21 progress steps and `complete`.
        (JOBS, settings(32), owner("id")),
    ];
    for (pattern, settings, authorize) in entries {
        registry
            .register(pattern, settings, authorize)
            .unwrap_or_else(|err| panic!("channel table is wrong: {err:?}"));
    }
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table registers (a panic here would be a programming error, caught by this test).
    #[test]
    fn registry_builds() {
        let registry = registry(Duration::from_secs(15));
        assert!(registry.resolve("users/bob/notifications").is_some());
        assert!(registry.resolve("users/bob/jobs/j1").is_some());
    }
}
