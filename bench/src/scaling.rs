//! `--scenarios scaling` (`./x bench scaling`): how cost grows with the number of subscribers.
//! For each server and each size in [`SIZES`]: a fresh server holds that many idle streams (RSS
//! per stream), then another fresh one fans out 200 events at 20 a second to that many
//! subscribers of one channel (deliveries per server CPU-second, p99 latency). Below ~10,000
//! subscribers that is below saturation on this machine; above it, at or past it.

use std::{fmt::Write, net::SocketAddr, time::Duration};

use crate::{
    scenarios::{self, Delivery, Load},
    servers::{self, Kind, Paths},
};

/// Subscriber counts, the largest under the generator's 20,000 open files.
pub const SIZES: [usize; 5] = [1_000, 2_000, 5_000, 10_000, 18_000];

/// One size ([`SIZES`], in order) on one server.
pub struct Point {
    pub rss_per_stream: f64,
    pub delivery: Delivery,
}

impl Point {
    fn per_cpu_second(&self) -> f64 {
        self.delivery.deliveries as f64 / self.delivery.cpu.total().as_secs_f64().max(1e-9)
    }
}

/// Measures every size on `kind`, starting servers on ports from `port` on.
pub async fn run(kind: Kind, paths: &Paths, port: &mut u16) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    for subscribers in SIZES {
        let mut start = || {
            *port += 1;
            let addr: SocketAddr = ([127, 0, 0, 1], *port).into();
            servers::start(kind, addr, paths)
        };
        let server = start().await.map_err(|e| format!("{}: {e}", kind.name()))?;
        let idle = scenarios::idle(&server, subscribers, Duration::from_secs(1)).await;
        server.stop().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let server = start().await.map_err(|e| format!("{}: {e}", kind.name()))?;
        let load = Load {
            users: None,
            per_topic: subscribers,
            events: 200,
            rate: 20.0,
            publishers: 1,
            batch: 1,
        };
        let delivery = scenarios::delivery(&server, &load).await;
        server.stop().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let point = Point {
            rss_per_stream: idle.rss_after.saturating_sub(idle.rss_before) as f64
                / idle.connections.max(1) as f64,
            delivery,
        };
        println!(
            "    {}: {subscribers} subscribers: {:.0} deliveries/CPU-s, p99 {:.1} ms, lost {}, {:.1} KiB RSS per idle stream",
            kind.name(),
            point.per_cpu_second(),
            point.delivery.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
            point.delivery.lost,
            point.rss_per_stream / 1024.0,
        );
        points.push(point);
    }
    Ok(points)
}

/// The table: one row per size, each server's figures, and leptos-live's ratio to every peer
/// measured in the same run.
pub fn markdown(results: &[(Kind, Vec<Point>)]) -> String {
    let mut md = String::from(
        "## scaling: one channel, 200 events at 20/s to N subscribers; RSS per idle stream\n\n\
         Written by `./x bench scaling` (bench/src/scaling.rs): each server pinned to core 0, the \
         generator on core 1, a fresh server for each measurement. A p99 in seconds means the \
         server could not keep up and held its publisher back.\n\n",
    );
    let ours = results.iter().find(|(k, _)| *k == Kind::LeptosLive);
    let _ = write!(md, "| subscribers |");
    for (kind, _) in results {
        let _ = write!(
            md,
            " {0} deliveries per CPU-s | {0} p99 ms | {0} lost | {0} KiB per stream |",
            kind.name()
        );
    }
    for (kind, _) in results.iter().filter(|(k, _)| *k != Kind::LeptosLive) {
        if ours.is_some() {
            let _ = write!(
                md,
                " leptos-live ÷ {}: per CPU-s (higher is better) / KiB per stream (lower is better) |",
                kind.name()
            );
        }
    }
    md.push_str("\n|---:|");
    let columns = results.len() * 4 + results.len().saturating_sub(1) * usize::from(ours.is_some());
    md.push_str(&"---:|".repeat(columns));
    md.push('\n');
    for (row, subscribers) in SIZES.iter().enumerate() {
        let _ = write!(md, "| {subscribers} |");
        for (_, points) in results {
            match points.get(row) {
                Some(p) => {
                    let p99 = p.delivery.latency_us.value_at_quantile(0.99) as f64 / 1000.0;
                    let _ = write!(
                        md,
                        " {:.0} | {p99:.1} | {} | {:.1} |",
                        p.per_cpu_second(),
                        p.delivery.lost,
                        p.rss_per_stream / 1024.0
                    );
                }
                None => md.push_str(" – | – | – | – |"),
            }
        }
        if let Some((_, our_points)) = ours {
            for (_, points) in results.iter().filter(|(k, _)| *k != Kind::LeptosLive) {
                match (our_points.get(row), points.get(row)) {
                    (Some(a), Some(b)) => {
                        let _ = write!(
                            md,
                            " {:.2}× / {:.2}× |",
                            a.per_cpu_second() / b.per_cpu_second().max(1e-9),
                            a.rss_per_stream / b.rss_per_stream.max(1.0)
                        );
                    }
                    _ => md.push_str(" – |"),
                }
            }
        }
        md.push('\n');
    }
    md
}
