//! The soak test (`./x soak`, not in CI): leptos-live alone, for a bounded time, under clients
//! that keep coming and going, a steady publish load and a few readers that never read. Every
//! 10 s it prints the server's RSS and what the clients saw; at the end it says whether memory
//! stayed flat after the warm-up, how many events were lost or duplicated, and whether the
//! server panicked (its log is read for that).
//!
//! A client that leaves comes back with its `Last-Event-ID`, as a browser does, so every event
//! of its topic must reach it exactly once across its reconnects: a gap in the sequence numbers
//! is a loss, unless the server announced it with `resync` (counted separately).

use std::{
    cell::Cell,
    rc::Rc,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use tokio::{sync::watch, task::spawn_local};

use crate::{
    client::{EventStream, Publisher, connect_with},
    procfs,
    scenarios::{Clock, EVENT_BYTES},
    servers::{self, Kind, Paths},
    sse::{bench_fields, payload},
};

/// What to run.
pub struct Soak {
    pub duration: Duration,
    /// Clients of the one fan-out topic.
    pub fanout_clients: usize,
    /// Clients with a topic of their own.
    pub personal_clients: usize,
    /// Connections that ask for a stream and never read it.
    pub stuck: usize,
    /// Events per second on the fan-out topic.
    pub fanout_rate: f64,
    /// Seconds between two events on one personal topic.
    pub personal_every: f64,
    /// A client's mean time connected before it leaves (and comes back a moment later).
    pub mean_stay: Duration,
}

impl Soak {
    pub fn minutes(minutes: f64) -> Self {
        Self {
            duration: Duration::from_secs_f64(minutes * 60.0),
            fanout_clients: 3_000,
            personal_clients: 1_000,
            stuck: 4,
            fanout_rate: 10.0,
            personal_every: 5.0,
            mean_stay: Duration::from_secs(60),
        }
    }
}

/// Counters shared by the client tasks (one thread).
#[derive(Default)]
struct Seen {
    deliveries: Cell<u64>,
    lost: Cell<u64>,
    duplicated: Cell<u64>,
    resyncs: Cell<u64>,
    reconnects: Cell<u64>,
    refused: Cell<u64>,
    connected: Cell<usize>,
    /// Clients that reached the last event of their topic after the publisher stopped.
    complete: Cell<usize>,
}

/// One sample of the server.
struct Sample {
    at: Duration,
    rss: u64,
}

/// Runs the soak on `addr`; prints as it goes and returns the summary as markdown.
pub async fn run(soak: &Soak, paths: &Paths, addr: std::net::SocketAddr) -> Result<String, String> {
    let log = paths.work.join("soak-server.log");
    let mut server = servers::start_logged(Kind::LeptosLive, addr, paths, Some(&log))
        .await
        .map_err(|e| format!("server: {e}"))?;
    let clock = Clock::new();
    let seen = Rc::new(Seen::default());
    let (stop_tx, stop) = watch::channel(false);
    // The last sequence number published per topic (0: fan-out, 1..: personal), once the
    // publisher has stopped.
    let finals: Rc<Vec<Cell<u64>>> =
        Rc::new((0..=soak.personal_clients).map(|_| Cell::new(0)).collect());

    let mut stuck = Vec::new();
    for n in 0..soak.stuck {
        let mut tcp = connect_with(addr, 1_000 + n, Some(4096))
            .await
            .map_err(|e| format!("stuck reader: {e}"))?;
        let request = format!("GET /api/stream?channels=bench HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut tcp, request.as_bytes())
            .await
            .map_err(|e| format!("stuck reader: {e}"))?;
        stuck.push(tcp);
    }

    let topics = std::iter::repeat_n(0, soak.fanout_clients).chain(1..=soak.personal_clients);
    let clients: Vec<_> = topics
        .enumerate()
        .map(|(n, topic)| {
            let (seen, finals, mut stop) = (seen.clone(), finals.clone(), stop.clone());
            let mean_stay = soak.mean_stay;
            spawn_local(async move {
                let path = match topic {
                    0 => "/api/stream?channels=bench".to_string(),
                    t => format!("/api/stream?channels=bench/{t}"),
                };
                let mut rng = SmallRng::seed_from_u64(n as u64);
                let mut last_id: Vec<u8> = Vec::new();
                let mut last_seq = 0u64;
                // Spread the first connections over a few seconds.
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..5_000))).await;
                let mut stopping = false;
                loop {
                    let id = (!last_id.is_empty()).then_some(last_id.as_slice());
                    let Ok(mut stream) = EventStream::open(addr, n, &path, id).await else {
                        seen.refused.set(seen.refused.get() + 1);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    };
                    seen.connected.set(seen.connected.get() + 1);
                    let stay = mean_stay.mul_f64(-(1.0f64 - rng.random::<f64>()).ln());
                    let leave = tokio::time::Instant::now() + stay;
                    let target = || finals[topic].get();
                    loop {
                        if stopping && reached(target(), last_seq) {
                            break;
                        }
                        let mut on_event = |e: crate::sse::Event<'_>| match bench_fields(e.data) {
                            Some((seq, _)) => {
                                if seq <= last_seq {
                                    seen.duplicated.set(seen.duplicated.get() + 1);
                                    return;
                                }
                                if last_seq > 0 && seq > last_seq + 1 {
                                    seen.lost.set(seen.lost.get() + seq - last_seq - 1);
                                }
                                last_seq = seq;
                                last_id.clear();
                                last_id.extend_from_slice(e.last_id);
                                seen.deliveries.set(seen.deliveries.get() + 1);
                            }
                            None if e.data.starts_with(b"{\"channel\"") => {
                                seen.resyncs.set(seen.resyncs.get() + 1);
                                // Announced: the next sequence number starts afresh.
                                last_seq = 0;
                                last_id.clear();
                                last_id.extend_from_slice(e.last_id);
                            }
                            None => {}
                        };
                        tokio::select! {
                            read = stream.read(&mut on_event) => {
                                if !matches!(read, Ok(true)) { break; }
                            }
                            () = tokio::time::sleep_until(leave), if !stopping => break,
                            _ = stop.changed(), if !stopping => stopping = true,
                        }
                    }
                    seen.connected.set(seen.connected.get() - 1);
                    drop(stream);
                    if stopping && reached(target(), last_seq) {
                        seen.complete.set(seen.complete.get() + 1);
                        return;
                    }
                    seen.reconnects.set(seen.reconnects.get() + 1);
                    tokio::time::sleep(Duration::from_millis(rng.random_range(10..1_000))).await;
                }
            })
        })
        .collect();

    // The publisher: fan-out at its rate, and each personal topic every few seconds.
    let (publish_stop_tx, publish_stop) = watch::channel(false);
    let published = Rc::new(Cell::new(0u64));
    let publisher = {
        let (finals, published) = (finals.clone(), published.clone());
        let (fanout_rate, personal_every, personal) =
            (soak.fanout_rate, soak.personal_every, soak.personal_clients);
        spawn_local(async move {
            let mut publisher = Publisher::connect(addr, 2_000).await.ok()?;
            let mut seqs = vec![0u64; personal + 1];
            let per_second = fanout_rate + personal as f64 / personal_every;
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
            let mut rng = SmallRng::seed_from_u64(7);
            let mut fanout_due = 0.0;
            while !*publish_stop.borrow() {
                ticks.tick().await;
                fanout_due += fanout_rate / per_second;
                let topic = if fanout_due >= 1.0 {
                    fanout_due -= 1.0;
                    0
                } else {
                    rng.random_range(1..=personal.max(1))
                };
                seqs[topic] += 1;
                let path = match topic {
                    0 => "/api/bench/bench".to_string(),
                    t => format!("/api/bench/bench/{t}"),
                };
                let body = payload(seqs[topic], clock.now_ns(), EVENT_BYTES);
                if publisher.post(&path, &body).await.is_err() {
                    eprintln!("    soak: a publish failed");
                    seqs[topic] -= 1;
                    continue;
                }
                published.set(published.get() + 1);
            }
            for (topic, seq) in seqs.iter().enumerate() {
                // A topic that never got an event has nothing to catch up on.
                finals[topic].set(if *seq == 0 { u64::MAX } else { *seq });
            }
            Some(())
        })
    };

    let started = Instant::now();
    let mut samples = Vec::new();
    println!("    minute   server RSS   connected   deliveries   lost   dup   resync   reconnects");
    while started.elapsed() < soak.duration {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let sample = Sample {
            at: started.elapsed(),
            rss: procfs::rss(server.pid),
        };
        println!(
            "    {:>6.1}   {:>7.1} MB   {:>9}   {:>10}   {:>4}   {:>3}   {:>6}   {:>10}",
            sample.at.as_secs_f64() / 60.0,
            sample.rss as f64 / 1e6,
            seen.connected.get(),
            seen.deliveries.get(),
            seen.lost.get(),
            seen.duplicated.get(),
            seen.resyncs.get(),
            seen.reconnects.get(),
        );
        samples.push(sample);
        if !server.alive() {
            return Err("the server exited during the soak".into());
        }
    }

    // Stop publishing; every client then reads (reconnecting if it must) up to the last event
    // of its topic.
    let _ = publish_stop_tx.send(true);
    let _ = publisher.await;
    let _ = stop_tx.send(true);
    let total = soak.fanout_clients + soak.personal_clients;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.complete.get() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let incomplete = total - seen.complete.get();
    for client in clients {
        client.abort();
    }
    drop(stuck);
    server.stop().await;
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let panics = log.matches("panicked").count();

    Ok(summary(
        soak,
        &samples,
        &seen,
        published.get(),
        incomplete,
        panics,
        &paths.work.join("soak-server.log").display().to_string(),
    ))
}

/// Whether a client at `last` has every event of a topic whose last one is `target` (0: not
/// known yet; `u64::MAX`: the topic never had an event).
fn reached(target: u64, last: u64) -> bool {
    target > 0 && (target == u64::MAX || last >= target)
}

/// RSS growth after the warm-up: the mean of the last tenth of the samples against the mean
/// of the tenth that follows the warm-up. The warm-up is the first 40 %: every history ring
/// must fill first (a personal topic keeps 128 events, one every 5 s: almost 11 minutes), and
/// until then memory grows by design, bounded by the histories.
fn growth(samples: &[Sample]) -> Option<f64> {
    let tenth = samples.len() / 10;
    if tenth == 0 {
        return None;
    }
    let mean = |s: &[Sample]| s.iter().map(|s| s.rss as f64).sum::<f64>() / s.len() as f64;
    let early = mean(&samples[4 * tenth..5 * tenth]);
    let late = mean(&samples[samples.len() - tenth..]);
    Some((late - early) / early * 100.0)
}

fn summary(
    soak: &Soak,
    samples: &[Sample],
    seen: &Seen,
    published: u64,
    incomplete: usize,
    panics: usize,
    log: &str,
) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let rss: Vec<String> = samples
        .iter()
        .filter(|s| s.at.as_secs() % 300 < 10)
        .map(|s| format!("{:.0} min {:.1} MB", s.at.as_secs_f64() / 60.0, mb(s.rss)))
        .collect();
    let growth = growth(samples).map_or("n/a (too short)".into(), |g| format!("{g:+.1} %"));
    format!(
        "| what | figure |\n|---|---|\n\
         | duration | {:.0} min |\n\
         | clients | {} on the fan-out topic, {} with a topic each; mean stay {} s, back 10–1,000 ms later with `Last-Event-ID` |\n\
         | stuck readers (never read) | {} |\n\
         | events published | {published} ({} /s fan-out, one per personal topic every {} s) |\n\
         | events delivered | {} |\n\
         | reconnects | {} (refused: {}) |\n\
         | **lost** (a gap without `resync`) | **{}** |\n\
         | duplicated | {} |\n\
         | `resync` received | {} |\n\
         | clients short of their topic's last event at the end | {incomplete} |\n\
         | server panics (in its log) | {panics} |\n\
         | server RSS | {} |\n\
         | RSS growth after the warm-up (last tenth of the run against the tenth after the first 40 %) | {growth} |\n\
         \nRSS rises while the history rings fill (each personal topic keeps 128 events, one \
         every {} s; the fan-out topic 1,024) and is flat after: what the server holds is bounded \
         by the histories, not by the traffic. Server log: `{log}`.\n",
        soak.duration.as_secs_f64() / 60.0,
        soak.fanout_clients,
        soak.personal_clients,
        soak.mean_stay.as_secs(),
        soak.stuck,
        soak.fanout_rate,
        soak.personal_every,
        seen.deliveries.get(),
        seen.reconnects.get(),
        seen.refused.get(),
        seen.lost.get(),
        seen.duplicated.get(),
        seen.resyncs.get(),
        rss.join(", "),
        soak.personal_every,
    )
}
