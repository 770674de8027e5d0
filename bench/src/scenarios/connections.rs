//! What open connections cost and how they end: idle streams, a shutdown with streams open,
//! and a reconnect storm resuming from `Last-Event-ID`.

use std::time::{Duration, Instant};

use crate::{procfs, servers::Running};

use super::{Clock, Crowd, Load, Track, fresh, publish};

/// What `idle` measured.
pub struct Idle {
    pub connections: usize,
    pub failed_to_open: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    /// Server CPU while all of them sat idle for `window` (heartbeats only).
    pub cpu: procfs::CpuTime,
    pub window: Duration,
}

/// `connections` streams that receive nothing but heartbeats.
pub async fn idle(server: &Running, connections: usize, window: Duration) -> Idle {
    let crowd = Crowd::new(Clock::new());
    let rss_before = server.rss();
    let paths = fresh((0..connections).map(|_| server.kind.subscribe_path(None)));
    let tasks = crowd.open(server, paths, u64::MAX, false);
    crowd.opening(connections, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss();
    let cpu_before = server.cpu();
    tokio::time::sleep(window).await;
    let cpu = server.cpu().since(cpu_before);
    crowd.stop(tasks).await;
    Idle {
        connections: crowd.opened.get(),
        failed_to_open: crowd.failed.get(),
        rss_before,
        rss_after,
        cpu,
        window,
    }
}

/// `connections` open streams, then SIGINT: how long until the process has exited.
pub async fn shutdown(server: Running, connections: usize) -> (usize, Option<Duration>) {
    let crowd = Crowd::new(Clock::new());
    let paths = fresh((0..connections).map(|_| server.kind.subscribe_path(None)));
    let tasks = crowd.open(&server, paths, u64::MAX, false);
    crowd.opening(connections, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = crowd.opened.get();
    let exit = server.interrupt(Duration::from_secs(30)).await;
    crowd.stop(tasks).await;
    (open, exit)
}

/// What `reconnect` measured.
pub struct Reconnect {
    pub clients: usize,
    pub missed: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// From the storm's first connect until every client had every event; `None` if some never
    /// got them all within the limit.
    pub caught_up: Option<Duration>,
    pub failed_to_open: usize,
}

/// `clients` subscribers get `before` events, all disconnect, `missed` more are published,
/// and all reconnect at once with their `Last-Event-ID`.
pub async fn reconnect(server: &Running, clients: usize, before: u64, missed: u64) -> Reconnect {
    let clock = Clock::new();
    let load = Load {
        users: None,
        per_topic: clients,
        events: before,
        rate: 500.0,
        publishers: 1,
        batch: 1,
    };
    let path = server.kind.subscribe_path(None);

    // Phase 1: everyone connected and up to date.
    let crowd = Crowd::new(clock);
    let tasks = crowd.open(server, fresh(vec![path.clone(); clients]), before, false);
    crowd.opening(clients, Duration::from_secs(60)).await;
    publish(server, &load, 1, before, load.rate, clock).await;
    crowd.finishing(Duration::from_secs(10)).await;
    // Stopping drops every stream: all clients are now disconnected.
    let first = crowd.stop(tasks).await;

    // Phase 2: events published while nobody listens.
    let total = before + missed;
    publish(server, &load, before + 1, total, load.rate, clock).await;

    // Phase 3: the storm, everyone at once, each resuming where it stood.
    let storm = Crowd::new(clock);
    let resumes: Vec<_> = first
        .iter()
        .map(|(track, _)| {
            let resume = Track {
                last: track.last,
                ..Track::default()
            };
            (path.clone(), Some(track.last_id.clone()), resume)
        })
        .collect();
    let started = Instant::now();
    let tasks = storm.open(server, resumes, total, true);
    storm.opening(first.len(), Duration::from_secs(10)).await;
    storm.finishing(Duration::from_secs(10)).await;
    let second = storm.stop(tasks).await;

    let mut lost = 0;
    let mut caught_up = Some(Duration::ZERO);
    for ((phase1, _), (phase2, done)) in first.iter().zip(&second) {
        lost += total.saturating_sub(phase1.unique + phase2.unique);
        caught_up = match (caught_up, done) {
            (Some(longest), Some(at)) => Some(longest.max(at.duration_since(started))),
            _ => None,
        };
    }
    Reconnect {
        clients: second.len(),
        missed,
        lost: lost + total * (clients - second.len()) as u64,
        duplicated: crowd.tally.duplicated.get() + storm.tally.duplicated.get(),
        caught_up,
        failed_to_open: crowd.failed.get() + storm.failed.get(),
    }
}
