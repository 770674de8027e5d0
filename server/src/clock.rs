//! Wall-clock time for what events and the cluster's records carry; the producers' pace and
//! every deadline use tokio's clock instead (so tests can pause it).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, for event timestamps.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
