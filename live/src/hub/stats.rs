//! Counters for `GET /api/stats`, and the guards that keep them true: a connection or a
//! channel subscription counts exactly as long as its guard lives (guards live inside the
//! response body's stream, so they drop on client disconnect and on shutdown alike).

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    net::IpAddr,
    str::FromStr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

pub use limits::{Client, Refused, StreamLimits};
pub use presence::Presence;

use super::export::Refusal;
use crate::event::StreamStats;

/// Identifies one stream connection, e.g. for `publish(…).except([id])`, on every instance
/// sharing a hub: each [`Stats`] starts its ids at a random point of its own. Sent to the
/// client in the stream's `hello` event, signed for its user (`auth::connection_token`);
/// clients echo it in the `X-Connection-Id` header, which is honoured only for that user, so
/// guessing or seeing another user's id achieves nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionId(pub u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl FromStr for ConnectionId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        s.strip_prefix('c')
            .and_then(|n| n.parse().ok())
            .map(ConnectionId)
            .ok_or(())
    }
}

/// Live counters. Relaxed atomics suffice: each number is read on its own.
#[derive(Debug)]
pub struct Stats {
    next_connection: AtomicU64,
    /// Mirrors `open.total`, so that reading it takes no lock.
    connections: AtomicUsize,
    accepted: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    replayed: AtomicU64,
    resynced: AtomicU64,
    skipped: AtomicU64,
    refused: AtomicU64,
    /// Every refused stream by [`Refusal`] (`refused` counts the limits' only).
    refusals: [AtomicU64; Refusal::ALL.len()],
    /// What the stream limits count; one lock, taken once per connect and once per close.
    open: Mutex<Open>,
    /// Subscribers per channel, with the channel's pattern and the signed-in users among them;
    /// a channel with none is removed.
    per_channel: Mutex<HashMap<Arc<str>, Subscribed>>,
}

impl Default for Stats {
    fn default() -> Self {
        // Ids from the top 32 bits chosen at random: instances sharing a hub (and so the
        // `except` lists of its events) do not issue the same ids.
        let start = u64::from(rand::random::<u32>()) << 32;
        Self {
            next_connection: AtomicU64::new(start),
            connections: AtomicUsize::default(),
            accepted: AtomicU64::default(),
            published: AtomicU64::default(),
            delivered: AtomicU64::default(),
            replayed: AtomicU64::default(),
            resynced: AtomicU64::default(),
            skipped: AtomicU64::default(),
            refused: AtomicU64::default(),
            refusals: Default::default(),
            open: Mutex::default(),
            per_channel: Mutex::default(),
        }
    }
}

/// A channel's pattern, its subscriber count, and the signed-in users among its subscribers
/// with how many streams each holds.
#[derive(Debug)]
struct Subscribed {
    pattern: Arc<str>,
    count: usize,
    users: HashMap<Arc<str>, usize>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    per_user: HashMap<Box<str>, usize>,
}

/// The key the per-address limit counts by: an IPv4 address (IPv4-mapped IPv6 included), or
/// the /64 of an IPv6 address, since one IPv6 subscriber usually holds a whole /64.
pub fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay consistent under a panic elsewhere: each update is one map operation.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes one from `map[key]`, removing the entry at zero so the map holds only open clients.
fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Stats {
    /// Counts a new connection for `client`, or refuses it when a limit is reached (and counts
    /// the refusal). The guard un-counts it when dropped.
    pub fn connect(
        self: &Arc<Self>,
        client: Client<'_>,
        limits: StreamLimits,
    ) -> Result<ConnectionGuard, Refused> {
        let refuse = |why| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            self.refuse(Refusal::from(why));
            Err(why)
        };
        let addr = client.addr.map(address_key);
        let mut open = locked(&self.open);
        if open.total >= limits.total {
            return refuse(Refused::Total {
                limit: limits.total,
            });
        }
        let from_addr = addr.map_or(0, |a| open.per_address.get(&a).copied().unwrap_or(0));
        if from_addr >= limits.per_address {
            return refuse(Refused::Address {
                limit: limits.per_address,
            });
        }
        let of_user = client
            .user
            .map_or(0, |u| open.per_user.get(u).copied().unwrap_or(0));
        if of_user >= limits.per_user {
            return refuse(Refused::User {
                limit: limits.per_user,
            });
        }
        let id = ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed) + 1);
        open.total += 1;
        if let Some(addr) = addr {
            *open.per_address.entry(addr).or_default() += 1;
        }
        if let Some(user) = client.user {
            *open.per_user.entry(user.into()).or_default() += 1;
        }
        self.connections.store(open.total, Ordering::Relaxed);
        Ok(ConnectionGuard {
            stats: self.clone(),
            id,
            user: client.user.map(Into::into),
            addr,
        })
    }

    /// Counts one subscriber of `channel` (matching `pattern`), signed in as `user` or not,
    /// until the guard drops.
    pub fn subscribe(
        self: &Arc<Self>,
        channel: Arc<str>,
        pattern: Arc<str>,
        user: Option<&str>,
    ) -> SubscriberGuard {
        let user: Option<Arc<str>> = user.map(Into::into);
        let mut per_channel = locked(&self.per_channel);
        let entry = per_channel
            .entry(channel.clone())
            .or_insert_with(|| Subscribed {
                pattern,
                count: 0,
                users: HashMap::new(),
            });
        entry.count += 1;
        if let Some(user) = &user {
            *entry.users.entry(user.clone()).or_default() += 1;
        }
        SubscriberGuard {
            stats: self.clone(),
            channel,
            user,
        }
    }

    /// Who subscribes to `channel` on this instance right now.
    pub fn presence(&self, channel: &str) -> Presence {
        locked(&self.per_channel)
            .get(channel)
            .map(|subscribed| Presence {
                streams: subscribed.count,
                users: subscribed
                    .users
                    .iter()
                    .map(|(user, n)| (user.to_string(), *n))
                    .collect(),
            })
            .unwrap_or_default()
    }

    pub fn published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    /// One stream opened: within the limits, and its channels joined.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// One live event framed for one stream.
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    pub fn replayed(&self) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn resynced(&self) {
        self.resynced.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` events a stream that fell behind lost to its channel's ring (it gets a resync).
    pub fn skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a stream refused for `why` (the limits of [`Stats::connect`] count themselves).
    pub fn refuse(&self, why: Refusal) {
        self.refusals[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The totals since start, for [`Hub::render_metrics`](super::Hub::render_metrics).
    pub fn totals(&self) -> Totals {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Totals {
            accepted: load(&self.accepted),
            published: load(&self.published),
            delivered: load(&self.delivered),
            replayed: load(&self.replayed),
            resynced: load(&self.resynced),
            skipped: load(&self.skipped),
            refused: Refusal::ALL.map(|why| (why, load(&self.refusals[why as usize]))),
        }
    }

    /// The counters as the JSON body of `GET /api/stats`: subscribers by channel *pattern*,
    /// so that nobody learns from it who is online or which jobs exist.
    pub fn snapshot(&self) -> StreamStats {
        let mut subscribers: BTreeMap<String, u64> = BTreeMap::new();
        let channels = {
            let per_channel = locked(&self.per_channel);
            for subscribed in per_channel.values() {
                *subscribers
                    .entry(subscribed.pattern.to_string())
                    .or_default() += subscribed.count as u64;
            }
            per_channel.len()
        };
        StreamStats {
            at_ms: 0,
            connections: self.connections.load(Ordering::Relaxed),
            channels,
            subscribers,
            published: self.published.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            resynced: self.resynced.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            instances: 1,
        }
    }

    /// Subscribers per concrete channel: for the operator only (`GET /api/ops/channels`).
    pub fn channel_detail(&self) -> BTreeMap<String, usize> {
        locked(&self.per_channel)
            .iter()
            .map(|(channel, subscribed)| (channel.to_string(), subscribed.count))
            .collect()
    }
}

/// The hub's counters since start; see [`Stats::totals`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub accepted: u64,
    pub published: u64,
    pub delivered: u64,
    pub replayed: u64,
    pub resynced: u64,
    pub skipped: u64,
    pub refused: [(Refusal, u64); Refusal::ALL.len()],
}

/// One open stream connection; see [`Stats::connect`].
#[derive(Debug)]
pub struct ConnectionGuard {
    stats: Arc<Stats>,
    id: ConnectionId,
    user: Option<Box<str>>,
    addr: Option<IpAddr>,
}

impl ConnectionGuard {
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The signed-in user the stream is for, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = locked(&self.stats.open);
        open.total -= 1;
        if let Some(addr) = &self.addr {
            release(&mut open.per_address, addr);
        }
        if let Some(user) = &self.user {
            release(&mut open.per_user, user);
        }
        self.stats.connections.store(open.total, Ordering::Relaxed);
    }
}

/// One subscriber of one channel; see [`Stats::subscribe`].
#[derive(Debug)]
pub struct SubscriberGuard {
    stats: Arc<Stats>,
    channel: Arc<str>,
    user: Option<Arc<str>>,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        let mut per_channel = locked(&self.stats.per_channel);
        if let Some(subscribed) = per_channel.get_mut(&self.channel) {
            subscribed.count -= 1;
            if let Some(user) = &self.user {
                release(&mut subscribed.users, user);
            }
            if subscribed.count == 0 {
                per_channel.remove(&self.channel);
            }
        }
    }
}

mod limits;
mod presence;
#[cfg(test)]
mod tests;
