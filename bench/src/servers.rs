//! The servers under test: how to start each one pinned to the server core, where it
//! subscribes and publishes, and how to stop it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

/// The core servers run on; the generator takes the other one.
pub const SERVER_CORE: usize = 0;

/// The operator token the leptos-live servers get, for the batch publish.
pub const OPS_TOKEN: &str = "bench-operator-token";

/// Heartbeat interval given to every server, so that idle streams cost the same work.
pub const HEARTBEAT_MS: u64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    LeptosLive,
    /// Two instances of the release server sharing one Redis (`REDIS_URL`), all three pinned
    /// to the server core; subscribers alternate between the instances, publishes go to the
    /// first.
    LeptosLiveRedis,
    Go,
    Nchan,
    Node,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::LeptosLive,
        Kind::LeptosLiveRedis,
        Kind::Go,
        Kind::Nchan,
        Kind::Node,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::LeptosLive => "leptos-live",
            Kind::LeptosLiveRedis => "leptos-live-redis",
            Kind::Go => "go-stdlib",
            Kind::Nchan => "nginx+nchan",
            Kind::Node => "node-http",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::LeptosLive => {
                "this repo's release server (`BENCH=1`), multiplexed `/api/stream?channels=…`"
            }
            Kind::LeptosLiveRedis => {
                "two leptos-live instances sharing Debian's redis-server (`REDIS_URL`); server \
                 CPU and RSS are the three processes' sum, subscribers alternate instances"
            }
            Kind::Go => "bench/peers/go: Go SSE blog pattern, standard library (Debian golang-go)",
            Kind::Nchan => {
                "bench/peers/nchan: Debian nginx + libnginx-mod-nchan, 1 worker, EventSource"
            }
            Kind::Node => "bench/peers/node: Node `http`, a Set of responses per topic",
        }
    }

    /// Topic `None` is the shared fan-out channel; `Some(user)` a user's own.
    pub fn subscribe_path(self, topic: Option<usize>) -> String {
        match (self, topic) {
            (Kind::LeptosLive | Kind::LeptosLiveRedis, None) => "/api/stream?channels=bench".into(),
            (Kind::LeptosLive | Kind::LeptosLiveRedis, Some(user)) => {
                format!("/api/stream?channels=bench/{user}")
            }
            (_, None) => "/sub/bench".into(),
            (_, Some(user)) => format!("/sub/u{user}"),
        }
    }

    /// Where a batch of events goes in one request, for the servers that take one (the
    /// operator's `POST /api/ops/publish`, with [`OPS_TOKEN`]).
    pub fn batch_path(self) -> Option<&'static str> {
        matches!(self, Kind::LeptosLive | Kind::LeptosLiveRedis).then_some("/api/ops/publish")
    }

    /// The channel name of `topic` in a batch.
    pub fn channel(self, topic: Option<usize>) -> String {
        topic.map_or_else(|| "bench".into(), |user| format!("bench/{user}"))
    }

    pub fn publish_path(self, topic: Option<usize>) -> String {
        match (self, topic) {
            (Kind::LeptosLive | Kind::LeptosLiveRedis, None) => "/api/bench/bench".into(),
            (Kind::LeptosLive | Kind::LeptosLiveRedis, Some(user)) => {
                format!("/api/bench/bench/{user}")
            }
            (_, None) => "/pub/bench".into(),
            (_, Some(user)) => format!("/pub/u{user}"),
        }
    }
}

/// Where the built servers are.
#[derive(Clone, Debug)]
pub struct Paths {
    pub root: PathBuf,
    pub server_bin: PathBuf,
    pub go_bin: Option<PathBuf>,
    pub work: PathBuf,
}

/// Why a server cannot run here, if it cannot.
pub fn unavailable(kind: Kind, paths: &Paths) -> Option<String> {
    let missing = |what: &str| Some(format!("{what} not found"));
    match kind {
        Kind::LeptosLive | Kind::LeptosLiveRedis if !paths.server_bin.exists() => {
            missing(&paths.server_bin.display().to_string())
        }
        Kind::LeptosLiveRedis if which("redis-server").is_none() => {
            missing("redis-server (apt-get install redis-server)")
        }
        Kind::Go if !paths.go_bin.as_ref().is_some_and(|p| p.exists()) => {
            missing("the Go peer binary (is golang-go installed?)")
        }
        Kind::Nchan if !Path::new("/usr/lib/nginx/modules/ngx_nchan_module.so").exists() => {
            missing("nginx's nchan module (apt-get install nginx libnginx-mod-nchan)")
        }
        Kind::Node if which("node").is_none() => missing("node"),
        _ => None,
    }
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

pub struct Running {
    pub kind: Kind,
    /// Where publishes go (and subscribers, unless there are several instances).
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    /// Every instance subscribers connect to, in turn: `[addr]` for one process.
    pub addrs: Vec<SocketAddr>,
    /// The other processes of a deployment (a second instance, Redis), measured with it.
    others: Vec<Child>,
}

/// Starts `kind` on `addr`, pinned to [`SERVER_CORE`], and waits until it accepts connections.
pub async fn start(kind: Kind, addr: SocketAddr, paths: &Paths) -> std::io::Result<Running> {
    start_logged(kind, addr, paths, None).await
}

/// [`start`], with the server's stderr written to `log` (the soak reads it for panics).
pub async fn start_logged(
    kind: Kind,
    addr: SocketAddr,
    paths: &Paths,
    log: Option<&std::path::Path>,
) -> std::io::Result<Running> {
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::inherit(),
    };
    let mut command = pinned(stderr);
    let mut addrs = vec![addr];
    let mut others = Vec::new();
    match kind {
        Kind::LeptosLive => leptos_live(&mut command, addr, paths),
        Kind::LeptosLiveRedis => {
            // Redis and the second instance on ports beside the first's.
            let redis_port = addr.port() + 2_000;
            let mut redis = pinned(Stdio::null());
            redis
                .arg("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &redis_port.to_string()])
                .args(["--save", "", "--appendonly", "no"]);
            others.push(redis.spawn()?);
            wait_for(([127, 0, 0, 1], redis_port).into(), "redis-server").await?;
            let redis_url = format!("redis://127.0.0.1:{redis_port}");
            let second: SocketAddr = ([127, 0, 0, 1], addr.port() + 1_000).into();
            let mut instance = pinned(Stdio::inherit());
            leptos_live(&mut instance, second, paths);
            shared(&mut instance, &redis_url);
            others.push(instance.spawn()?);
            leptos_live(&mut command, addr, paths);
            shared(&mut command, &redis_url);
            addrs.push(second);
        }
        Kind::Go => {
            command
                .arg(paths.go_bin.as_ref().expect("checked by unavailable()"))
                .env("ADDR", addr.to_string())
                .env("HEARTBEAT_MS", HEARTBEAT_MS.to_string());
        }
        Kind::Node => {
            command
                .arg("node")
                .arg(paths.root.join("bench/peers/node/server.js"))
                .env("ADDR", addr.to_string())
                .env("HEARTBEAT_MS", HEARTBEAT_MS.to_string());
        }
        Kind::Nchan => {
            let prefix = paths.work.join("nchan");
            std::fs::create_dir_all(prefix.join("body"))?;
            let template =
                std::fs::read_to_string(paths.root.join("bench/peers/nchan/nginx.conf"))?;
            let conf = template
                .replace("@PREFIX@", &prefix.display().to_string())
                .replace("@ADDR@", &addr.to_string())
                .replace("@PING_S@", &(HEARTBEAT_MS / 1000).to_string());
            std::fs::write(prefix.join("nginx.conf"), conf)?;
            command
                .arg("nginx")
                .arg("-p")
                .arg(&prefix)
                .arg("-e")
                .arg("stderr")
                .arg("-c")
                .arg(prefix.join("nginx.conf"));
        }
    }
    let child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    let running = Running {
        kind,
        addr,
        pid,
        child,
        addrs,
        others,
    };
    for &addr in &running.addrs {
        wait_for(addr, kind.name()).await?;
    }
    // Let it finish starting (nginx's worker, Node's JIT warm-up is not our business).
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(running)
}

/// A command that will run pinned to [`SERVER_CORE`], killed if dropped.
fn pinned(stderr: Stdio) -> Command {
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(SERVER_CORE.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true);
    command
}

/// This repo's release server on `addr`, for the benchmark.
fn leptos_live(command: &mut Command, addr: SocketAddr, paths: &Paths) {
    command
        .arg(&paths.server_bin)
        .env("LEPTOS_SITE_ADDR", addr.to_string())
        .env("LEPTOS_SITE_ROOT", paths.root.join("target/site"))
        .env("LEPTOS_OUTPUT_NAME", "leptos-live")
        .env("LEPTOS_ENV", "PROD")
        .env("BENCH", "1")
        .env("OPS_TOKEN", OPS_TOKEN)
        .env("HEARTBEAT_MS", HEARTBEAT_MS.to_string())
        // The demo producers barely tick, so they cost next to nothing.
        .env("PRICE_INTERVAL_MS", "60000")
        .env("ORDER_SIMULATOR_MS", "0")
        // The generator's thousands of clients come from 16 loopback addresses: raise
        // the per-address caps through config (the total cap follows the open-file
        // limit, which is above the largest scenario).
        .env("MAX_STREAMS_PER_ADDRESS", "20000")
        .env("MAX_CONNECTIONS_PER_ADDRESS", "20000")
        // The publisher posts thousands of events a second.
        .env("WRITE_BURST", "1000000")
        .env("WRITES_PER_SECOND", "1000000")
        .env("RUST_LOG", "warn");
}

/// One of several instances sharing `redis_url`.
fn shared(command: &mut Command, redis_url: &str) {
    command
        .env("REDIS_URL", redis_url)
        .env("REDIS_PREFIX", "bench")
        .env("SESSION_KEY", "5e".repeat(64));
}

/// Waits until something listens on `addr` (20 s at most).
async fn wait_for(addr: SocketAddr, what: &str) -> std::io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "{what} did not listen on {addr} within 20 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

impl Running {
    /// Every process of this server (with nginx's or a deployment's others).
    fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.pid).chain(self.others.iter().filter_map(Child::id))
    }

    /// CPU time of all its processes so far.
    pub fn cpu(&self) -> crate::procfs::CpuTime {
        self.pids()
            .map(crate::procfs::cpu)
            .fold(Default::default(), |a, b| crate::procfs::CpuTime {
                user: a.user + b.user,
                system: a.system + b.system,
            })
    }

    /// Resident memory of all its processes, in bytes.
    pub fn rss(&self) -> u64 {
        self.pids().map(crate::procfs::rss).sum()
    }

    /// Sends SIGINT to the instances and waits for them to exit; returns how long that took,
    /// or `None` if one had to be killed after `limit`. A deployment's Redis is then stopped.
    pub async fn interrupt(mut self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        let instances: Vec<u32> = std::iter::once(self.pid)
            .chain(self.others.iter().skip(1).filter_map(Child::id))
            .collect();
        for pid in instances {
            // SAFETY: kill() with a pid we started and a valid signal.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGINT);
            }
        }
        let all = async {
            let _ = self.child.wait().await;
            for other in self.others.iter_mut().skip(1) {
                let _ = other.wait().await;
            }
        };
        let exited = tokio::time::timeout(limit, all).await;
        let took = started.elapsed();
        for other in &mut self.others {
            let _ = other.kill().await;
        }
        match exited {
            Ok(()) => Some(took),
            Err(_) => {
                let _ = self.child.kill().await;
                None
            }
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it (SIGINT, then SIGKILL after 5 s).
    pub async fn stop(self) {
        let _ = self.interrupt(Duration::from_secs(5)).await;
    }
}
