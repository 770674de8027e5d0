//! Counters for `GET /api/stats`, and the guards that keep them true: a connection or a
//! channel subscription counts exactly as long as its guard lives (guards live inside the
//! response body's stream, so they drop on client disconnect and on shutdown alike).

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    str::FromStr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use app::events::StreamStats;

/// Identifies one stream connection, e.g. for `publish(…).except([id])`. Sent to the client in
/// the stream's `hello` event; clients echo it in the `X-Connection-Id` header.
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
#[derive(Debug, Default)]
pub struct Stats {
    next_connection: AtomicU64,
    connections: AtomicUsize,
    published: AtomicU64,
    replayed: AtomicU64,
    resynced: AtomicU64,
    /// Open connections per signed-in user, for the per-user limit.
    per_user: Mutex<HashMap<String, usize>>,
    /// Subscribers per channel; a channel with none is removed.
    per_channel: Mutex<HashMap<Arc<str>, usize>>,
}

/// A user already has as many streams open as allowed.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyConnections {
    pub limit: usize,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay consistent under a panic elsewhere: each update is one map operation.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Stats {
    /// Counts a new connection (for `user`, at most `per_user_limit` at once).
    pub fn connect(
        self: &Arc<Self>,
        user: Option<&str>,
        per_user_limit: usize,
    ) -> Result<ConnectionGuard, TooManyConnections> {
        if let Some(user) = user {
            let mut per_user = locked(&self.per_user);
            let open = per_user.entry(user.to_string()).or_default();
            if *open >= per_user_limit {
                return Err(TooManyConnections {
                    limit: per_user_limit,
                });
            }
            *open += 1;
        }
        self.connections.fetch_add(1, Ordering::Relaxed);
        let id = ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed) + 1);
        Ok(ConnectionGuard {
            stats: self.clone(),
            id,
            user: user.map(str::to_string),
        })
    }

    /// Counts one subscriber of `channel` until the guard drops.
    pub fn subscribe(self: &Arc<Self>, channel: Arc<str>) -> SubscriberGuard {
        *locked(&self.per_channel)
            .entry(channel.clone())
            .or_default() += 1;
        SubscriberGuard {
            stats: self.clone(),
            channel,
        }
    }

    pub fn published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    pub fn replayed(&self) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn resynced(&self) {
        self.resynced.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as the JSON body of `GET /api/stats`.
    pub fn snapshot(&self) -> StreamStats {
        let subscribers: BTreeMap<String, usize> = locked(&self.per_channel)
            .iter()
            .map(|(channel, n)| (channel.to_string(), *n))
            .collect();
        StreamStats {
            at_ms: 0,
            connections: self.connections.load(Ordering::Relaxed),
            channels: subscribers.len(),
            subscribers,
            published: self.published.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            resynced: self.resynced.load(Ordering::Relaxed),
        }
    }
}

/// One open stream connection; see [`Stats::connect`].
#[derive(Debug)]
pub struct ConnectionGuard {
    stats: Arc<Stats>,
    id: ConnectionId,
    user: Option<String>,
}

impl ConnectionGuard {
    pub fn id(&self) -> ConnectionId {
        self.id
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.stats.connections.fetch_sub(1, Ordering::Relaxed);
        if let Some(user) = &self.user {
            let mut per_user = locked(&self.stats.per_user);
            if let Some(open) = per_user.get_mut(user) {
                *open -= 1;
                if *open == 0 {
                    per_user.remove(user);
                }
            }
        }
    }
}

/// One subscriber of one channel; see [`Stats::subscribe`].
#[derive(Debug)]
pub struct SubscriberGuard {
    stats: Arc<Stats>,
    channel: Arc<str>,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        let mut per_channel = locked(&self.stats.per_channel);
        if let Some(n) = per_channel.get_mut(&self.channel) {
            *n -= 1;
            if *n == 0 {
                per_channel.remove(&self.channel);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections and subscribers count exactly as long as their guards live.
    #[test]
    fn guards_count_while_alive() {
        let stats = Arc::new(Stats::default());
        let a = stats.connect(None, 1).unwrap();
        let b = stats.connect(Some("alice"), 1).unwrap();
        assert_ne!(a.id(), b.id());
        let s1 = stats.subscribe("prices".into());
        let s2 = stats.subscribe("prices".into());
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.connections, 2);
        assert_eq!(snapshot.channels, 1);
        assert_eq!(snapshot.subscribers["prices"], 2);
        drop((a, s1));
        assert_eq!(stats.snapshot().connections, 1);
        assert_eq!(stats.snapshot().subscribers["prices"], 1);
        drop((b, s2));
        let snapshot = stats.snapshot();
        assert_eq!((snapshot.connections, snapshot.channels), (0, 0));
    }

    /// The per-user limit refuses one more and frees up when a connection closes.
    #[test]
    fn per_user_limit_applies_to_signed_in_users() {
        let stats = Arc::new(Stats::default());
        let first = stats.connect(Some("bob"), 2).unwrap();
        let _second = stats.connect(Some("bob"), 2).unwrap();
        assert_eq!(
            stats.connect(Some("bob"), 2).unwrap_err(),
            TooManyConnections { limit: 2 }
        );
        let _alice = stats.connect(Some("alice"), 2).unwrap();
        let _anonymous: Vec<_> = (0..5).map(|_| stats.connect(None, 2).unwrap()).collect();
        drop(first);
        assert!(stats.connect(Some("bob"), 2).is_ok());
    }

    /// Connection ids print and parse as `c<n>`.
    #[test]
    fn connection_ids_round_trip() {
        assert_eq!("c42".parse::<ConnectionId>(), Ok(ConnectionId(42)));
        assert_eq!(ConnectionId(7).to_string(), "c7");
        assert!("42".parse::<ConnectionId>().is_err());
    }
}
