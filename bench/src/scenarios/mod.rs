//! The scenarios. Each one runs against one started server, is bounded in connections and
//! time, and returns what it measured: [`delivery`] here (events to many subscribers), and in
//! [`connections`] what open connections cost and how they end ([`idle`], [`shutdown`],
//! [`reconnect`]).

mod connections;
mod publish;

pub use connections::{Idle, Reconnect, idle, reconnect, shutdown};
use publish::publish;

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use tokio::{
    sync::{Semaphore, watch},
    task::{JoinHandle, spawn_local},
};

use crate::{client::EventStream, procfs, servers::Running, sse::bench_fields};

/// Bytes of event data, before any framing the server adds.
pub const EVENT_BYTES: usize = 100;

/// Connection attempts in flight while a scenario opens its subscribers.
const OPENING: usize = 256;

/// A scenario's clock: event timestamps are nanoseconds since it started (publisher and
/// subscribers live in this one process, so one monotonic clock serves both).
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn new() -> Self {
        Self(Instant::now())
    }
    pub fn now_ns(self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
    fn ns_at(self, at: Instant) -> u64 {
        at.saturating_duration_since(self.0).as_nanos() as u64
    }
}

/// Counters shared by one scenario's subscriber tasks (all on this one thread).
struct Tally {
    clock: Clock,
    latency_us: RefCell<Histogram<u64>>,
    deliveries: Cell<u64>,
    duplicated: Cell<u64>,
    finished: Cell<usize>,
    last_delivery: Cell<Option<Instant>>,
}

impl Tally {
    fn new(clock: Clock) -> Rc<Self> {
        Rc::new(Self {
            clock,
            latency_us: RefCell::new(
                Histogram::new_with_bounds(1, 120_000_000, 3).expect("bounds"),
            ),
            deliveries: Cell::new(0),
            duplicated: Cell::new(0),
            finished: Cell::new(0),
            last_delivery: Cell::new(None),
        })
    }
}

/// One subscriber's view of its topic: which sequence numbers it has.
#[derive(Default)]
struct Track {
    last: u64,
    unique: u64,
    last_id: Vec<u8>,
}

impl Track {
    fn event(&mut self, tally: &Tally, data: &[u8], last_id: &[u8]) {
        let Some((seq, t)) = bench_fields(data) else {
            return;
        };
        if seq <= self.last {
            tally.duplicated.set(tally.duplicated.get() + 1);
            return;
        }
        self.last = seq;
        self.unique += 1;
        self.last_id.clear();
        self.last_id.extend_from_slice(last_id);
        let latency = tally.clock.now_ns().saturating_sub(t) / 1_000;
        let _ = tally.latency_us.borrow_mut().record(latency.max(1));
        tally.deliveries.set(tally.deliveries.get() + 1);
        tally.last_delivery.set(Some(Instant::now()));
    }
}

/// What a streaming scenario measured.
pub struct Delivery {
    pub subscribers: usize,
    pub failed_to_open: usize,
    pub published: u64,
    pub publish_errors: u64,
    pub deliveries: u64,
    pub expected: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// First publish to last delivery.
    pub wall: Duration,
    /// Server CPU over the same span.
    pub cpu: procfs::CpuTime,
    pub latency_us: Histogram<u64>,
}

/// `topics` topics (`None`: the one fan-out topic) with `per_topic` subscribers each, and
/// `events` events per topic published at `rate` per second in all.
pub struct Load {
    pub users: Option<usize>,
    pub per_topic: usize,
    pub events: u64,
    pub rate: f64,
    pub publishers: usize,
    /// Events per publish request: 1, or a batch (the servers with [`Kind::batch_path`]).
    pub batch: usize,
}

impl Load {
    fn topics(&self) -> Vec<Option<usize>> {
        match self.users {
            None => vec![None],
            Some(n) => (0..n).map(Some).collect(),
        }
    }
}

/// A scenario's subscribers: their shared tally, their stop signal and how many opened.
struct Crowd {
    tally: Rc<Tally>,
    stop_tx: watch::Sender<bool>,
    stop: watch::Receiver<bool>,
    opened: Rc<Cell<usize>>,
    failed: Rc<Cell<usize>>,
}

impl Crowd {
    fn new(clock: Clock) -> Self {
        let (stop_tx, stop) = watch::channel(false);
        Self {
            tally: Tally::new(clock),
            stop_tx,
            stop,
            opened: Rc::default(),
            failed: Rc::default(),
        }
    }

    /// Opens a stream per `(path, Last-Event-ID)` (at most [`OPENING`] connecting at a time,
    /// or all at once with `storm`); each then reads until its topic's event `until`, the end of
    /// the stream, or [`Crowd::stop`]. Tasks return what their subscriber saw.
    fn open(
        &self,
        server: &Running,
        streams: Vec<(String, Option<Vec<u8>>, Track)>,
        until: u64,
        storm: bool,
    ) -> Vec<JoinHandle<(Track, Option<Instant>)>> {
        let gate = Rc::new(Semaphore::new(if storm {
            streams.len().max(1)
        } else {
            OPENING
        }));
        streams
            .into_iter()
            .enumerate()
            .map(|(n, (path, last_id, mut track))| {
                let (addr, gate, tally, opened, failed) = (
                    server.addrs[n % server.addrs.len()],
                    gate.clone(),
                    self.tally.clone(),
                    self.opened.clone(),
                    self.failed.clone(),
                );
                let mut stop = self.stop.clone();
                spawn_local(async move {
                    let permit = gate.acquire().await;
                    let stream = EventStream::open(addr, n, &path, last_id.as_deref()).await;
                    drop(permit);
                    let Ok(mut stream) = stream else {
                        failed.set(failed.get() + 1);
                        return (track, None);
                    };
                    opened.set(opened.get() + 1);
                    while track.last < until {
                        tokio::select! {
                            read = stream.read(|e| track.event(&tally, e.data, e.last_id)) => {
                                if !matches!(read, Ok(true)) { break; }
                            }
                            _ = stop.changed() => break,
                        }
                    }
                    tally.finished.set(tally.finished.get() + 1);
                    let done = (track.last >= until).then(Instant::now);
                    (track, done)
                })
            })
            .collect()
    }

    /// Waits until all `n` streams have opened or failed.
    async fn opening(&self, n: usize, limit: Duration) {
        wait_for(|| self.opened.get() + self.failed.get() >= n, limit).await;
    }

    /// Waits until every opened stream has finished reading.
    async fn finishing(&self, limit: Duration) {
        let opened = self.opened.get();
        wait_for(|| self.tally.finished.get() >= opened, limit).await;
    }

    /// Stops every reader and collects what each one saw.
    async fn stop(
        &self,
        tasks: Vec<JoinHandle<(Track, Option<Instant>)>>,
    ) -> Vec<(Track, Option<Instant>)> {
        let _ = self.stop_tx.send(true);
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            if let Ok(result) = task.await {
                out.push(result);
            }
        }
        out
    }
}

fn fresh(paths: impl IntoIterator<Item = String>) -> Vec<(String, Option<Vec<u8>>, Track)> {
    paths
        .into_iter()
        .map(|path| (path, None, Track::default()))
        .collect()
}

async fn wait_for(mut done: impl FnMut() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// `fanout`, `personal` and `personal-batch`: subscribe everyone, then publish at a fixed rate
/// and count.
pub async fn delivery(server: &Running, load: &Load) -> Delivery {
    let clock = Clock::new();
    let crowd = Crowd::new(clock);
    let paths =
        fresh(load.topics().into_iter().flat_map(|topic| {
            std::iter::repeat_n(server.kind.subscribe_path(topic), load.per_topic)
        }));
    let total = paths.len();
    let tasks = crowd.open(server, paths, load.events, false);
    crowd.opening(total, Duration::from_secs(120)).await;

    let cpu_before = server.cpu();
    let started = Instant::now();
    let (published, publish_errors) = publish(server, load, 1, load.events, load.rate, clock).await;
    // Everything published should arrive soon after; stragglers count as lost.
    crowd.finishing(Duration::from_secs(15)).await;
    let cpu = server.cpu().since(cpu_before);
    let wall = crowd
        .tally
        .last_delivery
        .get()
        .map_or(Duration::ZERO, |at| at.saturating_duration_since(started));
    let seen = crowd.stop(tasks).await;
    let lost: u64 = seen
        .iter()
        .map(|(track, _)| load.events.saturating_sub(track.unique))
        .sum();
    let failed = crowd.failed.get();
    let latency_us = crowd.tally.latency_us.borrow().clone();
    Delivery {
        subscribers: total,
        failed_to_open: failed,
        published,
        publish_errors,
        deliveries: crowd.tally.deliveries.get(),
        expected: load.events * total as u64,
        lost: lost + load.events * failed as u64,
        duplicated: crowd.tally.duplicated.get(),
        wall,
        cpu,
        latency_us,
    }
}
