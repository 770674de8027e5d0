//! Counters for `GET /api/stats`: open stream connections and events published.

use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

use app::events::StreamStats;

/// Live counters; relaxed atomics are enough, each number is read on its own.
#[derive(Debug, Default)]
pub struct Stats {
    connections: AtomicUsize,
    published: AtomicU64,
}

impl Stats {
    /// Counts a stream connection until the returned guard is dropped (when the response body,
    /// and so the stream, is dropped: on client disconnect or shutdown).
    pub fn connect(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(Arc::clone(self))
    }

    pub(super) fn published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as the JSON body of `GET /api/stats`.
    pub fn snapshot(&self) -> StreamStats {
        StreamStats {
            connections: self.connections.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
        }
    }
}

/// One open stream connection; see [`Stats::connect`].
#[derive(Debug)]
pub struct ConnectionGuard(Arc<Stats>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection counts exactly as long as its guard lives.
    #[test]
    fn guard_counts_while_alive() {
        let stats = Arc::new(Stats::default());
        let a = stats.connect();
        let b = stats.connect();
        assert_eq!(stats.snapshot().connections, 2);
        drop(a);
        assert_eq!(stats.snapshot().connections, 1);
        drop(b);
        assert_eq!(stats.snapshot().connections, 0);
    }
}
