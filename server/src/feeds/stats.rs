//! Publishes the hub's stats on the `stats` channel every second, for the Streams page.

use std::{sync::Arc, time::Duration};

use app::events::{StreamStats, channels};
use tokio_util::sync::CancellationToken;

use super::{Ticks, now_ms};
use crate::hub::Hub;

/// How often the stats are published.
pub const INTERVAL: Duration = Duration::from_secs(1);

pub async fn run(hub: Arc<Hub>, every: Duration, shutdown: CancellationToken) {
    let mut ticks = Ticks::new(every, shutdown);
    while ticks.next().await {
        let stats = StreamStats {
            at_ms: now_ms(),
            ..hub.stats().snapshot()
        };
        if let Err(err) = hub.publish(channels::STATS, &stats).await {
            tracing::error!(error = %err, "stats feed stopped");
            return;
        }
    }
}
