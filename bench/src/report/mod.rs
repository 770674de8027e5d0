//! The results as BENCHMARKS.md: machine, command, one table per scenario, and the extras
//! (wasm size, SSR requests/s, rebuild time).

use std::{fmt::Write as _, process::Command, time::Duration};

use crate::{
    scenarios::{Delivery, EVENT_BYTES, Idle, Reconnect},
    servers::{HEARTBEAT_MS, Kind},
};

mod extras;

pub use extras::Extras;

pub enum Row {
    /// `fanout` or `personal`.
    Delivery(&'static str, Delivery),
    Idle(Idle),
    Shutdown {
        open: usize,
        exit: Option<Duration>,
    },
    Reconnect(Reconnect),
}

fn per_cpu_second(count: u64, cpu: Duration) -> String {
    if cpu.is_zero() {
        "—".into()
    } else {
        thousands(count as f64 / cpu.as_secs_f64())
    }
}

fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

impl Row {
    pub fn summary(&self) -> String {
        match self {
            Row::Delivery(_, d) => format!(
                "{} subscribers, {} deliveries in {:.2} s, server CPU {:.2} s user + {:.2} s sys → {}/CPU-s, p99 {} ms, lost {}, dup {}",
                d.subscribers,
                d.deliveries,
                d.wall.as_secs_f64(),
                d.cpu.user.as_secs_f64(),
                d.cpu.system.as_secs_f64(),
                per_cpu_second(d.deliveries, d.cpu.total()),
                ms(d.latency_us.value_at_quantile(0.99)),
                d.lost,
                d.duplicated
            ),
            Row::Idle(i) => format!(
                "{} idle streams, RSS +{} KB ({} B/conn), CPU {:.2} s in {} s",
                i.connections,
                (i.rss_after.saturating_sub(i.rss_before)) / 1024,
                i.rss_after.saturating_sub(i.rss_before) / i.connections.max(1) as u64,
                i.cpu.total().as_secs_f64(),
                i.window.as_secs()
            ),
            Row::Shutdown { open, exit } => format!(
                "{open} streams open; SIGINT → exit {}",
                exit.map_or("did not exit in 30 s".into(), |d| format!(
                    "{:.1} ms",
                    d.as_secs_f64() * 1e3
                ))
            ),
            Row::Reconnect(r) => format!(
                "{} clients, {} missed events each: caught up {}, lost {}, dup {}",
                r.clients,
                r.missed,
                r.caught_up.map_or("never".into(), |d| format!(
                    "in {:.0} ms",
                    d.as_secs_f64() * 1e3
                )),
                r.lost,
                r.duplicated
            ),
        }
    }
}

/// What the Redis rows mean, after the per-user table (where they differ).
const REDIS_NOTE: &str = "**leptos-live-redis**: fan-out costs about the same as one process (one pub/sub message \
per event per instance, then the in-memory path). Per-user channels pay per event for a Lua script on Redis (the \
offset, the stream entry, expiries, the epoch check) and a pub/sub message to the instance whose stream watches \
it (each instance `SUBSCRIBE`s to its own streams' channels), and the publishing instance waits for Redis, so the \
three processes sharing core 0 spend several times the CPU per delivery. Each instance is bounded by its own open-file \
limit (`MAX_STREAMS`), so two instances hold twice as many streams; the generator's own limit (20,000 files) \
cannot show more than one instance's worth here.";

pub struct Report {
    pub scale: f64,
    pub rows: Vec<(Kind, Row)>,
    pub skipped: Vec<(Kind, String)>,
    pub extras: Extras,
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "not found".into())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores_all = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| {
            format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    format!(
        "- {model}, {cores_all} cores, {mem} RAM; {}\n- {}; {}; {}; nchan module from Debian libnginx-mod-nchan; node {}",
        first_line("uname", &["-sr"]),
        first_line("rustc", &["--version"]),
        first_line("go", &["version"]),
        first_line("nginx", &["-v"]).trim_start_matches("nginx version: "),
        first_line("node", &["--version"]),
    )
}

impl Report {
    pub fn new(scale: f64, extras: Extras) -> Self {
        Self {
            scale,
            rows: Vec::new(),
            skipped: Vec::new(),
            extras,
        }
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Written by `{}` from one run on the machine below. Each server runs alone, pinned to core 0 (`taskset -c 0`); the load generator (`bench/`, one thread, raw TCP) runs on core 1. \
Every event is {EVENT_BYTES} bytes of JSON carrying a sequence number and the publisher's monotonic timestamp, published with HTTP POSTs on keep-alive connections at a fixed schedule. Latency runs from the moment an event was due to be published to its receipt (so a server that holds up its publisher is not flattered: coordinated omission); losses and duplicates are counted per connection from the sequence numbers. \
**Server CPU** is user+system time from /proc over the measured span; the headline is **deliveries per server CPU-second**. Heartbeats every {} s on every server.\n",
            self.extras
                .command
                .as_deref()
                .unwrap_or("cargo run --release -p bench"),
            HEARTBEAT_MS / 1000
        );
        let _ = writeln!(md, "## Machine\n\n{}\n", machine());
        if self.scale < 1.0 {
            let _ = writeln!(md, "**Scaled run: connection counts × {}.**\n", self.scale);
        }
        let _ = writeln!(md, "## Servers\n");
        for kind in Kind::ALL {
            let _ = writeln!(md, "- **{}**: {}", kind.name(), kind.describe());
        }
        for (kind, reason) in &self.skipped {
            let _ = writeln!(md, "- {} was skipped: {reason}", kind.name());
        }
        md.push('\n');

        for (title, pick) in [
            (
                "fanout: 10,000 subscribers on one channel, 20 events/s for 10 s",
                "fanout",
            ),
            (
                "personal: 5,000 users, each on their own channel, 8 events each at 4,000 events/s in all",
                "personal",
            ),
            (
                "personal-batch: the same, 40 events per request (`POST /api/ops/publish`; servers without a batch publish are not in it)",
                "personal-batch",
            ),
        ] {
            let _ = writeln!(md, "## {title}\n");
            let _ = writeln!(
                md,
                "| server | delivered | deliveries/s | deliveries per server CPU-s | server CPU user + sys (s) | p50 ms | p99 ms | p99.9 ms | lost | duplicated |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for (kind, row) in &self.rows {
                let Row::Delivery(scenario, d) = row else {
                    continue;
                };
                if *scenario != pick {
                    continue;
                }
                let rate = if d.wall.is_zero() {
                    "—".into()
                } else {
                    thousands(d.deliveries as f64 / d.wall.as_secs_f64())
                };
                let q = |p| ms(d.latency_us.value_at_quantile(p));
                let _ = writeln!(
                    md,
                    "| {} | {} of {} | {rate} | **{}** | {:.2} + {:.2} | {} | {} | {} | {}{} | {} |",
                    kind.name(),
                    thousands(d.deliveries as f64),
                    thousands(d.expected as f64),
                    per_cpu_second(d.deliveries, d.cpu.total()),
                    d.cpu.user.as_secs_f64(),
                    d.cpu.system.as_secs_f64(),
                    q(0.5),
                    q(0.99),
                    q(0.999),
                    d.lost,
                    if d.failed_to_open > 0 || d.publish_errors > 0 {
                        format!(
                            " ({} published; {} streams failed to open; {} publish errors)",
                            d.published, d.failed_to_open, d.publish_errors
                        )
                    } else {
                        String::new()
                    },
                    d.duplicated,
                );
            }
            md.push('\n');
            if pick == "personal" && self.rows.iter().any(|(k, _)| *k == Kind::LeptosLiveRedis) {
                let _ = writeln!(md, "{REDIS_NOTE}\n");
            }
        }

        let _ = writeln!(md, "## idle: 15,000 open streams, nothing published\n");
        let _ = writeln!(
            md,
            "| server | streams | RSS before → after (MB) | RSS per stream | server CPU in 10 s idle (heartbeats) |\n|---|---:|---:|---:|---:|"
        );
        for (kind, row) in &self.rows {
            let Row::Idle(i) = row else { continue };
            let per = i.rss_after.saturating_sub(i.rss_before) as f64 / i.connections.max(1) as f64;
            let _ = writeln!(
                md,
                "| {} | {}{} | {:.1} → {:.1} | **{:.1} KB** | {:.2} s |",
                kind.name(),
                thousands(i.connections as f64),
                if i.failed_to_open > 0 {
                    format!(" ({} failed)", i.failed_to_open)
                } else {
                    String::new()
                },
                i.rss_before as f64 / 1e6,
                i.rss_after as f64 / 1e6,
                per / 1024.0,
                i.cpu.total().as_secs_f64()
            );
        }

        let _ = writeln!(md, "\n## shutdown: 1,000 open streams, then SIGINT\n");
        let _ = writeln!(
            md,
            "| server | streams open | SIGINT → exit |\n|---|---:|---:|"
        );
        for (kind, row) in &self.rows {
            let Row::Shutdown { open, exit } = row else {
                continue;
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                kind.name(),
                thousands(*open as f64),
                exit.map_or("> 30 s (killed)".into(), |d| format!(
                    "**{:.1} ms**",
                    d.as_secs_f64() * 1e3
                ))
            );
        }

        let _ = writeln!(
            md,
            "\n## reconnect: 1,000 clients get 20 events, disconnect, 50 more are published, all reconnect at once with `Last-Event-ID`\n"
        );
        let _ = writeln!(
            md,
            "| server | clients | all caught up after | lost | duplicated |\n|---|---:|---:|---:|---:|"
        );
        for (kind, row) in &self.rows {
            let Row::Reconnect(r) = row else { continue };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {}{} | {} |",
                kind.name(),
                thousands(r.clients as f64),
                r.caught_up.map_or("never (no replay)".into(), |d| format!(
                    "{:.0} ms",
                    d.as_secs_f64() * 1e3
                )),
                r.lost,
                if r.failed_to_open > 0 {
                    format!(" ({} failed to connect)", r.failed_to_open)
                } else {
                    String::new()
                },
                r.duplicated
            );
        }

        let _ = writeln!(md, "\n## The app itself\n");
        if let Some((raw, gz, br)) = self.extras.wasm {
            let _ = writeln!(
                md,
                "- Release wasm (`target/site/pkg/leptos-live.HASH.wasm`): {} B raw, {} B gzip -9, {} B brotli q11.",
                thousands(raw as f64),
                thousands(gz as f64),
                thousands(br as f64)
            );
        }
        if let Some(ssr) = &self.extras.ssr {
            let _ = writeln!(
                md,
                "- SSR of the dashboard (`GET /`, server pinned to core 0): {ssr}."
            );
        }
        if let Some(secs) = self.extras.rebuild_secs {
            let _ = writeln!(
                md,
                "- Incremental release rebuild after editing one component (`app/src/demo/price_tile.rs`), `cargo leptos build --release`: {secs:.1} s."
            );
        }
        md
    }
}
