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

/// Heartbeat interval given to every server, so that idle streams cost the same work.
pub const HEARTBEAT_MS: u64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    LeptosLive,
    Go,
    Nchan,
    Node,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::LeptosLive, Kind::Go, Kind::Nchan, Kind::Node];

    pub fn name(self) -> &'static str {
        match self {
            Kind::LeptosLive => "leptos-live",
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
            (Kind::LeptosLive, None) => "/api/stream?channels=bench".into(),
            (Kind::LeptosLive, Some(user)) => format!("/api/stream?channels=bench/{user}"),
            (_, None) => "/sub/bench".into(),
            (_, Some(user)) => format!("/sub/u{user}"),
        }
    }

    pub fn publish_path(self, topic: Option<usize>) -> String {
        match (self, topic) {
            (Kind::LeptosLive, None) => "/api/bench/bench".into(),
            (Kind::LeptosLive, Some(user)) => format!("/api/bench/bench/{user}"),
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
        Kind::LeptosLive if !paths.server_bin.exists() => {
            missing(&paths.server_bin.display().to_string())
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
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
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
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(SERVER_CORE.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true);
    match kind {
        Kind::LeptosLive => {
            command
                .arg(&paths.server_bin)
                .env("LEPTOS_SITE_ADDR", addr.to_string())
                .env("LEPTOS_SITE_ROOT", paths.root.join("target/site"))
                .env("LEPTOS_OUTPUT_NAME", "leptos-live")
                .env("LEPTOS_ENV", "PROD")
                .env("BENCH", "1")
                .env("HEARTBEAT_MS", HEARTBEAT_MS.to_string())
                // The demo producers barely tick, so they cost next to nothing.
                .env("PRICE_INTERVAL_MS", "60000")
                .env("ORDER_SIMULATOR_MS", "0")
                // The generator's thousands of clients come from 16 loopback addresses: raise
                // the per-address cap through config (the total cap follows the open-file
                // limit, which is above the largest scenario).
                .env("MAX_STREAMS_PER_ADDRESS", "20000")
                .env("RUST_LOG", "warn");
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
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "{} did not listen on {addr} within 20 s",
                kind.name()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let it finish starting (nginx's worker, Node's JIT warm-up is not our business).
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(running)
}

impl Running {
    /// Sends SIGINT and waits for the whole process to exit; returns how long that took, or
    /// `None` if it had to be killed after `limit`.
    pub async fn interrupt(mut self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        // SAFETY: kill() with a pid we started and a valid signal.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGINT);
        }
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(_) => Some(started.elapsed()),
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
