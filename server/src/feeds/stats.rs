//! Publishes the hub's stats on the `stats` channel every second, for the Streams page.

use std::{sync::Arc, time::Duration};

use app::events::channels;
use leptos_live::StreamStats;

use super::{Outage, Ticks, now_ms};
use crate::cluster::Cluster;
use leptos_live::hub::Hub;

/// How often the stats are published.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Publishes the cluster's stats (this instance's alone, without Redis) at each of `ticks`.
pub async fn run(hub: Arc<Hub>, cluster: Arc<Cluster>, mut ticks: Ticks) {
    let mut outage = Outage::new("stats");
    while ticks.next().await {
        let local = StreamStats {
            at_ms: now_ms(),
            ..hub.stats().snapshot()
        };
        let stats = cluster.stats(local).await;
        outage.record(hub.publish(channels::STATS, &stats).await);
    }
}
