//! What the instances of one deployment share beyond the hub, through the same Redis: the
//! lease that picks the one instance running the shared producers (prices, clock, simulated
//! orders, the stats and presence feeds), the cluster view of the stats and of who watches a
//! channel, and the command connection the domain state uses (`demo::jobs`,
//! `demo::notifications`). It imports nothing of the feeds: they depend on it, not the other
//! way round.
//!
//! Without `REDIS_URL` this process is the whole cluster: it always leads, and its stats are
//! the cluster's.

use std::{
    sync::{
        Arc, LazyLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use std::collections::BTreeMap;

use ::redis::{AsyncCommands, Script};
use leptos_live::hub::redis::Commands;
use leptos_live::{StreamStats, hub::Presence};
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use leptos_live::hub::Hub;

/// How often the lease is renewed and this instance's stats written.
pub const BEAT: Duration = Duration::from_secs(1);
/// How long a lease or an instance's stats outlive its last beat: an instance that died
/// without a word is replaced within this time.
const LEASE: Duration = Duration::from_secs(3);

/// Takes the lease when free, renews it when held. KEYS: lease. ARGV: instance, ms.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
",
    )
});

/// Gives the lease up if held. KEYS: lease. ARGV: instance.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// The Redis that the instances share, for domain state: its command connection and the
/// deployment's key prefix.
#[derive(Clone)]
pub struct Shared {
    pub commands: Commands,
    prefix: Arc<str>,
}

impl Shared {
    pub fn new(commands: Commands, prefix: &str) -> Self {
        Self {
            commands,
            prefix: prefix.into(),
        }
    }

    /// `rest` under the deployment's prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    /// Shorthand for a fresh handle on the command connection (clones are cheap and share
    /// one multiplexed connection).
    pub fn con(&self) -> Commands {
        self.commands.clone()
    }
}

/// This instance's place in the deployment.
pub struct Cluster {
    shared: Option<Shared>,
    /// Random per start: names this instance's lease and stats.
    instance: String,
    leading: AtomicBool,
}

impl Cluster {
    /// One process on its own: it always leads.
    pub fn single() -> Self {
        Self {
            shared: None,
            instance: "single".into(),
            leading: AtomicBool::new(true),
        }
    }

    /// An instance of a deployment sharing `shared`; it leads once it holds the lease.
    pub fn shared(shared: Shared) -> Self {
        Self {
            shared: Some(shared),
            instance: format!("{:016x}", rand::rng().random::<u64>()),
            leading: AtomicBool::new(false),
        }
    }

    /// The shared store, if this instance is part of a deployment.
    pub fn store(&self) -> Option<&Shared> {
        self.shared.as_ref()
    }

    /// Whether this instance runs the shared producers right now.
    pub fn leads(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }

    /// Keeps the lease and writes this instance's stats, and who watches each of `watched`,
    /// every [`BEAT`] until `shutdown`; then gives the lease up so another instance takes over
    /// at once. Nothing to do alone.
    pub async fn run(
        self: Arc<Self>,
        hub: Arc<Hub>,
        watched: Vec<&'static str>,
        shutdown: CancellationToken,
    ) {
        let Some(shared) = &self.shared else { return };
        let lease = shared.key("leader");
        let take = &*TAKE;
        let mut ticks = tokio::time::interval(BEAT);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let mut con = shared.con();
            let held = take
                .key(&lease)
                .arg(&self.instance)
                .arg(LEASE.as_millis() as u64)
                .invoke_async::<i64>(&mut con)
                .await;
            let leads = matches!(held, Ok(1));
            if leads != self.leading.swap(leads, Ordering::Relaxed) {
                tracing::info!(instance = %self.instance, leads, "shared producers");
            }
            let presence = local_presence(&hub, &watched);
            if let Err(err) = self.beat(shared, &hub.stats().snapshot(), &presence).await {
                tracing::debug!(error = %err, "cannot write this instance's stats");
            }
        }
        self.leading.store(false, Ordering::Relaxed);
        let mut con = shared.con();
        let _ = RELEASE
            .key(&lease)
            .arg(&self.instance)
            .invoke_async::<i64>(&mut con)
            .await;
    }

    /// Writes this instance's stats and presence where the others find them for
    /// [`Cluster::stats`] and [`Cluster::presence`].
    async fn beat(
        &self,
        shared: &Shared,
        stats: &StreamStats,
        presence: &BTreeMap<&str, Presence>,
    ) -> ::redis::RedisResult<()> {
        let json = serde_json::to_string(stats).unwrap_or_default();
        let watching = serde_json::to_string(presence).unwrap_or_default();
        let now = now_ms();
        let ttl = LEASE.as_millis() as u64;
        ::redis::pipe()
            .pset_ex(shared.key(&format!("stats:{}", self.instance)), json, ttl)
            .ignore()
            .pset_ex(
                shared.key(&format!("presence:{}", self.instance)),
                watching,
                ttl,
            )
            .ignore()
            .zadd(shared.key("instances"), &self.instance, now)
            .ignore()
            .zrembyscore(
                shared.key("instances"),
                0,
                now.saturating_sub(LEASE.as_millis() as u64),
            )
            .ignore()
            .query_async(&mut shared.con())
            .await
    }

    /// The stats of every live instance summed, with `instances` counted; alone, `local`.
    pub async fn stats(&self, local: StreamStats) -> StreamStats {
        let Some(shared) = &self.shared else {
            return StreamStats {
                instances: 1,
                ..local
            };
        };
        let found = reports(shared, "stats").await;
        let mut sum = StreamStats {
            at_ms: local.at_ms,
            ..StreamStats::default()
        };
        for stats in found
            .unwrap_or_default()
            .iter()
            .filter_map(|json| serde_json::from_str::<StreamStats>(json).ok())
        {
            sum.instances += 1;
            sum.connections += stats.connections;
            sum.channels += stats.channels;
            sum.published += stats.published;
            sum.replayed += stats.replayed;
            sum.resynced += stats.resynced;
            sum.refused += stats.refused;
            for (pattern, n) in stats.subscribers {
                *sum.subscribers.entry(pattern).or_default() += n;
            }
        }
        if sum.instances == 0 {
            // Redis unreadable: this instance's own numbers beat none.
            return StreamStats {
                instances: 1,
                ..local
            };
        }
        sum
    }
}

impl Cluster {
    /// Who watches each channel of `local` (this instance's part, [`local_presence`]) over
    /// every live instance, from one read of their reports; alone (or when Redis does not
    /// answer), `local`. Each instance's part is at most one [`BEAT`] old.
    pub async fn presence<'a>(
        &self,
        local: BTreeMap<&'a str, Presence>,
    ) -> BTreeMap<&'a str, Presence> {
        let Some(shared) = &self.shared else {
            return local;
        };
        let found = match reports(shared, "presence").await {
            Ok(found) if !found.is_empty() => found,
            _ => return local,
        };
        let mut sum: BTreeMap<&str, Presence> =
            local.keys().map(|&c| (c, Presence::default())).collect();
        for report in &found {
            let Ok(parts) = serde_json::from_str::<BTreeMap<String, Presence>>(report) else {
                continue;
            };
            for (channel, total) in &mut sum {
                if let Some(part) = parts.get(*channel) {
                    total.add(part);
                }
            }
        }
        sum
    }
}

/// Who watches each of `watched` on this instance.
pub fn local_presence<'a>(hub: &Hub, watched: &[&'a str]) -> BTreeMap<&'a str, Presence> {
    watched.iter().map(|&c| (c, hub.presence(c))).collect()
}

/// What every live instance last wrote under `kind` (`stats`, `presence`): one JSON text each.
async fn reports(shared: &Shared, kind: &str) -> ::redis::RedisResult<Vec<String>> {
    let mut con = shared.con();
    let since = now_ms().saturating_sub(LEASE.as_millis() as u64);
    let instances: Vec<String> = con
        .zrangebyscore(shared.key("instances"), since, "+inf")
        .await?;
    let keys: Vec<String> = instances
        .iter()
        .map(|i| shared.key(&format!("{kind}:{i}")))
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Option<String>> = con.mget(keys).await?;
    Ok(values.into_iter().flatten().collect())
}
